"""/v1/products, /v1/products/{id}/stock and /v1/stock-movements over HTTP."""

from __future__ import annotations

from sqlalchemy import select

from db import ledger, taxes
from db.engine import transaction
from db.models import AuditEntry
from tests.api.conftest import add_product, is_problem, usd


async def test_create_with_initial_stock_writes_an_initial_movement(manager_api, session_factory):
    r = await manager_api.post(
        "/v1/products",
        json={
            "name": "Oat Milk",
            "price": usd(250),
            "stock": 12,
            "category": "Dairy",
            "sku": "OAT-1",
            "barcode": "4006381333931",
        },
    )
    assert r.status_code == 201, r.text
    product = r.json()
    assert product | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "sku": "OAT-1",
        "barcode": "4006381333931",
        "name": "Oat Milk",
        "category": "Dairy",
        "price": usd(250),
        "stock": 12,
        "low_stock_threshold": None,
        "tax_rate": None,
        "tax_percent": None,
        "archived": False,
        "created_at": "",
        "updated_at": "",
    }
    assert product["created_at"].endswith("+01:00")  # RFC 3339 in the store's time zone (Berlin)
    moves = (await manager_api.get("/v1/stock-movements", params={"product_id": product["id"]})).json()["items"]
    assert [(m["quantity"], m["reason"]) for m in moves] == [(12, "initial")]
    async with transaction(session_factory) as session:
        assert await ledger.check_ledger(session) == []


async def test_create_without_a_sku_gets_one(manager_api):
    r = await manager_api.post("/v1/products", json={"name": "Tea", "price": usd(100)})
    assert r.status_code == 201 and r.json()["sku"] == f"P{r.json()['id']:05d}"


