"""Fixtures for testing the process-level entry points (CLI, console, run modes, migrations).

These run migrations themselves, so they need an empty database rather than the tables that
tests/conftest.py creates: `database_url` is a fresh SQLite file, and (when POS_TEST_POSTGRES_URL
is set) a fresh PostgreSQL database created for the test and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from db.engine import make_engine

POSTGRES_URL_ENV = "POS_TEST_POSTGRES_URL"
# Settings the tests pin, so a developer's environment cannot change what they see.
PINNED_ENV = {
    "CURRENCY": "USD",
    "STORE_TIMEZONE": "UTC",
    "STORE_NAME": "Test Shop",
    "LOW_STOCK_THRESHOLD": "5",
    "DAILY_REPORT_TIME": "21:00",
}
CLEARED_ENV = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "ADMIN_IDS",
    "PHONE_REGION",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
)


def run_sync(coro):
    """Run a coroutine to completion from sync code, even when an event loop is running here."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


async def _postgres_admin(url: str, statement: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database nobody has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}"
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    name = f"pos_test_{uuid.uuid4().hex[:16]}"
    run_sync(_postgres_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        run_sync(_postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path, database_url: str) -> str:
    """Run in an empty directory (no .env) with pinned settings and DATABASE_URL; returns the URL."""
    monkeypatch.chdir(tmp_path)
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in PINNED_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


async def table_contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (alembic's bookkeeping included), sorted: for comparing databases."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
            contents = {}
            for name in sorted(names):
                rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
                contents[name] = sorted((tuple(r) for r in rows), key=repr)
            return contents
    finally:
        await engine.dispose()


async def scalar(url: str, sql: str, **params):
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def execute(url: str, sql: str, **params) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()
