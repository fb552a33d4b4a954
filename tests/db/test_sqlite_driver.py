"""SQLite's connections hand each statement to their thread once (db/sqlite_driver.py)."""

from __future__ import annotations

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
    fetch, close): a three-line sale cost some 150 thread hand-overs instead of ~50."""
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
    # Per transaction a commit, and the rollback the pool gives each connection it takes back.
    assert hand_overs.count("commit") == hand_overs.count("rollback") == 4
    # Every statement (BEGIN IMMEDIATE included) is one call, and nothing else crosses.
    assert len(hand_overs) == len(statements) + 8
    assert set(hand_overs) == {"_statement", "_statements", "commit", "rollback"}  # _statements: executemany


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
            await session.execute(insert(Staff).values(telegram_id=5, name="Twin", role=Role.CASHIER))
    assert isinstance(failure.value.orig, sqlite3.IntegrityError)
    # The failed transaction left nothing behind, and the connection goes on working.
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
