"""SQLite's connections hand each statement to their thread once (db/sqlite_driver.py)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from db import carts, checkout, sqlite_driver
from db.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine, make_read_session_factory, make_session_factory, transaction
from db.models import Base, PaymentMethod, Role, Staff, TaxRate
from tests.factories import make_product, make_staff


@pytest.fixture
async def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def hand_overs(monkeypatch) -> list[str]:
    """The name of every function the event loop hands to a SQLite connection's thread."""
    calls: list[str] = []
    original = sqlite_driver.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)
    return calls


async def test_a_sale_hands_the_thread_one_call_per_statement(sqlite_engine, hand_overs):
    """Without the driver SQLAlchemy's adapter makes four calls a statement (cursor, execute,
    fetch, close) and three a transaction (BEGIN, COMMIT, the pool's rollback): a three-line sale
    cost some 160 thread hand-overs instead of 40."""
    factory = make_session_factory(sqlite_engine)
    async with transaction(factory) as session:
        cashier = await make_staff(session, telegram_id=10, role=Role.CASHIER)
        products = [await make_product(session, sku=f"P{i}", stock=10) for i in range(3)]
    statements: list[str] = []
    event.listen(sqlite_engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    hand_overs.clear()

    for product in products:
        async with transaction(factory) as session:
            view = await carts.add_item(session, chat_id=10, product_id=product.id, qty=2)
    async with transaction(factory) as session:
        result = await checkout.checkout(
            session,
            chat_id=10,
            expected_version=view.version,
            cashier=cashier,
            payment_method=PaymentMethod.CARD,
            currency="USD",
            default_low_stock_threshold=3,
        )

    assert result.sale.total_minor == 3 * 2 * 250
    assert statements.count("BEGIN IMMEDIATE") == 4
    # One call per statement, the BEGIN going with the first one; one per commit; the pool's
    # rollback of a committed connection does not cross; nothing else does.
    assert hand_overs.count("commit") == 4
    assert len(hand_overs) == len(statements) - 4 + 4
    assert set(hand_overs) == {"_statement", "_statements", "commit"}  # _statements: executemany


async def test_rows_counts_and_errors_are_sqlite3_s_own(sqlite_engine):
    factory = make_session_factory(sqlite_engine)
    async with transaction(factory) as session:
        result = await session.execute(
            insert(TaxRate).returning(TaxRate.id, TaxRate.name),
            [{"name": "Reduced", "rate_bp": 700}, {"name": "Standard", "rate_bp": 1900}],
        )
        assert [tuple(row) for row in result] == [(1, "Reduced"), (2, "Standard")]
        # A plain INSERT: the new row's id is the cursor's lastrowid.
        staff = Staff(telegram_id=5, name="Ann", role=Role.CASHIER)
        session.add(staff)
        await session.flush()
        assert staff.id == 1
        # executemany: the row count covers every parameter set.
        many = await (await session.connection()).execute(
            insert(Staff.__table__), [{"telegram_id": 6 + i, "name": f"S{i}", "role": Role.CASHIER} for i in range(3)]
        )
        assert many.rowcount == 3
        changed = await session.execute(update(TaxRate).where(TaxRate.rate_bp > 0).values(rate_bp=800))
        assert changed.rowcount == 2
        assert (await session.execute(select(Staff.id).where(Staff.telegram_id == -1))).all() == []
        assert (await session.execute(text("SELECT 1, 'two'"))).one() == (1, "two")

    with pytest.raises(IntegrityError) as failure:
        async with transaction(factory) as session:
            await session.execute(update(TaxRate).values(rate_bp=0))
            await session.execute(insert(Staff).values(telegram_id=5, name="Twin", role=Role.CASHIER))
    assert isinstance(failure.value.orig, sqlite3.IntegrityError)
    # The failed transaction was rolled back whole, and the connection goes on working.
    async with factory() as session:
        assert await session.scalar(select(Staff.name).where(Staff.telegram_id == 5)) == "Ann"
        assert await session.scalar(select(TaxRate.rate_bp).where(TaxRate.id == 2)) == 800


async def test_connections_open_with_what_the_url_and_the_engine_ask(tmp_path, monkeypatch):
    opened: list[tuple[tuple, dict]] = []
    real_connect = sqlite3.connect

    def spy(*args, **kwargs):
        opened.append((args, kwargs))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(sqlite_driver.sqlite3, "connect", spy)
    path = tmp_path / "shop.db"
    for url, database in ((f"sqlite+aiosqlite:///{path}", str(path)), ("sqlite+aiosqlite://", ":memory:")):
        engine = make_engine(url)
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == SQLITE_BUSY_TIMEOUT_MS
        await engine.dispose()
        args, kwargs = opened.pop()
        assert args == (database,)
        assert kwargs["timeout"] == SQLITE_BUSY_TIMEOUT_MS / 1000
    # The arguments come from SQLAlchemy's own reading of the URL.
    create = sqlite_driver.connector(make_url(f"sqlite+aiosqlite:///{path}"), {"timeout": 1})
    connection = await create()
    try:
        assert isinstance(connection, sqlite_driver.Connection)
        assert opened.pop() == ((str(path),), {"check_same_thread": False, "timeout": 1})
    finally:
        await connection.close()


async def test_disposing_the_engine_stops_its_threads(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}")
    factory = make_read_session_factory(engine)
    sessions = [factory() for _ in range(3)]
    threads = []
    for session in sessions:  # three connections open at once: three threads
        raw = await (await session.connection()).get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.Connection)
        threads.append(raw.driver_connection._thread)
    assert len(set(threads)) == 3
    assert all(t.is_alive() and t.daemon for t in threads)  # a crash that never closes them cannot hang the exit
    for session in sessions:
        await session.close()
    await engine.dispose()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in threads)


