"""The REST API and the chat are one shop: they sell the same stock, and the chat sees API sales."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.app import create_api
from db import ledger
from db.engine import transaction
from db.models import Role
from tests.api.conftest import client_for, make_key, usd
from tests.chat.counter_helpers import fill, product, sales, stock
from tests.chat.test_checkout import checkout_to_confirm


@pytest.fixture
async def api(settings, session_factory, shop):
    app = create_api(settings, session_factory)
    async with client_for(app, await make_key(session_factory, Role.CASHIER, "web shop")) as client:
        yield client


def api_sale(sku: str, quantity: int, price: int) -> dict:
    return {
        "lines": [{"sku": sku, "quantity": quantity}],
        "payments": [{"method": "card", "amount": usd(price * quantity)}],
    }


@pytest.mark.parametrize(("chat_wants", "api_wants"), [(2, 1), (2, 2), (3, 3)])
async def test_the_api_and_the_counter_sell_the_last_units_at_once(
    cashier, api: httpx.AsyncClient, session_factory, chat_wants, api_wants
):
    milk = await product(session_factory, name="Milk", price_minor=150, stock=3, sku="MILK")
    await fill(session_factory, cashier.chat_id, (milk, chat_wants))
    await checkout_to_confirm(cashier)
    cashier.strict = False  # the losing side gets a polite refusal, not an error

    _, response = await asyncio.gather(
        cashier.tap("✅ Confirm sale"), api.post("/v1/sales", json=api_sale("MILK", api_wants, 150))
    )
    recorded = await sales(session_factory)
    sold = sum(s.total_minor for s in recorded) // 150
    left = await stock(session_factory, milk.id)
    assert sold + left == 3 and left >= 0
    if chat_wants + api_wants <= 3:
        assert len(recorded) == 2 and response.status_code == 201
    else:
        assert len(recorded) == 1  # exactly one of them got the units
        if response.status_code == 409:
            assert response.json()["shortages"][0]["name"] == "Milk"
        else:
            assert response.status_code == 201 and "Not enough stock" in cashier.text
    async with transaction(session_factory) as session:
        assert await ledger.check_ledger(session) == []


async def test_a_sale_made_through_the_api_shows_in_report_and_sale(manager, api, session_factory):
    await product(session_factory, name="Rye bread", price_minor=320, stock=9, sku="RYE")
    r = await api.post("/v1/sales", json=api_sale("RYE", 2, 320))
    assert r.status_code == 201
    number = r.json()["number"]

    before = len(manager.messages)
    await manager.send("/report today")
    report = "\n".join(m.text or "" for m in manager.messages[before:])
    assert "$6.40" in report and "Rye bread" in report

    await manager.send(f"/sale {number}")
    assert f"#{number}" in manager.text
    assert "Rye bread" in manager.text and "$6.40" in manager.text
    assert "API key “web shop”" in manager.text


async def test_a_discounted_split_sale_from_the_api_shows_its_discounts_in_sale(manager, api, session_factory):
    await product(session_factory, name="Rye bread", price_minor=320, stock=9, sku="RYE")
    await product(session_factory, name="Butter", price_minor=250, stock=9, sku="BUTTER")
    # Rye 2 x 3.20 = 6.40, 10% off: 5.76; butter 2.50; 0.25 off the sale (spread 0.17 + 0.08):
    # 8.01 in all, of a gross of 8.90 (discounts 0.89: a cashier's 10% exactly).
    body = {
        "lines": [
            {"sku": "RYE", "quantity": 2, "discount": {"percent": "10", "reason": "day old"}},
            {"sku": "BUTTER", "quantity": 1},
        ],
        "discount": {"amount": usd(25), "reason": "round sum"},
        "payments": [
            {"method": "card", "amount": usd(500)},
            {"method": "cash", "amount": usd(301), "tendered": usd(500)},
        ],
    }
    r = await api.post("/v1/sales", json=body)
    assert r.status_code == 201, r.text
    number = r.json()["number"]

    await manager.send(f"/sale {number}")
    text = manager.text
    assert f"#{number}" in text and "Rye bread" in text and "Butter" in text
    assert "− $0.64 discount (day old)" in text
    assert "Cart discount: − $0.25 (round sum)" in text
    assert "Gross $8.90 · discounts − $0.89" in text and "Total: $8.01" in text
    assert "Payment: Card $5.00" in text and "Payment: Cash $3.01 — tendered $5.00, change $1.99" in text
