"""/v1/customers over HTTP."""

from __future__ import annotations

from tests.api.conftest import add_product, is_problem, usd


async def test_register_find_get_and_patch(cashier_api, manager_api):
    r = await cashier_api.post(
        "/v1/customers", json={"name": "Ann Lee", "phone": "+44 20 7946 0958", "email": "Ann@Example.com"}
    )
    assert r.status_code == 201, r.text
    ann = r.json()
    assert (ann["phone"], ann["email"]) == ("+442079460958", "Ann@example.com")
    await cashier_api.post("/v1/customers", json={"name": "Bob"})
    assert [c["name"] for c in (await cashier_api.get("/v1/customers", params={"q": "ann"})).json()["items"]] == [
        "Ann Lee"
    ]
    assert [c["name"] for c in (await cashier_api.get("/v1/customers", params={"q": "7946"})).json()["items"]] == [
        "Ann Lee"
    ]
    page = (await cashier_api.get("/v1/customers", params={"limit": 1})).json()
    assert page["next_cursor"] and len(page["items"]) == 1
    assert (await cashier_api.get(f"/v1/customers/{ann['id']}")).json() == ann
    r = await manager_api.patch(f"/v1/customers/{ann['id']}", json={"name": "Ann Li", "email": None})
    assert (r.json()["name"], r.json()["email"], r.json()["phone"]) == ("Ann Li", None, "+442079460958")


async def test_a_phone_belongs_to_one_customer(cashier_api, manager_api):
    await cashier_api.post("/v1/customers", json={"name": "Ann", "phone": "+442079460958"})
    bob = (await cashier_api.post("/v1/customers", json={"name": "Bob"})).json()
    assert (
        "already belongs to Ann"
        in is_problem(await cashier_api.post("/v1/customers", json={"name": "X", "phone": "+44 20 7946 0958"}), 409)[
            "detail"
        ]
    )
    is_problem(await manager_api.patch(f"/v1/customers/{bob['id']}", json={"phone": "+442079460958"}), 409)
    is_problem(await cashier_api.post("/v1/customers", json={"name": "X", "phone": "12"}), 422)
    is_problem(await cashier_api.post("/v1/customers", json={"name": "X", "email": "nope"}), 422)
    is_problem(await cashier_api.get("/v1/customers/4242"), 404)


async def test_a_customers_sales(cashier_api, manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    ann = (await cashier_api.post("/v1/customers", json={"name": "Ann"})).json()
    sale = {
        "lines": [{"sku": "MILK", "quantity": 1}],
        "customer_id": ann["id"],
        "payments": [{"method": "card", "amount": usd(150)}],
    }
    sold = (await cashier_api.post("/v1/sales", json=sale)).json()
    assert sold["customer"] == {"id": ann["id"], "name": "Ann"}
    page = (await manager_api.get(f"/v1/customers/{ann['id']}/sales")).json()
    assert [s["id"] for s in page["items"]] == [sold["id"]]
    is_problem(await manager_api.get("/v1/customers/999/sales"), 404)