async def test_bad_input_names_the_field_and_changes_nothing(manager_api):
    body = is_problem(
        await manager_api.post("/v1/products", json={"name": "Tea", "price": {"amount": -1, "currency": "USD"}}), 422
    )
    assert body["errors"][0]["field"] == "price.amount"
    body = is_problem(
        await manager_api.post("/v1/products", json={"name": "Tea", "price": {"amount": 1, "currency": "EUR"}}), 422
    )
    assert body["errors"][0]["field"] == "price.currency" and "USD" in body["detail"]
    body = is_problem(
        await manager_api.post("/v1/products", json={"name": "Tea", "price": usd(1), "tax_rate": "VAT"}), 404
    )
    assert body["detail"].startswith("No tax rate “VAT”")  # the shop has no such rate: nothing created
    body = is_problem(await manager_api.post("/v1/products", json={"price": usd(1)}), 422)
    assert body["errors"][0]["field"] == "name"
    body = is_problem(await manager_api.post("/v1/products", json={"name": "  ", "price": usd(1)}), 422)
    assert body["detail"] == "The name is required."
    body = is_problem(
        await manager_api.post("/v1/products", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    assert (await manager_api.get("/v1/products")).json()["items"] == []


async def test_duplicate_sku_is_409(manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    body = is_problem(
        await manager_api.post("/v1/products", json={"name": "Other", "price": usd(1), "sku": "milk"}), 409
    )
    assert "MILK" in body["detail"]


async def test_list_filters_and_cursor_pages(manager_api, session_factory):
    for i in range(5):
        await add_product(session_factory, f"Tea {i}", 100 + i, 1, category="Drinks")
    await add_product(session_factory, "Bread", 300, 1, category="Bakery")
    old = await add_product(session_factory, "Old tea", 100, 0)
    async with transaction(session_factory) as session:
        from db import catalog

        await catalog.archive_product(session, product_id=old.id)

    seen, cursor = [], None
    while True:
        params = {"q": "tea", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await manager_api.get("/v1/products", params=params)).json()
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Tea {i}" for i in range(5)]
    drinks = (await manager_api.get("/v1/products", params={"category": "drinks"})).json()["items"]
    assert len(drinks) == 5
    archived = (await manager_api.get("/v1/products", params={"archived": "true"})).json()["items"]
    assert [p["name"] for p in archived] == ["Old tea"]
    is_problem(await manager_api.get("/v1/products", params={"limit": 201}), 422)
    body = is_problem(await manager_api.get("/v1/products", params={"cursor": "forged"}), 422)
    assert "cursor" in body["detail"]


async def test_get_by_id_and_by_sku_or_barcode(cashier_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK", barcode="12345678")
    assert (await cashier_api.get(f"/v1/products/{milk.id}")).json()["name"] == "Milk"
    assert (await cashier_api.get("/v1/products/sku/milk")).json()["id"] == milk.id
    assert (await cashier_api.get("/v1/products/sku/12345678")).json()["id"] == milk.id
    assert is_problem(await cashier_api.get("/v1/products/999"), 404)["detail"] == "No product #999."
    is_problem(await cashier_api.get("/v1/products/sku/NOPE"), 404)
    is_problem(await cashier_api.get("/v1/products/0"), 422)


async def test_patch_changes_only_what_is_sent(manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK", category="Dairy", barcode="12345678")
    r = await manager_api.patch(
        f"/v1/products/{milk.id}", json={"price": usd(175), "barcode": None, "low_stock_threshold": 2}
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["price"], after["barcode"], after["low_stock_threshold"], after["name"], after["category"]) == (
        usd(175),
        None,
        2,
        "Milk",
        "Dairy",
    )
    r = await manager_api.patch(f"/v1/products/{milk.id}", json={"name": "Whole milk", "category": None, "sku": "WM"})
    assert (r.json()["name"], r.json()["category"], r.json()["sku"]) == ("Whole milk", None, "WM")
    is_problem(await manager_api.patch("/v1/products/999", json={"name": "x"}), 404)
    body = is_problem(await manager_api.patch(f"/v1/products/{milk.id}", json={"sku": "bad sku!"}), 422)
    assert "not a valid SKU" in body["detail"]


async def test_archive_and_unarchive(manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5)
    assert (await manager_api.post(f"/v1/products/{milk.id}/archive")).json()["archived"] is True
    is_problem(await manager_api.post(f"/v1/products/{milk.id}/archive"), 409)
    assert (await manager_api.post(f"/v1/products/{milk.id}/unarchive")).json()["archived"] is False
    is_problem(await manager_api.post(f"/v1/products/{milk.id}/unarchive"), 409)


async def test_restock_and_adjust_write_ledger_rows(manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5)
    r = await manager_api.post(
        f"/v1/products/{milk.id}/stock", json={"type": "restock", "quantity": 10, "reason": "delivery"}
    )
    assert r.status_code == 200 and r.json()["stock"] == 15
    r = await manager_api.post(
        f"/v1/products/{milk.id}/stock", json={"type": "adjustment", "quantity": -2, "reason": "broken"}
    )
    assert r.json()["stock"] == 13
    body = is_problem(
        await manager_api.post(
            f"/v1/products/{milk.id}/stock", json={"type": "adjustment", "quantity": -99, "reason": "x"}
        ),
        422,
    )
    assert "Only 13" in body["detail"]
    body = is_problem(
        await manager_api.post(f"/v1/products/{milk.id}/stock", json={"type": "adjustment", "quantity": -1}), 422
    )
    assert body["detail"] == "A reason is required."
    is_problem(await manager_api.post(f"/v1/products/{milk.id}/stock", json={"type": "restock", "quantity": 0}), 422)
    moves = (await manager_api.get("/v1/stock-movements", params={"product_id": milk.id})).json()["items"]
    assert [(m["quantity"], m["reason"], m["note"]) for m in moves] == [
        (-2, "adjustment", "broken"),
        (10, "restock", "delivery"),
        (5, "initial", ""),
    ]
    async with transaction(session_factory) as session:
        assert await ledger.check_ledger(session) == []


async def test_stock_movements_by_period(manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5)
    today = (await manager_api.get("/v1/stock-movements", params={"from": "2020-01-01"})).json()["items"]
    assert len(today) == 1
    assert (await manager_api.get("/v1/stock-movements", params={"from": "2020-01-01", "to": "2020-01-31"})).json()[
        "items"
    ] == []
    body = is_problem(
        await manager_api.get("/v1/stock-movements", params={"from": "2020-02-01", "to": "2020-01-01"}), 422
    )
    assert "ends before it starts" in body["detail"]
    is_problem(await manager_api.get("/v1/stock-movements", params={"product_id": 999}), 404)


async def test_a_products_tax_rate_is_set_shown_and_taken_away(manager_api, cashier_api, session_factory):
    async with transaction(session_factory) as session:
        await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)  # the first rate: the default
        await taxes.add_rate(session, name="Reduced", rate_bp=725, actor=None)
        await taxes.add_rate(session, name="Zero", rate_bp=0, actor=None)
    await add_product(session_factory, "Bread", 300, 5, category="Bakery", sku="BREAD")
    async with transaction(session_factory) as session:
        await taxes.assign(session, target="Bakery", name="Zero", actor=None)

    tea_in = {"name": "Tea", "price": usd(100), "stock": 3, "tax_rate": "reduced"}  # a rate's name, any case
    made = await manager_api.post("/v1/products", json=tea_in)
    assert made.status_code == 201, made.text
    tea = made.json()
    assert (tea["tax_rate"], tea["tax_percent"]) == ("Reduced", "7.25")
    items = (await cashier_api.get("/v1/products")).json()["items"]
    listed = {p["sku"]: (p["tax_rate"], p["tax_percent"]) for p in items}
    assert listed == {"BREAD": ("Zero", "0"), tea["sku"]: ("Reduced", "7.25")}  # the category's rate, its own

    patched = await manager_api.patch(f"/v1/products/{tea['id']}", json={"tax_rate": None})
    assert (patched.json()["tax_rate"], patched.json()["tax_percent"]) == ("VAT", "16")  # the store default again
    renamed = await manager_api.patch(f"/v1/products/{tea['id']}", json={"name": "Green tea"})
    assert renamed.json()["tax_rate"] == "VAT"
    body = is_problem(await manager_api.patch(f"/v1/products/{tea['id']}", json={"tax_rate": "Luxury"}), 404)
    assert "No tax rate “Luxury”" in body["detail"]
    assert (await cashier_api.get(f"/v1/products/{tea['id']}")).json()["tax_rate"] == "VAT"
    is_problem(await cashier_api.patch(f"/v1/products/{tea['id']}", json={"tax_rate": "Zero"}), 403)

    sale = await cashier_api.post(
        "/v1/sales",
        json={
            "lines": [{"product_id": tea["id"], "quantity": 1}],
            "payments": [{"method": "card", "amount": usd(100)}],
        },
    )
    assert sale.status_code == 201, sale.text
    assert [(t["name"], t["amount"]["amount"]) for t in sale.json()["taxes"]] == [("VAT", 14)]  # 100 - 100/1.16
    async with session_factory() as session:
        details = (await session.scalars(select(AuditEntry.details).where(AuditEntry.action == "tax_set"))).all()
    assert any("Tea" in d and "Reduced" in d for d in details) and any("its own rate removed" in d for d in details)
