"""Fixtures for API tests: the ASGI app over the test database, and an httpx client per role.

Builds on tests/conftest.py's `session_factory` (file SQLite, and PostgreSQL when
POS_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_api
from db import apikeys, catalog
from db.engine import transaction
from db.models import Role
from db.settings import Settings


@pytest.fixture
def api_settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Corner Shop",
        currency="USD",
        store_timezone="Europe/Berlin",
        low_stock_threshold=3,
        api_rate_limit=10_000,
    )


@pytest.fixture
def app(api_settings, session_factory):
    return create_api(api_settings, session_factory)


async def make_key(session_factory, role: Role, name: str | None = None) -> str:
    async with transaction(session_factory) as session:
        _, key = await apikeys.create_key(session, role=role, name=name or f"{role.value} key", actor=None)
    return key


def client_for(app, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test", headers=headers)


@pytest.fixture
async def admin_api(app, session_factory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, await make_key(session_factory, Role.ADMIN)) as client:
        yield client


@pytest.fixture
async def manager_api(app, session_factory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, await make_key(session_factory, Role.MANAGER)) as client:
        yield client


@pytest.fixture
async def cashier_api(app, session_factory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, await make_key(session_factory, Role.CASHIER)) as client:
        yield client


@pytest.fixture
async def anon_api(app) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, None) as client:
        yield client


async def add_product(session_factory, name: str, price_minor: int, stock: int, **kwargs):
    async with transaction(session_factory) as session:
        return await catalog.add_product(session, name=name, price_minor=price_minor, stock=stock, **kwargs)


def usd(amount: int) -> dict:
    return {"amount": amount, "currency": "USD"}


def is_problem(response: httpx.Response, status: int) -> dict:
    """The problem body, after checking the status and the media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body
