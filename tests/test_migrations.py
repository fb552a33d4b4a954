"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from db.engine import is_sqlite, make_engine
from db.migrate import alembic_config, upgrade_async
from db.models import Base
from tests import cli_helpers

database_url = cli_helpers.database_url  # fixture: a fresh, empty database


async def schema_diffs(url: str) -> list:
    """What autogenerate would still want to change: nothing, if migrations match the models."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn):
                context = MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "render_as_batch": is_sqlite(url)}
                )
                return compare_metadata(context, Base.metadata)

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_head_builds_the_models_schema(database_url):
    await upgrade_async(database_url)
    assert await table_names(database_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert await schema_diffs(database_url) == []


async def test_downgrade_to_base_and_up_again(database_url):
    await upgrade_async(database_url)
    await _downgrade(database_url, "base")
    assert await table_names(database_url) == {"alembic_version"}
    await upgrade_async(database_url)
    assert await schema_diffs(database_url) == []
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert await cli_helpers.scalar(database_url, "SELECT version_num FROM alembic_version") == head


def test_there_is_one_head():
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    assert len(scripts.get_heads()) == 1


async def _downgrade(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


async def test_the_job_runs_migration_keeps_every_row_of_the_previous_release(database_url):
    """A database of the previous release (0002) with data upgrades with every row as it was."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0002")
    await cli_helpers.execute(
        database_url,
        "INSERT INTO subscriptions (id, chat_id, created_at) VALUES (1, -100123, '2026-11-20 08:00:00+00:00')",
    )
    before = await cli_helpers.table_contents(database_url)
    await upgrade_async(database_url)
    after = await cli_helpers.table_contents(database_url)
    assert {k: v for k, v in after.items() if k in before and k != "alembic_version"} == {
        k: v for k, v in before.items() if k != "alembic_version"
    }
    assert after["job_runs"] == []