SLOW_INSERT = (  # a few hundred ms of work for SQLite, in one statement
    "INSERT INTO t SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 3000000) SELECT max(x) AS x FROM c)"
)


async def _table(path) -> None:
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (x INTEGER)")


async def test_a_begin_that_cannot_lock_fails_its_transaction_and_leaves_none_open(tmp_path):
    """BEGIN IMMEDIATE goes with the first statement: while another connection writes, that
    statement fails with "database is locked" (as the BEGIN did before), nothing is written,
    and no transaction stays open on the connection."""
    path = tmp_path / "pos.db"
    await _table(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    connection = await sqlite_driver.connector(make_url(f"sqlite+aiosqlite:///{path}"), {"timeout": 0.05})()
    try:
        cursor = connection.cursor()
        await cursor.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await cursor.execute("INSERT INTO t VALUES (1)")
        await connection.rollback()
        assert not connection._connection.in_transaction
        holder.execute("COMMIT")
        await cursor.execute("BEGIN IMMEDIATE")
        await cursor.execute("INSERT INTO t VALUES (2)")
        await connection.commit()
        assert holder.execute("SELECT x FROM t").fetchall() == [(2,)]
    finally:
        await connection.close()
        holder.close()


async def test_a_rollback_waits_for_a_statement_still_running_in_the_thread(tmp_path):
    """A task cancelled while its statement runs (a client gone, a timeout) leaves the statement
    running in the thread; the rollback that follows must not read "no transaction" before the
    statement's BEGIN has run, or the connection would go back to the pool holding the write lock."""
    path = tmp_path / "pos.db"
    await _table(path)
    connection = await sqlite_driver.connector(make_url(f"sqlite+aiosqlite:///{path}"), {"timeout": 0.05})()
    try:
        cursor = connection.cursor()
        await cursor.execute("BEGIN IMMEDIATE")
        running = asyncio.create_task(cursor.execute(SLOW_INSERT))
        await asyncio.sleep(0)  # handed to the thread
        running.cancel()
        await connection.rollback()
        assert not connection._connection.in_transaction
        with sqlite3.connect(path, timeout=0.05) as other:  # the write lock is free, nothing was written
            other.execute("INSERT INTO t VALUES (7)")
        assert (await connection.execute_fetchall("SELECT x FROM t")) == [(7,)]
    finally:
        await connection.close()


async def test_sqlalchemy_s_own_adapter_stays_available_for_benchmarks(tmp_path):
    """bench_checkout compares the two; the engine's SQLite settings apply to both."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pos.db'}", sqlite_one_hand_over=False)
    try:
        async with make_session_factory(engine)() as session:
            raw = await (await session.connection()).get_raw_connection()
            assert not isinstance(raw.driver_connection, sqlite_driver.Connection)
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("SELECT lower('ÄPFEL')"))).scalar() == "äpfel"
    finally:
        await engine.dispose()
