"""/v1/sales and /v1/sales/{id}/refunds over HTTP, on today's checkout and refund."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import func, select

from db import ledger
from db.engine import transaction
from db.models import Product, Role, Sale
from tests.api.conftest import add_product, client_for, is_problem, make_key, usd


def card(amount: int) -> list[dict]:
    return [{"method": "card", "amount": usd(amount)}]


async def sale_count(session_factory) -> int:
    async with transaction(session_factory) as session:
        return await session.scalar(select(func.count(Sale.id)))


async def stock_of(session_factory, product_id: int) -> int:
    async with transaction(session_factory) as session:
        return await session.scalar(select(Product.stock).where(Product.id == product_id))


async def test_a_sale_by_id_and_sku_with_cash_change(cashier_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    bread = await add_product(session_factory, "Bread", 320, 2, barcode="40063813")
    body = {
        "lines": [
            {"product_id": milk.id, "quantity": 2},
            {"sku": "40063813", "quantity": 1},
            {"sku": "milk", "quantity": 1},
        ],
        "payments": [{"method": "cash", "amount": usd(770), "tendered": usd(1000)}],
    }
    r = await cashier_api.post("/v1/sales", json=body)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert sale["number"] == sale["id"] and sale["status"] == "completed"
    assert [(ln["name"], ln["quantity"], ln["unit_price"], ln["total"]) for ln in sale["lines"]] == [
        ("Milk", 3, usd(150), usd(450)),
        ("Bread", 1, usd(320), usd(320)),
    ]
    assert sale["total"] == usd(770)
    assert sale["payments"] == [{"method": "cash", "amount": usd(770), "tendered": usd(1000), "change": usd(230)}]
    assert (sale["discounts"], sale["taxes"]) == ([], [])
    assert sale["cashier"]["name"] == "API key “cashier key”"
    assert await stock_of(session_factory, milk.id) == 2 and await stock_of(session_factory, bread.id) == 1
    async with transaction(session_factory) as session:
        assert await ledger.check_ledger(session) == []


async def test_a_shortage_is_409_naming_each_product_and_nothing_is_written(cashier_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 2, sku="MILK")
    bread = await add_product(session_factory, "Bread", 300, 0, sku="BREAD")
    tea = await add_product(session_factory, "Tea", 100, 9, sku="TEA")
    body = {
        "lines": [{"sku": "TEA", "quantity": 1}, {"sku": "MILK", "quantity": 5}, {"sku": "BREAD", "quantity": 1}],
        "payments": card(1150),
    }
    problem = is_problem(await cashier_api.post("/v1/sales", json=body), 409)
    assert problem["shortages"] == [
        {"product_id": milk.id, "name": "Milk", "requested": 5, "available": 2, "missing": 3},
        {"product_id": bread.id, "name": "Bread", "requested": 1, "available": 0, "missing": 1},
    ]
    assert "Milk: 3 missing" in problem["detail"] and "Bread: 1 missing" in problem["detail"]
    assert await sale_count(session_factory) == 0
    assert await stock_of(session_factory, tea.id) == 9 and await stock_of(session_factory, milk.id) == 2


async def test_bad_sales_are_refused_politely(cashier_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    line = [{"sku": "MILK", "quantity": 1}]
    cases = [
        ({"lines": line, "payments": card(100)}, 422, "add up to $1.00, not the total $1.50"),
        ({"lines": line, "payments": [{"method": "cash", "amount": usd(150), "tendered": usd(100)}]}, 422, "short"),
        (
            {"lines": line, "payments": [{"method": "card", "amount": usd(150), "tendered": usd(200)}]},
            422,
            "Only a cash",
        ),
        ({"lines": [{"sku": "NOPE", "quantity": 1}], "payments": card(150)}, 404, "No product with SKU “NOPE”"),
        ({"lines": line, "customer_id": 77, "payments": card(150)}, 404, "No customer #77"),
        ({"lines": [{"sku": "MILK", "product_id": 1, "quantity": 1}], "payments": card(150)}, 422, "one of them"),
        ({"lines": [{"sku": "MILK", "quantity": 0}], "payments": card(0)}, 422, "lines[0].quantity"),
        ({"lines": [], "payments": card(0)}, 422, "lines"),
        ({"lines": line, "payments": [{"method": "bitcoin", "amount": usd(150)}]}, 422, "payments[0].method"),
        ({"lines": line, "payments": [{"method": "card", "amount": {"amount": 150, "currency": "EUR"}}]}, 422, "USD"),
    ]
    for body, status, words in cases:
        assert words in is_problem(await cashier_api.post("/v1/sales", json=body), status)["detail"], body
    assert await sale_count(session_factory) == 0


async def test_an_archived_product_is_not_sold(cashier_api, manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    await manager_api.post(f"/v1/products/{milk.id}/archive")
    problem = is_problem(
        await cashier_api.post("/v1/sales", json={"lines": [{"sku": "MILK", "quantity": 1}], "payments": card(150)}),
        409,
    )
    assert problem["shortages"][0]["available"] == 0


async def test_get_and_list_sales_a_cashier_key_sees_its_own(cashier_api, manager_api, session_factory, app):
    from db.models import Role
    from tests.api.conftest import client_for, make_key

    await add_product(session_factory, "Milk", 150, 9, sku="MILK")
    one = {"lines": [{"sku": "MILK", "quantity": 1}], "payments": card(150)}
    mine = (await cashier_api.post("/v1/sales", json=one)).json()
    async with client_for(app, await make_key(session_factory, Role.CASHIER, "other till")) as other:
        theirs = (await other.post("/v1/sales", json=one)).json()
        assert "someone else" in is_problem(await other.get(f"/v1/sales/{mine['id']}"), 403)["detail"]
    assert (await cashier_api.get(f"/v1/sales/{mine['id']}")).json() == mine
    assert [s["id"] for s in (await cashier_api.get("/v1/sales")).json()["items"]] == [mine["id"]]
    assert [s["id"] for s in (await manager_api.get("/v1/sales")).json()["items"]] == [theirs["id"], mine["id"]]
    page = (await manager_api.get("/v1/sales", params={"limit": 1})).json()
    assert [s["id"] for s in page["items"]] == [theirs["id"]]
    page = (await manager_api.get("/v1/sales", params={"limit": 1, "cursor": page["next_cursor"]})).json()
    assert [s["id"] for s in page["items"]] == [mine["id"]] and page["next_cursor"] is None
    assert (await manager_api.get("/v1/sales", params={"from": "2020-01-01", "to": "2020-12-31"})).json()["items"] == []
    is_problem(await manager_api.get("/v1/sales", params={"from": "2020-13-01"}), 422)
    is_problem(await manager_api.get("/v1/sales/999"), 404)


async def test_a_whole_refund_restocks_and_a_second_is_409(cashier_api, manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    sale = (
        await cashier_api.post("/v1/sales", json={"lines": [{"sku": "MILK", "quantity": 2}], "payments": card(300)})
    ).json()
    line_id = sale["lines"][0]["id"]
    refund = {
        "lines": [{"sale_line_id": line_id, "quantity": 2, "restock": True}],
        "method": "card",
        "reason": "spoiled",
    }
    r = await manager_api.post(f"/v1/sales/{sale['id']}/refunds", json=refund)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["amount"], body["method"], body["reason"], body["sale"]["status"]) == (
        usd(300),
        "card",
        "spoiled",
        "refunded",
    )
    assert body["lines"] == [{"sale_line_id": line_id, "quantity": 2, "restock": True, "amount": usd(300)}]
    assert await stock_of(session_factory, milk.id) == 5
    assert (
        "already refunded"
        in is_problem(await manager_api.post(f"/v1/sales/{sale['id']}/refunds", json=refund), 409)["detail"]
    )


async def test_refunds_beyond_the_sale_are_refused(cashier_api, manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    await add_product(session_factory, "Tea", 100, 5, sku="TEA")
    lines = [{"sku": "MILK", "quantity": 2}, {"sku": "TEA", "quantity": 1}]
    sale = (await cashier_api.post("/v1/sales", json={"lines": lines, "payments": card(400)})).json()
    milk_line, tea_line = (ln["id"] for ln in sale["lines"])
    url = f"/v1/sales/{sale['id']}/refunds"
    everything = [{"sale_line_id": milk_line, "quantity": 2}, {"sale_line_id": tea_line, "quantity": 1}]
    cases = [
        ({"lines": [{"sale_line_id": milk_line, "quantity": 3}]}, "between 0 and 2"),
        ({"lines": [*everything, everything[0]]}, "listed twice"),
        ({"lines": [{"sale_line_id": 999, "quantity": 1}]}, "has no line #999"),
    ]
    for body, words in cases:
        assert words in is_problem(await manager_api.post(url, json=body), 422)["detail"]
    assert (await manager_api.get(f"/v1/sales/{sale['id']}")).json()["status"] == "completed"
    is_problem(await manager_api.post("/v1/sales/999/refunds", json={"lines": everything}), 404)

    # A partial refund, kept out of stock, by another method.
    partial = {"lines": [{"sale_line_id": milk_line, "quantity": 1, "restock": False}], "method": "cash"}
    r = await manager_api.post(url, json=partial)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["amount"], body["method"], body["sale"]["status"]) == (usd(150), "cash", "partially_refunded")


async def test_the_summary_report(cashier_api, manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 9, sku="MILK")
    for quantity in (1, 2):
        await cashier_api.post(
            "/v1/sales", json={"lines": [{"sku": "MILK", "quantity": quantity}], "payments": card(150 * quantity)}
        )
    report = (await manager_api.get("/v1/reports/summary")).json()
    assert (report["sales_count"], report["revenue"], report["units_sold"]) == (2, usd(450), 3)
    assert report["by_payment"] == [{"method": "card", "count": 2, "revenue": usd(450)}]
    assert report["best_sellers"][0]["sku"] == "MILK"
    assert report["from"] == report["to"]
    empty = (await manager_api.get("/v1/reports/summary", params={"from": "2020-01-01", "to": "2020-01-07"})).json()
    assert empty["sales_count"] == 0 and len(empty["by_day"]) == 7


async def test_the_receipt_as_a_pdf(cashier_api, manager_api, app, session_factory):
    await add_product(session_factory, "Молоко", 150, 5, sku="MILK")
    r = await cashier_api.post("/v1/sales", json={"lines": [{"sku": "MILK", "quantity": 2}], "payments": card(300)})
    sale = r.json()
    r = await cashier_api.get(f"/v1/sales/{sale['id']}/receipt.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="receipt-{sale["number"]}.pdf"'
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert f"Sale #{sale['number']}" in text and "Молоко" in text and "TOTAL $3.00" in text and "Card $3.00" in text
    assert (await manager_api.get(f"/v1/sales/{sale['id']}/receipt.pdf")).status_code == 200
    async with client_for(app, await make_key(session_factory, Role.CASHIER, "other till")) as other:
        r = await other.get(f"/v1/sales/{sale['id']}/receipt.pdf")
        assert is_problem(r, 403)
    r = await manager_api.get("/v1/sales/999999/receipt.pdf")
    assert is_problem(r, 404)
