"""A fresh database per test: file SQLite, and PostgreSQL when POS_TEST_POSTGRES_URL is set.

PostgreSQL tests each get their own schema (search_path), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from db.engine import SessionFactory, make_engine, make_session_factory
from db.models import Base

POSTGRES_URL = os.environ.get("POS_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
async def session_factory(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[SessionFactory]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield make_session_factory(engine)
        await engine.dispose()
        return

    if not POSTGRES_URL:
        pytest.skip("POS_TEST_POSTGRES_URL is not set")
    schema = f"test_reports_{uuid.uuid4().hex}"
    admin = create_async_engine(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield make_session_factory(engine)
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def session(session_factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session
