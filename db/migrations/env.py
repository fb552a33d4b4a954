"""Alembic environment (async template), wired to the POS models and engine.

The database URL comes from the caller (db.migrate sets it) or else from DATABASE_URL, so
`alembic upgrade head` and `python -m bot migrate` reach the same database.
"""

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection

from db import search_index
from db.engine import make_engine
from db.models import Base, UtcDateTime

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

DEFAULT_URL = "sqlite+aiosqlite:///pos.db"


def database_url() -> str:
    return config.attributes.get("database_url") or os.environ.get("DATABASE_URL") or DEFAULT_URL


def render_item(type_: str, obj, autogen_context):
    """Write our UtcDateTime as the plain column type it stores into, so a generated migration
    does not depend on application code (it must run unchanged years from now)."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
        render_item=render_item,
        include_name=search_index.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=search_index.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys_off(dbapi_connection, _record) -> None:
    # SQLite's batch mode rebuilds a table (copy, drop, rename): with foreign keys on, dropping a
    # referenced table fails. SQLite's documented recipe: off while migrating, then check them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")


async def run_async_migrations() -> None:
    engine = make_engine(database_url())
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys_off)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        if sqlite:
            await connection.run_sync(_check_foreign_keys)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
