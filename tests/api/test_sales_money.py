"""POST /v1/sales with discounts and split payments (issue #14), figures computed by hand.

The hand cart is tests/db/test_money_flow.py's: apples 2 x 3.16 (VAT 16%, 5% off the line),
bread 3 x 1.00 (zero-rated), cheese 1 x 10.00 (sales tax 7.25%), 1.00 off the whole sale, shelf
prices including tax. Gross 19.32; the line discount is 0.32 (5% of 6.32, half away from zero);
the cart's 1.00 comes off 6.00 + 3.00 + 10.00 and is spread by largest remainder as 0.31, 0.16,
0.53; the lines come to 5.69, 2.84 and 9.47, total 18.00; tax 0.78 (16/116 of 5.69) and 0.64
(7.25/107.25 of 9.47).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import taxes
from db.engine import transaction
from db.models import AuditEntry, Discount, Product, Sale
from tests.api.conftest import add_product, is_problem, usd

LINE_5_PERCENT = {"percent": "5", "reason": "bruised"}
CART_1_DOLLAR = {"amount": usd(100), "reason": "regular"}


async def counts(session_factory) -> tuple[int, int, list[int]]:
    """(sales, discounts, every product's stock): what a refused sale must leave as it was."""
    async with transaction(session_factory) as session:
        sales = await session.scalar(select(func.count(Sale.id)))
        discounts = await session.scalar(select(func.count(Discount.id)))
        stock = list((await session.scalars(select(Product.stock).order_by(Product.id))).all())
    return sales, discounts, stock


@pytest.fixture
async def shelf(session_factory):
    apples = await add_product(session_factory, "Apples", 316, 10, sku="APPLE")
    bread = await add_product(session_factory, "Bread", 100, 10, sku="BREAD")
    cheese = await add_product(session_factory, "Cheese", 1000, 10, sku="CHEESE")
    async with transaction(session_factory) as session:
        for name, rate_bp, sku in (("VAT", 1600, "APPLE"), ("Zero-rated", 0, "BREAD"), ("Sales", 725, "CHEESE")):
            await taxes.add_rate(session, name=name, rate_bp=rate_bp, actor=None)
            await taxes.assign(session, target=sku, name=name, actor=None)
    return apples, bread, cheese


def hand_sale(payments: list[dict]) -> dict:
    return {
        "lines": [
            {"sku": "APPLE", "quantity": 2, "discount": LINE_5_PERCENT},
            {"sku": "BREAD", "quantity": 3},
            {"sku": "CHEESE", "quantity": 1},
        ],
        "discount": CART_1_DOLLAR,
        "payments": payments,
    }


SPLIT = [
    {"method": "card", "amount": usd(1000)},
    {"method": "cash", "amount": usd(800), "tendered": usd(2000)},
]


async def test_line_and_cart_discounts_tax_by_rate_and_a_split_with_change(cashier_api, session_factory, shelf):
    r = await cashier_api.post("/v1/sales", json=hand_sale(SPLIT))
    assert r.status_code == 201, r.text
    sale = r.json()
    assert [
        (ln["sku"], ln["gross"], ln["discount"], ln["tax_rate"], ln["tax"], ln["total"]) for ln in sale["lines"]
    ] == [
        ("APPLE", usd(632), usd(32 + 31), "16%", usd(78), usd(569)),
        ("BREAD", usd(300), usd(16), "0%", usd(0), usd(284)),
        ("CHEESE", usd(1000), usd(53), "7.25%", usd(64), usd(947)),
    ]
    apple_line = sale["lines"][0]["id"]
    assert sale["discounts"] == [
        {"sale_line_id": apple_line, "percent": "5", "reason": "bruised", "amount": usd(32)},
        {"sale_line_id": None, "percent": None, "reason": "regular", "amount": usd(100)},
    ]
    assert sale["taxes"] == [
        {"name": "Zero-rated", "rate": "0%", "amount": usd(0)},
        {"name": "Sales", "rate": "7.25%", "amount": usd(64)},
        {"name": "VAT", "rate": "16%", "amount": usd(78)},
    ]
    assert sale["total"] == usd(1800)
    assert sale["payments"] == [
        {"method": "card", "amount": usd(1000), "tendered": None, "change": None},
        {"method": "cash", "amount": usd(800), "tendered": usd(2000), "change": usd(1200)},
    ]
    assert (await cashier_api.get(f"/v1/sales/{sale['id']}")).json() == sale
    assert await counts(session_factory) == (1, 2, [8, 7, 9])
    async with transaction(session_factory) as session:
        audit = list((await session.scalars(select(AuditEntry.details).where(AuditEntry.action == "discount"))).all())
    assert len(audit) == 2 and all(f"sale #{sale['number']}" in entry for entry in audit)


async def test_an_amount_off_a_line_and_a_percentage_off_the_sale(cashier_api, shelf):
    # Cheese 2 x 10.00 with 0.50 off: 19.50; bread 1.00; 5% off 20.50 is 1.025 -> 1.03, spread as
    # 0.98 (19.50 of 20.50 is 0.97976: the larger remainder) and 0.05. Tax 7.25/107.25 of 18.52.
    body = {
        "lines": [
            {"sku": "CHEESE", "quantity": 2, "discount": {"amount": usd(50), "reason": "scratched rind"}},
            {"sku": "BREAD", "quantity": 1},
        ],
        "discount": {"percent": 5, "reason": "staff"},
        "payments": [{"method": "cash", "amount": usd(1947)}],
    }
    r = await cashier_api.post("/v1/sales", json=body)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert [(ln["sku"], ln["discount"], ln["tax"], ln["total"]) for ln in sale["lines"]] == [
        ("BREAD", usd(5), usd(0), usd(95)),
        ("CHEESE", usd(50 + 98), usd(125), usd(1852)),
    ]
    assert [(d["percent"], d["amount"]) for d in sale["discounts"]] == [(None, usd(50)), ("5", usd(103))]
    assert sale["total"] == usd(1947)
    assert sale["payments"] == [{"method": "cash", "amount": usd(1947), "tendered": usd(1947), "change": usd(0)}]


async def test_payments_that_do_not_add_up_are_422_and_write_nothing(cashier_api, session_factory, shelf):
    before = await counts(session_factory)
    cases = [
        (
            [{"method": "card", "amount": usd(1000)}, {"method": "cash", "amount": usd(700)}],
            "The payments add up to $17.00, not the total $18.00.",
        ),
        ([{"method": "card", "amount": usd(1000)}, {"method": "mobile", "amount": usd(900)}], "add up to $19.00"),
        ([{"method": "card", "amount": usd(1800)}, {"method": "cash", "amount": usd(0)}], "more than zero"),
        ([{"method": "cash", "amount": usd(1800), "tendered": usd(1000)}], "short"),
        ([{"method": "card", "amount": usd(1000), "tendered": usd(1200)}, SPLIT[1]], "Only a cash"),
    ]
    for payments, words in cases:
        problem = is_problem(await cashier_api.post("/v1/sales", json=hand_sale(payments)), 422)
        assert words in problem["detail"], (payments, problem)
    assert await counts(session_factory) == before


async def test_a_cashier_key_above_the_limit_is_403_and_a_manager_key_may_give_it(
    cashier_api, manager_api, admin_api, session_factory, shelf
):
    # 10% of the gross 19.32 is 1.93: 0.32 off the apples and 1.62 off the sale is 1.94.
    body = hand_sale([{"method": "card", "amount": usd(1738)}]) | {"discount": {"amount": usd(162), "reason": "x"}}
    before = await counts(session_factory)
    problem = is_problem(await cashier_api.post("/v1/sales", json=body), 403)
    assert "Discounts of $1.94 are more than a cashier may give on this sale: at most $1.93" in problem["detail"]
    assert "manager" in problem["detail"]
    assert await counts(session_factory) == before
    # Just within it: 1.61 off the sale.
    within = body | {
        "discount": {"amount": usd(161), "reason": "x"},
        "payments": [{"method": "card", "amount": usd(1739)}],
    }
    assert (await cashier_api.post("/v1/sales", json=within)).status_code == 201

    for api in (manager_api, admin_api):
        half = hand_sale([{"method": "card", "amount": usd(950)}]) | {
            "discount": {"percent": "50", "reason": "closing"}
        }
        r = await api.post("/v1/sales", json=half)
        assert r.status_code == 201, r.text
        assert r.json()["discounts"][1] == {
            "sale_line_id": None,
            "percent": "50",
            "reason": "closing",
            "amount": usd(950),
        }


async def test_a_discount_needs_a_reason_and_a_clear_shape(cashier_api, session_factory, shelf):
    before = await counts(session_factory)
    card = [{"method": "card", "amount": usd(316)}]
    apple = {"sku": "APPLE", "quantity": 1}
    cases = [
        ({"lines": [apple | {"discount": {"percent": "5"}}], "payments": card}, "lines[0].discount.reason"),
        (
            {"lines": [apple | {"discount": {"percent": "5", "reason": "  "}}], "payments": card},
            "lines[0].discount.reason",
        ),
        ({"lines": [apple], "discount": {"amount": usd(5)}, "payments": card}, "discount.reason"),
        ({"lines": [apple], "discount": {"reason": "why"}, "payments": card}, "discount"),
        (
            {"lines": [apple], "discount": {"percent": "5", "amount": usd(5), "reason": "y"}, "payments": card},
            "discount",
        ),
        ({"lines": [apple], "discount": {"percent": "0", "reason": "why"}, "payments": card}, "discount.percent"),
        ({"lines": [apple], "discount": {"percent": "100.5", "reason": "why"}, "payments": card}, "discount.percent"),
        ({"lines": [apple], "discount": {"percent": "7.125", "reason": "why"}, "payments": card}, "discount.percent"),
        ({"lines": [apple], "discount": {"percent": "ten", "reason": "why"}, "payments": card}, "discount.percent"),
        ({"lines": [apple], "discount": {"amount": usd(0), "reason": "why"}, "payments": card}, "discount.amount"),
        (
            {
                "lines": [apple],
                "discount": {"amount": {"amount": 5, "currency": "EUR"}, "reason": "y"},
                "payments": card,
            },
            "discount.amount.currency",
        ),
    ]
    for body, field in cases:
        problem = is_problem(await cashier_api.post("/v1/sales", json=body), 422)
        assert problem["errors"][0]["field"] == field, (body, problem)
        assert problem["detail"].startswith(field), problem
    assert await counts(session_factory) == before


async def test_a_discount_that_would_take_a_line_below_zero_is_refused(manager_api, session_factory, shelf):
    before = await counts(session_factory)
    card = [{"method": "card", "amount": usd(0)}]
    too_much_off_a_line = {"lines": [{"sku": "APPLE", "quantity": 1, "discount": {"amount": usd(317), "reason": "r"}}]}
    problem = is_problem(await manager_api.post("/v1/sales", json=too_much_off_a_line | {"payments": card}), 422)
    assert "The discount of $3.17 on Apples is more than $3.16" in problem["detail"]
    assert "never takes a line below zero" in problem["detail"]
    too_much_off_the_sale = {
        "lines": [{"sku": "APPLE", "quantity": 1, "discount": {"percent": "50", "reason": "r"}}],
        "discount": {"amount": usd(159), "reason": "r"},
    }
    problem = is_problem(await manager_api.post("/v1/sales", json=too_much_off_the_sale | {"payments": card}), 422)
    assert "$1.59 on the cart (after its line discounts) is more than $1.58" in problem["detail"]
    twice = {
        "lines": [{"sku": "APPLE", "quantity": 1}, {"sku": "APPLE", "quantity": 1, "discount": LINE_5_PERCENT}],
        "payments": card,
    }
    assert "on one line" in is_problem(await manager_api.post("/v1/sales", json=twice), 422)["detail"]
    assert await counts(session_factory) == before
    # All of it off is not below zero: a free line, paid 0.
    free = {"lines": [{"sku": "APPLE", "quantity": 1, "discount": {"percent": "100", "reason": "sample"}}]}
    r = await manager_api.post("/v1/sales", json=free | {"payments": card})
    assert r.status_code == 201 and r.json()["total"] == usd(0)


async def test_a_discounted_split_sale_is_replayed_byte_for_byte(cashier_api, session_factory, shelf):
    headers = {"Idempotency-Key": "order-2001"}
    first = await cashier_api.post("/v1/sales", json=hand_sale(SPLIT), headers=headers)
    assert first.status_code == 201, first.text
    again = await cashier_api.post("/v1/sales", json=hand_sale(SPLIT), headers=headers)
    assert (again.status_code, again.content, again.headers["idempotent-replayed"]) == (201, first.content, "true")
    assert await counts(session_factory) == (1, 2, [8, 7, 9])


async def test_a_partial_refund_pays_back_what_was_paid_for_those_units(cashier_api, manager_api, shelf):
    sale = (await cashier_api.post("/v1/sales", json=hand_sale(SPLIT))).json()
    apples, bread, _ = (ln["id"] for ln in sale["lines"])
    url = f"/v1/sales/{sale['id']}/refunds"
    # One of two apples paid 5.69: 2.845 -> 2.85 (half away from zero); one of three breads 2.84: 0.95.
    r = await manager_api.post(
        url,
        json={
            "lines": [{"sale_line_id": apples, "quantity": 1}, {"sale_line_id": bread, "quantity": 1}],
            "method": "cash",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(ln["sale_line_id"], ln["amount"]) for ln in body["lines"]] == [(apples, usd(285)), (bread, usd(95))]
    assert body["amount"] == usd(380) and body["sale"]["status"] == "partially_refunded"
    # The rest of both lines: together exactly what was paid for them.
    r = await manager_api.post(
        url, json={"lines": [{"sale_line_id": apples, "quantity": 1}, {"sale_line_id": bread, "quantity": 2}]}
    )
    assert [ln["amount"] for ln in r.json()["lines"]] == [usd(569 - 285), usd(284 - 95)]
