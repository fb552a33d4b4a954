"""/v1/shifts and the money figures of /v1/reports/summary: what the till did, read over HTTP."""

from __future__ import annotations

from db import carts, checkout, pricing, shifts, staff, taxes
from db.engine import transaction
from db.models import Role
from tests.api.conftest import add_product, is_problem, usd

TILL = 4401


async def a_day_at_the_till(session_factory) -> None:
    """Shift #1 at till 4401: float 50.00, a split sale of 4.64 (2.00 card, 2.64 cash from 5.00),
    a pay-out of 1.00, closed with 51.50 counted (0.14 short)."""
    async with transaction(session_factory) as session:
        await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)
        cashier = await staff.add_staff(session, telegram_id=4401, role=Role.CASHIER, name="Till Ann")
        await shifts.open_shift(session, chat_id=TILL, float_minor=5000, actor=cashier, currency="USD")
    tea = await add_product(session_factory, "Tea", 232, 10, sku="TEA")
    async with transaction(session_factory) as session:
        cashier = await staff.get_active_staff(session, telegram_id=4401)
        view = await carts.add_item(session, chat_id=TILL, product_id=tea.id, qty=2)
        await checkout.checkout(
            session,
            chat_id=TILL,
            expected_version=view.version,
            cashier=cashier,
            payments=[pricing.PaymentIn("card", 200), pricing.PaymentIn("cash", 264, 500)],
            currency="USD",
            default_low_stock_threshold=3,
        )
        await shifts.cash_movement(
            session, chat_id=TILL, amount_minor=100, reason="stamps", actor=cashier, pay_in=False
        )
        await shifts.close_shift(session, number=1, counted_minor=5150, actor=cashier, chat_id=TILL)


async def test_a_closed_shift_reads_as_its_z_report(manager_api, session_factory):
    await a_day_at_the_till(session_factory)
    r = await manager_api.get("/v1/shifts/1")
    assert r.status_code == 200, r.text
    shift = r.json()
    assert (shift["number"], shift["till"], shift["status"], shift["opened_by"]) == (1, TILL, "closed", "Till Ann")
    assert shift["opened_at"].endswith("+01:00")  # the store's time zone (Berlin)
    assert {k: v["amount"] for k, v in shift["drawer"].items()} == {
        "opening_float": 5000,
        "cash_sales": 500,  # handed over
        "change": 236,
        "cash_refunds": 0,
        "pay_ins": 0,
        "pay_outs": 100,
        "expected": 5164,  # 50.00 + 5.00 − 2.36 − 1.00
        "counted": 5150,
        "difference": -14,
    }
    money = shift["sales"]
    figures = (money["sales_count"], money["gross"], money["net_revenue"], money["tax"])
    assert figures == (1, usd(464), usd(464), usd(64))
    assert money["taxes"] == [{"name": "VAT", "rate": "16", "tax": usd(64), "net": usd(400)}]
    assert money["payments"] == [
        {"method": "card", "count": 1, "amount": usd(200)},
        {"method": "cash", "count": 1, "amount": usd(264)},
    ] or money["payments"] == [
        {"method": "cash", "count": 1, "amount": usd(264)},
        {"method": "card", "count": 1, "amount": usd(200)},
    ]

    listed = (await manager_api.get("/v1/shifts")).json()
    assert [s["number"] for s in listed["items"]] == [1] and listed["next_cursor"] is None
    assert (await manager_api.get("/v1/shifts", params={"from": "2020-01-01", "to": "2020-01-31"})).json()[
        "items"
    ] == []

    summary = (await manager_api.get("/v1/reports/summary")).json()["money"]
    assert (summary["gross"], summary["discounts"], summary["refunds"], summary["net_revenue"]) == (
        usd(464),
        usd(0),
        usd(0),
        usd(464),
    )
    assert summary["taxes"] == money["taxes"]


async def test_an_open_shift_has_no_count_yet(manager_api, session_factory):
    async with transaction(session_factory) as session:
        cashier = await staff.add_staff(session, telegram_id=4402, role=Role.CASHIER, name="Bo")
        await shifts.open_shift(session, chat_id=TILL, float_minor=2000, actor=cashier, currency="USD")
    shift = (await manager_api.get("/v1/shifts/1")).json()
    assert shift["status"] == "open" and shift["closed_at"] is None
    assert shift["drawer"]["expected"] == usd(2000) and shift["drawer"]["counted"] is None
    assert shift["drawer"]["difference"] is None


async def test_shifts_need_a_manager_key_and_a_number_that_exists(manager_api, cashier_api, anon_api, session_factory):
    await a_day_at_the_till(session_factory)
    is_problem(await cashier_api.get("/v1/shifts"), 403)
    is_problem(await cashier_api.get("/v1/shifts/1"), 403)
    is_problem(await anon_api.get("/v1/shifts/1"), 401)
    assert "No shift #7" in is_problem(await manager_api.get("/v1/shifts/7"), 404)["detail"]
    is_problem(await manager_api.get("/v1/shifts/0"), 422)
    is_problem(await manager_api.get("/v1/shifts", params={"from": "yesterday"}), 422)
