"""API keys over HTTP: 401 without a valid key, 403 for a role too small, 429 over the rate limit,
revocation at once, last use recorded, and keys never in the log."""

from __future__ import annotations

import logging

import pytest

from db import apikeys, audit
from db.engine import transaction
from db.models import ApiKey, Role
from tests.api.conftest import add_product, client_for, is_problem, make_key, usd


async def test_no_key_is_401_with_a_bearer_challenge(anon_api):
    r = await anon_api.get("/v1/products")
    body = is_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in body["detail"]


@pytest.mark.parametrize("header", ["Bearer pos_not-a-real-key", "Bearer nonsense", "Basic dXNlcjpwYXNz"])
async def test_a_bad_key_is_401(app, header):
    async with client_for(app, None) as client:
        r = await client.get("/v1/products", headers={"Authorization": header})
    is_problem(r, 401)


async def test_a_revoked_key_stops_at_once(app, session_factory):
    key = await make_key(session_factory, Role.MANAGER, "till 2")
    async with client_for(app, key) as client:
        assert (await client.get("/v1/products")).status_code == 200
        async with transaction(session_factory) as session:
            row = (await apikeys.list_keys(session))[0]
            await apikeys.revoke_key(session, key_id=row.id, actor=None)
        body = is_problem(await client.get("/v1/products"), 401)
    assert "revoked" in body["detail"]


CASHIER_REFUSED = [
    ("post", "/v1/products", {"name": "Tea", "price": usd(100)}),
    ("patch", "/v1/products/1", {"name": "Tea"}),
    ("post", "/v1/products/1/archive", None),
    ("post", "/v1/products/1/unarchive", None),
    ("post", "/v1/products/1/stock", {"type": "restock", "quantity": 1}),
    ("get", "/v1/stock-movements", None),
    ("patch", "/v1/customers/1", {"name": "X"}),
    ("get", "/v1/customers/1/sales", None),
    ("post", "/v1/sales/1/refunds", {"lines": [{"sale_line_id": 1, "quantity": 1}]}),
    ("get", "/v1/reports/summary", None),
]


@pytest.mark.parametrize(("method", "path", "json"), CASHIER_REFUSED)
async def test_a_cashier_key_may_not_change_the_catalog_refund_or_read_reports(
    session_factory, cashier_api, method, path, json
):
    await add_product(session_factory, "Milk", 150, 5)
    kwargs = {"json": json} if json is not None else {}
    body = is_problem(await getattr(cashier_api, method)(path, **kwargs), 403)
    assert "manager key" in body["detail"]


async def test_a_cashier_key_may_sell_and_look_up(session_factory, cashier_api):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    assert (await cashier_api.get("/v1/products")).status_code == 200
    assert (await cashier_api.get("/v1/products/sku/MILK")).status_code == 200
    assert (await cashier_api.get("/v1/customers")).status_code == 200
    r = await cashier_api.post(
        "/v1/sales",
        json={"lines": [{"sku": "MILK", "quantity": 1}], "payments": [{"method": "card", "amount": usd(150)}]},
    )
    assert r.status_code == 201


async def test_last_use_is_recorded(app, session_factory):
    key = await make_key(session_factory, Role.CASHIER)
    async with transaction(session_factory) as session:
        assert (await apikeys.list_keys(session))[0].last_used_at is None
    async with client_for(app, key) as client:
        await client.get("/v1/products")
    async with transaction(session_factory) as session:
        assert (await apikeys.list_keys(session))[0].last_used_at is not None


async def test_over_the_rate_limit_is_429_with_retry_after(api_settings, session_factory):
    from api.app import create_api

    limited = create_api(api_settings.model_copy(update={"api_rate_limit": 3}), session_factory)
    key = await make_key(session_factory, Role.CASHIER)
    other = await make_key(session_factory, Role.CASHIER, "other till")
    async with client_for(limited, key) as client, client_for(limited, other) as other_client:
        for _ in range(3):
            assert (await client.get("/v1/products")).status_code == 200
        r = await client.get("/v1/products")
        body = is_problem(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "3 a minute" in body["detail"]
        # The limit is per key: another key is not held back.
        assert (await other_client.get("/v1/products")).status_code == 200


async def test_the_window_starts_again_after_a_minute(session_factory):
    from datetime import timedelta

    from db.models import utcnow

    now = utcnow()
    key = await make_key(session_factory, Role.CASHIER, "window")
    results = []
    for offset in (0, 1, 59, 61):
        async with transaction(session_factory) as session:
            results.append(
                await apikeys.authenticate(session, key=key, rate_limit=2, now=now + timedelta(seconds=offset))
            )
    assert isinstance(results[0], apikeys.Caller) and isinstance(results[1], apikeys.Caller)
    assert results[2] == apikeys.Refused(retry_after=1)
    assert isinstance(results[3], apikeys.Caller)


async def test_keys_never_reach_the_log(app, session_factory, caplog):
    caplog.set_level(logging.DEBUG)
    key = await make_key(session_factory, Role.ADMIN)
    async with client_for(app, key) as client:
        await client.get("/v1/products")
        await client.post("/v1/products", json={"name": "", "price": usd(1)})
        await client.get("/v1/nowhere")
    async with client_for(app, key + "x") as client:
        await client.get("/v1/products")
    assert key not in caplog.text
    assert all(key not in str(record.__dict__) for record in caplog.records)


async def test_only_a_hash_is_stored_and_creation_and_revocation_are_audited(session_factory):
    async with transaction(session_factory) as session:
        row, key = await apikeys.create_key(session, role="manager", name="web shop", actor=None)
        await apikeys.revoke_key(session, key_id=row.id, actor=None)
    async with transaction(session_factory) as session:
        stored = await session.get(ApiKey, row.id)
        assert stored.key_hash != key and key not in repr(stored.__dict__)
        assert stored.key_hash == apikeys.hash_key(key)
        entries = [(e.action, e.details) for e in await audit.list_entries(session)]
    assert entries[:2] == [
        ("apikey_revoke", f"#{row.id} “web shop” (manager)"),
        ("apikey_new", f"#{row.id} “web shop” (manager)"),
    ]


async def test_an_admin_key_can_do_what_a_manager_key_can(admin_api):
    r = await admin_api.post("/v1/products", json={"name": "Tea", "price": usd(100), "stock": 1})
    assert r.status_code == 201
    assert (await admin_api.get("/v1/reports/summary")).status_code == 200


async def test_an_unknown_endpoint_or_method_is_a_problem_too(manager_api):
    body = is_problem(await manager_api.get("/v1/nowhere"), 404)
    assert "/docs" in body["detail"]
    is_problem(await manager_api.delete("/v1/products"), 405)
