"""Shared test fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import SessionFactory, is_sqlite, make_engine, make_session_factory
from db.models import Base

# --- database fixtures ---------------------------------------------------------------------------
# `db_url`, `engine`, `session_factory`: a fresh, empty database per test, once on file SQLite and
# once on PostgreSQL when POS_TEST_POSTGRES_URL is set (skipped otherwise). Each PostgreSQL test gets
# its own schema, selected with search_path and dropped afterwards.

POSTGRES_URL_ENV = "POS_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}"
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    return url


async def _create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    if is_sqlite(db_url):
        engine = make_engine(db_url)
        try:
            await _create_tables(engine)
            yield engine
        finally:
            await engine.dispose()
        return

    schema = f"test_{uuid.uuid4().hex}"
    admin = make_engine(db_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(db_url)

    # Same effect as connect_args={"server_settings": {"search_path": schema}}, added after
    # make_engine so the tests use the production engine settings.
    @event.listens_for(engine.sync_engine, "do_connect")
    def _use_schema(_dialect, _record, _cargs, cparams) -> None:
        cparams["server_settings"] = {**cparams.get("server_settings", {}), "search_path": schema}

    try:
        await _create_tables(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return make_session_factory(engine)


# --- end of database fixtures --------------------------------------------------------------------
