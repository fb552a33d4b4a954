"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite follows the recipe in SQLAlchemy's SQLite docs: the driver's own transaction handling is
switched off and we emit ``BEGIN IMMEDIATE`` ourselves, so a transaction that reads and then
writes takes the write lock up front instead of failing with "database is locked" halfway.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option marking a session that only reads (see make_read_session_factory).
READ_ONLY = "pos_read_only"

SessionFactory = async_sessionmaker[AsyncSession]
T = TypeVar("T")
log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False, sqlite_one_hand_over: bool = True) -> AsyncEngine:
    """Create the async engine, with SQLite tuned for durability and concurrent writers.

    ``sqlite_one_hand_over=False`` connects through SQLAlchemy's own aiosqlite adapter instead of
    db/sqlite_driver.py (four hand-overs to the connection's thread a statement): for benchmarks
    that show the difference.
    """
    if not is_sqlite(url):
        return create_async_engine(url, echo=echo, pool_pre_ping=True)

    from db import sqlite_driver  # imports aiosqlite: only a SQLite shop needs it

    sa_url = make_url(url)
    # One hand-over to the connection's thread per statement instead of four (db/sqlite_driver.py).
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if sqlite_one_hand_over:
        creator = sqlite_driver.connector(sa_url, connect_args)
        engine = create_async_engine(sa_url, echo=echo, async_creator=creator)
    else:
        engine = create_async_engine(sa_url, echo=echo, connect_args=connect_args)
    in_memory = sa_url.database in (None, "", ":memory:")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take over BEGIN from the driver (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a sale the cashier saw confirmed survives a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's own lower() folds ASCII only: "äpfel" would not find "Äpfel". Searches use
        # lower() (and icontains compiles to it), so give it Python's Unicode-aware one.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
        # Readers take no lock in WAL mode; writers take the write lock up front.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for work that only reads (reports, look-ups).

    On SQLite they begin with a plain BEGIN, so a long report does not hold the write lock and a
    cashier's checkout does not wait for it; on PostgreSQL the transaction is READ ONLY.
    """
    options: dict[str, bool] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return async_sessionmaker(engine.execution_options(**options), expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends, roll back everything if it raises.

    A block cannot be run again from here: work that may meet a deadlock or a serialization
    failure on PostgreSQL goes through ``run_transaction``, which retries it once.
    """
    async with factory() as session, session.begin():
        yield session


# PostgreSQL's serialization_failure and deadlock_detected: the transaction was rolled back
# through no fault of its own, and the same work run again will normally succeed.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is a deadlock or serialization failure (worth one more try)."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


async def run_transaction(factory: SessionFactory, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work(session)`` in one transaction, run once more if PostgreSQL rolled it back for a
    deadlock or serialization failure; any other error, or a second failure, is raised."""
    for attempt in (1, 2):
        try:
            async with transaction(factory) as session:
                return await work(session)
        except DBAPIError as error:
            if attempt == 2 or not is_retryable(error):
                raise
            log.warning("transaction rolled back by the database (%s), running it once more", error.orig)
    raise AssertionError("unreachable")
