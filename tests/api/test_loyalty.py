"""Loyalty points over the API: a sale to a customer earns as at the counter; points show as paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db import loyalty
from db.engine import transaction
from tests.api.conftest import add_product, usd
from tests.factories import make_customer


@pytest.fixture
def api_settings(api_settings):
    return api_settings.model_copy(update={"loyalty_earn_percent": Decimal(5)})


async def test_a_sale_to_a_customer_earns_points(cashier_api, session_factory):
    milk = await add_product(session_factory, "Milk", 1000, 5)
    async with transaction(session_factory) as session:
        ann = await make_customer(session, name="Ann")
    body = {
        "lines": [{"product_id": milk.id, "quantity": 1}],
        "customer_id": ann.id,
        "payments": [{"method": "card", "amount": usd(1000)}],
    }
    r = await cashier_api.post("/v1/sales", json=body)
    assert r.status_code == 201, r.text
    async with session_factory() as session:
        assert await loyalty.balance(session, customer_id=ann.id) == 50
        assert await loyalty.check_points(session) == []


async def test_points_cannot_be_paid_over_the_api(cashier_api, session_factory):
    milk = await add_product(session_factory, "Milk", 1000, 5)
    body = {"lines": [{"product_id": milk.id, "quantity": 1}], "payments": [{"method": "points", "amount": usd(1000)}]}
    r = await cashier_api.post("/v1/sales", json=body)
    assert r.status_code == 422
