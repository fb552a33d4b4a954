"""Idempotency-Key on creates: replays, a different body, a request still running, races."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select

from db import idempotency
from db.engine import transaction
from db.models import Customer, IdempotencyRecord, Product, Sale, StockMovement, utcnow
from tests.api.conftest import add_product, is_problem, usd

SALE = {"lines": [{"sku": "MILK", "quantity": 1}], "payments": [{"method": "card", "amount": usd(150)}]}


async def count(session_factory, model) -> int:
    async with transaction(session_factory) as session:
        return await session.scalar(select(func.count(model.id)))


async def test_a_retry_replays_the_first_response_without_writing(cashier_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    headers = {"Idempotency-Key": "order-1001"}
    first = await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    # The same body with its keys in another order is the same request.
    again = await cashier_api.post("/v1/sales", json=dict(reversed(SALE.items())), headers=headers)
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(session_factory, Sale) == 1
    # Another key is another sale.
    other = await cashier_api.post("/v1/sales", json=SALE, headers={"Idempotency-Key": "order-1002"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_the_same_key_with_another_body_is_422(cashier_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    headers = {"Idempotency-Key": "k1"}
    await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    changed = SALE | {"lines": [{"sku": "MILK", "quantity": 2}], "payments": [{"method": "card", "amount": usd(300)}]}
    body = is_problem(await cashier_api.post("/v1/sales", json=changed, headers=headers), 422)
    assert "different request" in body["detail"]
    # The same key on another endpoint is another request too.
    is_problem(await cashier_api.post("/v1/customers", json={"name": "Ann"}, headers=headers), 422)
    assert await count(session_factory, Sale) == 1 and await count(session_factory, Customer) == 0


async def test_keys_are_per_api_key(cashier_api, manager_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    headers = {"Idempotency-Key": "shared"}
    a = await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    b = await manager_api.post("/v1/sales", json=SALE, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201) and a.json()["id"] != b.json()["id"]


async def test_an_error_is_replayed_too_and_writes_nothing(cashier_api, session_factory):
    await add_product(session_factory, "Milk", 150, 0, sku="MILK")
    headers = {"Idempotency-Key": "short-1"}
    first = await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    is_problem(first, 409)
    again = await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    assert (again.status_code, again.content, again.headers["content-type"]) == (
        409,
        first.content,
        "application/problem+json",
    )
    assert await count(session_factory, Sale) == 0


async def test_while_the_first_request_runs_a_twin_gets_409(cashier_api, session_factory):
    await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    # The first request has claimed the key and is still working (its claim is committed).
    r = await cashier_api.get("/v1/products")  # a request, so the key's row exists and is known
    assert r.status_code == 200
    async with transaction(session_factory) as session:
        from db.models import ApiKey

        key_id = await session.scalar(select(ApiKey.id))
        fingerprint = idempotency.fingerprint("POST", "/v1/sales", json.dumps(SALE).encode())
        await idempotency.claim(session, api_key_id=key_id, key="busy", fingerprint=fingerprint)
    body = is_problem(
        await cashier_api.post("/v1/sales", json=SALE, headers={"Idempotency-Key": "busy"}),
        409,
    )
    assert "still being processed" in body["detail"]
    assert await count(session_factory, Sale) == 0


async def test_a_claim_whose_request_died_is_taken_over_and_the_old_one_cannot_complete(session_factory):
    from db.apikeys import create_key

    async with transaction(session_factory) as session:
        row, _ = await create_key(session, role="cashier", name="k", actor=None)
    fp = idempotency.fingerprint("POST", "/v1/customers", b"{}")
    past = utcnow() - idempotency.CLAIM_LEASE - timedelta(seconds=1)
    async with transaction(session_factory) as session:
        dead = await idempotency.claim(session, api_key_id=row.id, key="k", fingerprint=fp, now=past)
    async with transaction(session_factory) as session:
        fresh = await idempotency.claim(session, api_key_id=row.id, key="k", fingerprint=fp)
    assert isinstance(fresh, idempotency.Claim) and fresh.record_id == dead.record_id and fresh.token != dead.token
    async with transaction(session_factory) as session:
        try:
            await idempotency.complete(session, claim=dead, status=201, body="{}")
        except idempotency.Superseded:
            pass
        else:
            raise AssertionError("the superseded request completed")


async def test_records_are_kept_24_hours_then_purged(session_factory):
    from db.apikeys import create_key

    async with transaction(session_factory) as session:
        row, _ = await create_key(session, role="cashier", name="k", actor=None)
    fp = idempotency.fingerprint("POST", "/v1/customers", b"{}")
    day_ago = utcnow() - timedelta(hours=23, minutes=59)
    async with transaction(session_factory) as session:
        claim = await idempotency.claim(session, api_key_id=row.id, key="old", fingerprint=fp, now=day_ago)
        await idempotency.complete(session, claim=claim, status=201, body='{"id": 1}')
    async with transaction(session_factory) as session:
        replay = await idempotency.claim(session, api_key_id=row.id, key="old", fingerprint=fp)
    assert replay == idempotency.Replay(status=201, body='{"id": 1}')
    async with transaction(session_factory) as session:
        await idempotency.claim(
            session, api_key_id=row.id, key="new", fingerprint=fp, now=utcnow() + timedelta(minutes=2)
        )
        keys = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["new"]


async def test_a_bad_idempotency_key_is_422(cashier_api, session_factory):
    body = is_problem(
        await cashier_api.post("/v1/customers", json={"name": "Ann"}, headers={"Idempotency-Key": "has space"}), 422
    )
    assert "Idempotency-Key" in body["detail"]
    assert await count(session_factory, Customer) == 0


async def test_concurrent_identical_requests_make_one_sale(cashier_api, session_factory):
    """Ten copies of one request at once: one sale; the others replay it or are told it is running."""
    milk = await add_product(session_factory, "Milk", 150, 50, sku="MILK")
    headers = {"Idempotency-Key": "double-tap"}
    responses = await asyncio.gather(*(cashier_api.post("/v1/sales", json=SALE, headers=headers) for _ in range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    created = [r for r in responses if r.status_code == 201]
    assert len({r.content for r in created}) == 1
    for r in responses:
        if r.status_code == 409:
            assert "still being processed" in r.json()["detail"]
    assert await count(session_factory, Sale) == 1
    async with transaction(session_factory) as session:
        assert await session.scalar(select(Product.stock).where(Product.id == milk.id)) == 49
        assert await session.scalar(select(func.count(StockMovement.id))) == 2  # initial + the one sale
    # Once it has finished, every replay gets its response.
    late = await cashier_api.post("/v1/sales", json=SALE, headers=headers)
    assert (late.status_code, late.content) == (201, created[0].content)


async def test_concurrent_identical_restocks_restock_once(manager_api, session_factory):
    milk = await add_product(session_factory, "Milk", 150, 5, sku="MILK")
    body = {"type": "restock", "quantity": 10, "reason": "delivery 7"}
    headers = {"Idempotency-Key": "delivery-7"}
    await asyncio.gather(
        *(manager_api.post(f"/v1/products/{milk.id}/stock", json=body, headers=headers) for _ in range(6))
    )
    again = await manager_api.post(f"/v1/products/{milk.id}/stock", json=body, headers=headers)
    assert again.json()["stock"] == 15
    async with transaction(session_factory) as session:
        assert await session.scalar(select(Product.stock).where(Product.id == milk.id)) == 15
