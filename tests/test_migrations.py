"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncSession

from db import catalog, search_index
from db.engine import is_sqlite, make_engine, make_session_factory, transaction
from db.migrate import alembic_config, upgrade_async
from db.models import Base
from db.periods import period_for_days
from db.reports import sales_summary
from tests import cli_helpers

database_url = cli_helpers.database_url  # fixture: a fresh, empty database


async def schema_diffs(url: str) -> list:
    """What autogenerate would still want to change: nothing, if migrations match the models."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn):
                context = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": True,
                        "render_as_batch": is_sqlite(url),
                        "include_name": search_index.include_name,
                    },
                )
                return compare_metadata(context, Base.metadata)

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    """The tables, leaving out the search index's (db.search_index: not in the models)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
            return {n for n in names if search_index.include_name(n, "table", None)}
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


def test_every_migration_title_is_one_line():
    # Alembic logs "Running upgrade a -> b, <title>" at start-up; a title that wraps puts a stray
    # line in the run modes' one-line errors.
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    wrapped = [s.revision for s in scripts.walk_revisions() if "\n" in (s.doc or "").strip()]
    assert wrapped == []


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
    assert after["job_runs"] == [] and after["dialog_conversations"] == [] and after["dialog_data"] == []
    assert after["update_inbox"] == []


# --- 0004: code keys and the search index, on a database of the previous release -----------------

PREVIOUS_RELEASE_ROWS = [
    "INSERT INTO categories (id, name, created_at) VALUES (1, 'Obst', '2026-11-20 10:00:00')",
    "INSERT INTO staff (id, telegram_id, name, role, active, created_at, updated_at) "
    "VALUES (1, 777, 'Mia', 'manager', true, '2026-11-20 10:00:00', '2026-11-20 10:00:00')",
    # Two SKUs and two barcodes that differ only by case, as two concurrent /adds could make them.
    *(
        "INSERT INTO products (id, sku, barcode, name, category_id, price_minor, stock, low_stock_threshold, "
        f"low_stock_alerted, archived, created_at, updated_at) VALUES ({values}, "
        "'2026-11-20 10:00:00', '2026-11-20 10:00:00')"
        for values in (
            "1, 'abc', '4006381333931', 'Äpfel', 1, 250, 5, NULL, false, false",
            "2, 'ABC', NULL, 'Birnen', 1, 300, 0, 2, false, false",
            "3, 'ABC-2', 'X-1', 'Quitten', NULL, 400, 1, NULL, false, false",
            "4, 'Q9', 'x-1', 'Kiwi', NULL, 120, 0, NULL, false, true",
        )
    ),
    "INSERT INTO stock_movements (id, product_id, quantity, reason, staff_id, note, created_at) "
    "VALUES (1, 1, 5, 'initial', 1, '', '2026-11-20 10:00:00')",
    "INSERT INTO sales (id, created_at, cashier_id, chat_id, payment_method, currency, total_minor, status, "
    "idempotency_key) VALUES (1, '2026-11-21 09:00:00', 1, 5, 'cash', 'USD', 300, 'completed', 'k1')",
    "INSERT INTO sale_lines (id, sale_id, product_id, product_name, sku, unit_price_minor, quantity, "
    "line_total_minor) VALUES (1, 1, 2, 'Birnen', 'ABC', 300, 1, 300)",
]


# --- 0009 (money): a database of the previous release, with data, upgrades without a change ------

_PREVIOUS_RELEASE_ROWS = [
    "INSERT INTO staff (id, telegram_id, name, role, active, created_at, updated_at) VALUES "
    "(1, 111, 'Ann', 'admin', :t, :now, :now), (2, 222, 'Cas', 'cashier', :t, :now, :now)",
    "INSERT INTO categories (id, name, created_at) VALUES (1, 'Dairy', :now)",
    "INSERT INTO products (id, sku, sku_key, barcode, barcode_key, name, category_id, price_minor, stock, "
    "low_stock_threshold, low_stock_alerted, archived, created_at, updated_at) VALUES "
    "(1, 'MILK', 'milk', '400', '400', 'Milk', 1, 150, 7, NULL, :f, :f, :now, :now), "
    "(2, 'BREAD', 'bread', NULL, NULL, 'Bread', NULL, 225, 4, 2, :f, :f, :now, :now)",
    "INSERT INTO sales (id, created_at, cashier_id, customer_id, chat_id, payment_method, currency, total_minor, "
    "tendered_minor, change_minor, status, refunded_at, refunded_by_id, idempotency_key) VALUES "
    "(1, :now, 2, NULL, 5, 'cash', 'USD', 525, 1000, 475, 'completed', NULL, NULL, 'cart:1:v1'), "
    "(2, :now, 2, NULL, 5, 'card', 'USD', 225, NULL, NULL, 'refunded', :now, 1, 'cart:1:v3'), "
    "(4, :now, 1, NULL, 6, 'mobile', 'USD', 0, NULL, NULL, 'completed', NULL, NULL, 'cart:2:v1')",
    "INSERT INTO sale_lines (id, sale_id, product_id, product_name, sku, unit_price_minor, quantity, "
    "line_total_minor) VALUES (1, 1, 1, 'Milk', 'MILK', 150, 2, 300), (2, 1, 2, 'Bread', 'BREAD', 225, 1, 225), "
    "(3, 2, 2, 'Bread', 'BREAD', 225, 1, 225), (4, 4, 1, 'Milk', 'MILK', 0, 1, 0)",
    "INSERT INTO stock_movements (id, product_id, quantity, reason, sale_id, staff_id, note, created_at) VALUES "
    "(1, 1, 10, 'initial', NULL, 1, '', :now), (2, 2, 6, 'initial', NULL, 1, '', :now), "
    "(3, 1, -2, 'sale', 1, 2, 'sale #1', :now), (4, 2, -1, 'sale', 1, 2, 'sale #1', :now), "
    "(5, 2, -1, 'sale', 2, 2, 'sale #2', :now), (6, 2, 1, 'refund', 2, 1, 'refund of sale #2', :now), "
    "(7, 1, -1, 'sale', 4, 1, 'sale #4', :now)",
]


async def _old_columns(url: str) -> dict[str, list[tuple]]:
    """The previous release's tables, only the columns it had, row by row."""
    before = {
        "sales": "id, created_at, cashier_id, customer_id, chat_id, payment_method, currency, total_minor, "
        "tendered_minor, change_minor, status, refunded_at, refunded_by_id, idempotency_key",
        "sale_lines": "id, sale_id, product_id, product_name, sku, unit_price_minor, quantity, line_total_minor",
        "products": "id, sku, barcode, name, category_id, price_minor, stock, low_stock_threshold, archived",
        "stock_movements": "id, product_id, quantity, reason, sale_id, staff_id, note, created_at",
        "categories": "id, name, created_at",
        "staff": "id, telegram_id, name, role, active",
    }
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table: [tuple(r) for r in (await conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY id"))).all()]
                for table, cols in before.items()
            }
    finally:
        await engine.dispose()


async def _rows(url: str, sql: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.exec_driver_sql(sql)]
    finally:
        await engine.dispose()


async def test_previous_release_with_case_twins_upgrades_keeping_every_row(database_url):
    await upgrade_async(database_url, "0003_job_runs")
    for statement in PREVIOUS_RELEASE_ROWS:
        await cli_helpers.execute(database_url, statement)
    await upgrade_async(database_url)

    products = await _rows(
        database_url, "SELECT id, sku, sku_key, barcode, barcode_key, name, stock FROM products ORDER BY id"
    )
    assert products == [
        (1, "abc", "abc", "4006381333931", "4006381333931", "Äpfel", 5),
        (2, "ABC-3", "abc-3", None, None, "Birnen", 0),  # "ABC-2" was taken by product 3
        (3, "ABC-2", "abc-2", "X-1", "x-1", "Quitten", 1),
        (4, "Q9", "q9", None, None, "Kiwi", 0),  # the later of two barcodes "X-1"/"x-1"
    ]
    for table, count in [("sales", 1), ("sale_lines", 1), ("stock_movements", 1), ("staff", 1), ("categories", 1)]:
        assert await cli_helpers.scalar(database_url, f"SELECT count(*) FROM {table}") == count
    assert await _rows(database_url, "SELECT sku FROM sale_lines") == [("ABC",)]  # what the receipt said
    audit = [r[0] for r in await _rows(database_url, "SELECT details FROM audit_log ORDER BY id")]
    assert audit == [
        "ABC “Birnen”: SKU ABC → ABC-3 (upgrade: abc “Äpfel” has the same SKU ignoring case)",
        "Q9 “Kiwi”: barcode x-1 → none (upgrade: ABC-2 “Quitten” has the same barcode ignoring case)",
    ]

    # The upgraded database enforces the rule, and search reads the new index.
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        async with factory() as session:
            assert (await catalog.get_by_sku(session, sku="ABC")).name == "Äpfel"
            assert (await catalog.get_by_sku(session, sku="x-1")).name == "Quitten"
            found = await catalog.search_products(session, text="äPF")
            assert [p.name for p in found.items] == ["Äpfel"]
            assert [p.name for p in (await catalog.search_products(session, text="obst")).items] == [
                "Birnen",
                "Äpfel",
            ]
            assert [p.name for p in (await catalog.search_products(session, text="abc-")).items] == [
                "Birnen",
                "Quitten",
            ]
        with pytest.raises(catalog.Conflict):
            async with transaction(factory) as session:
                await catalog.add_product(session, name="Twin", price_minor=1, sku="aBc")
    finally:
        await engine.dispose()


async def test_the_api_keys_migration_keeps_every_row_of_the_previous_release(database_url):
    """A store of the release before the API (0001), with staff, a product, its stock and a sale,
    upgrades with every row as it was, and its new tables empty."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0001")
    t = "'2026-11-20 08:00:00+00:00'"
    for statement in (
        f"INSERT INTO staff (id, telegram_id, name, role, active, created_at, updated_at) "
        f"VALUES (1, 111, 'Ada', 'admin', true, {t}, {t})",
        f"INSERT INTO products (id, sku, barcode, name, category_id, price_minor, stock, low_stock_threshold, "
        f"low_stock_alerted, archived, created_at, updated_at) "
        f"VALUES (1, 'MILK', NULL, 'Milk', NULL, 150, 4, NULL, false, false, {t}, {t})",
        f"INSERT INTO sales (id, created_at, cashier_id, customer_id, chat_id, payment_method, currency, total_minor, "
        f"tendered_minor, change_minor, status, refunded_at, refunded_by_id, idempotency_key) "
        f"VALUES (1, {t}, 1, NULL, 111, 'card', 'USD', 150, NULL, NULL, 'completed', NULL, NULL, 'cart:1:v2')",
        f"INSERT INTO stock_movements (id, product_id, quantity, reason, sale_id, staff_id, note, created_at) "
        f"VALUES (1, 1, 5, 'initial', NULL, 1, '', {t}), (2, 1, -1, 'sale', 1, 1, 'sale #1', {t})",
    ):
        await cli_helpers.execute(database_url, statement)
    before = await cli_helpers.table_contents(database_url)
    await upgrade_async(database_url, "0002")
    after = await cli_helpers.table_contents(database_url)
    assert {k: v for k, v in after.items() if k in before and k != "alembic_version"} == {
        k: v for k, v in before.items() if k != "alembic_version"
    }
    assert after["api_keys"] == [] and after["idempotency_records"] == []
    await upgrade_async(database_url)  # and on to the newest schema


async def test_report_indexes_upgrade_keeps_every_sale(database_url):
    """A shop at the previous release (0005) with sales in it upgrades to the report indexes with
    its rows unchanged, and the report reads them as before."""
    await upgrade_async(database_url, "0005_dialogs")
    rows = [
        "INSERT INTO staff (id, telegram_id, name, role, active, created_at, updated_at) "
        "VALUES (1, 111, 'Cal', 'cashier', true, '2026-11-01 08:00:00.000000', '2026-11-01 08:00:00.000000')",
        "INSERT INTO products (id, sku, sku_key, name, price_minor, stock, low_stock_alerted, archived, created_at, "
        "updated_at) VALUES (1, 'MILK', 'milk', 'Milk', 150, 10, false, false, "
        "'2026-11-01 08:00:00.000000', '2026-11-01 08:00:00.000000')",
        "INSERT INTO sales (id, created_at, cashier_id, chat_id, payment_method, currency, total_minor, status, "
        "refunded_at, idempotency_key) VALUES "
        "(1, '2026-11-02 09:00:00.000000', 1, 111, 'cash', 'USD', 300, 'completed', NULL, 'k1'), "
        "(2, '2026-11-02 10:00:00.000000', 1, 111, 'card', 'USD', 150, 'refunded', '2026-11-03 10:00:00.000000', 'k2')",
        "INSERT INTO sale_lines (id, sale_id, product_id, product_name, sku, unit_price_minor, quantity, "
        "line_total_minor) VALUES (1, 1, 1, 'Milk', 'MILK', 150, 2, 300), (2, 2, 1, 'Milk', 'MILK', 150, 1, 150)",
    ]
    for statement in rows:
        await cli_helpers.execute(database_url, statement)
    before = await cli_helpers.table_contents(database_url)

    await upgrade_async(database_url, "0006")  # later migrations add columns: compare at this one

    after = await cli_helpers.table_contents(database_url)
    # Tables later migrations add (update_inbox...) are new and empty; every old one is unchanged.
    assert {t: rows for t, rows in after.items() if t in before and t != "alembic_version"} == {
        t: rows for t, rows in before.items() if t != "alembic_version"
    }
    await upgrade_async(database_url)
    assert await schema_diffs(database_url) == []
    indexes = await index_names(database_url)
    assert {"ix_sales_refunded_at", "ix_sale_lines_sale_product"} <= indexes
    assert "ix_sale_lines_sale_id" not in indexes
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            session = AsyncSession(bind=conn)
            period = period_for_days(date(2026, 11, 2), date(2026, 11, 3), ZoneInfo("UTC"))
            summary = await sales_summary(session, period=period, tz=ZoneInfo("UTC"))
    finally:
        await engine.dispose()
    assert (summary.sales_count, summary.revenue_minor, summary.units_sold) == (1, 300, 2)
    assert (summary.refunded_count, summary.refunded_minor) == (1, 150)


async def index_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:

            def names(sync_conn) -> set[str]:
                found = inspect(sync_conn)
                return {i["name"] for table in ("sales", "sale_lines") for i in found.get_indexes(table)}

            return await conn.run_sync(names)
    finally:
        await engine.dispose()


async def test_the_quick_pins_migration_keeps_every_row_of_the_previous_release(database_url):
    """A shop on the previous release (0007) with staff, a product and a cart upgrades to the
    /quick pins table (0008) without losing or changing a row."""
    await upgrade_async(database_url, "0007_update_inbox")
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    await cli_helpers.execute(
        database_url,
        "INSERT INTO staff (id, telegram_id, name, role, active, created_at, updated_at) "
        "VALUES (1, 9002, 'Mia', 'manager', true, :now, :now)",
        now=now,
    )
    await cli_helpers.execute(
        database_url,
        "INSERT INTO products (id, sku, sku_key, barcode, barcode_key, name, price_minor, stock, low_stock_alerted, "
        "archived, created_at, updated_at) VALUES (1, 'MILK1', 'milk1', '4006381333931', '4006381333931', "
        "'Whole milk', 150, 9, false, false, :now, :now)",
        now=now,
    )
    await cli_helpers.execute(
        database_url, "INSERT INTO carts (id, chat_id, version, updated_at) VALUES (1, 9003, 2, :now)", now=now
    )
    await cli_helpers.execute(
        database_url, "INSERT INTO cart_lines (id, cart_id, product_id, quantity) VALUES (1, 1, 1, 3)"
    )
    before = await cli_helpers.table_contents(database_url)
    await upgrade_async(database_url, "0008_quick_pins")
    after = await cli_helpers.table_contents(database_url)
    assert after.pop("quick_pins") == []
    after.pop("alembic_version"), before.pop("alembic_version")
    assert after == before


MONEY = "0005"
MONEY = "0007"
MONEY = "0009"


def _before_money() -> str:
    """The revision the money migration builds on: the previous release's schema."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    return scripts.get_revision(MONEY).down_revision


async def test_previous_release_with_sales_upgrades_unchanged(database_url):
    await upgrade_async(database_url, _before_money())
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    if is_sqlite(database_url):
        now = now.replace(tzinfo=None)  # what the previous release stored on SQLite
    for statement in _PREVIOUS_RELEASE_ROWS:
        await cli_helpers.execute(database_url, statement, now=now, t=True, f=False)
    before = await _old_columns(database_url)

    await upgrade_async(database_url)

    assert await _old_columns(database_url) == before
    assert await schema_diffs(database_url) == []
    # Each sale is one payment by its method, for its total, with its tendered and change.
    assert await _rows(
        database_url,
        "SELECT sale_id, method, amount_minor, tendered_minor, change_minor FROM payments ORDER BY sale_id",
    ) == [(1, "cash", 525, 1000, 475), (2, "card", 225, None, None), (4, "mobile", 0, None, None)]
    # Receipt numbers are the old sale numbers, and the next one follows the highest.
    assert await _rows(
        database_url, "SELECT id, number, gross_minor, tax_minor, refunded_minor FROM sales ORDER BY id"
    ) == [
        (1, 1, 525, 0, 0),
        (2, 2, 225, 0, 225),
        (4, 4, 0, 0, 0),
    ]
    assert await cli_helpers.scalar(database_url, "SELECT value FROM counters WHERE name = 'receipt'") == 4
    # The old whole-sale refund is one refund of every unit, restocked.
    assert await _rows(database_url, "SELECT sale_id, method, amount_minor, staff_id FROM refunds") == [
        (2, "card", 225, 1)
    ]
    assert await _rows(database_url, "SELECT sale_line_id, quantity, amount_minor FROM refund_lines") == [(3, 1, 225)]
    assert await _rows(database_url, "SELECT id, refunded_quantity FROM sale_lines ORDER BY id") == [
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 0),
    ]


async def test_money_downgrade_keeps_the_old_rows(database_url):
    await upgrade_async(database_url, _before_money())
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    if is_sqlite(database_url):
        now = now.replace(tzinfo=None)
    for statement in _PREVIOUS_RELEASE_ROWS:
        await cli_helpers.execute(database_url, statement, now=now, t=True, f=False)
    before = await _old_columns(database_url)
    await upgrade_async(database_url)
    await _downgrade(database_url, _before_money())
    assert await _old_columns(database_url) == before


SHIFTS = "0010_shifts"
_MONEY_TABLES = (
    "sales",
    "sale_lines",
    "payments",
    "refunds",
    "refund_lines",
    "products",
    "stock_movements",
    "counters",
    "staff",
)


async def test_the_shifts_migration_keeps_every_row_of_the_previous_release(database_url):
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    previous = scripts.get_revision(SHIFTS).down_revision
    assert previous == MONEY
    # A database of the previous release (0009) with sales, payments and a refund in it.
    await upgrade_async(database_url, _before_money())
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    if is_sqlite(database_url):
        now = now.replace(tzinfo=None)
    for statement in _PREVIOUS_RELEASE_ROWS:
        await cli_helpers.execute(database_url, statement, now=now, t=True, f=False)
    await upgrade_async(database_url, previous)
    before = {table: await _rows(database_url, f"SELECT * FROM {table} ORDER BY 1") for table in _MONEY_TABLES}
    assert before["sales"] and before["payments"] and before["refunds"]

    await upgrade_async(database_url, SHIFTS)

    after = {table: await _rows(database_url, f"SELECT * FROM {table} ORDER BY 1") for table in _MONEY_TABLES}
    for table in ("sales", "refunds"):  # the new column comes last: earlier rows are in no shift
        assert [row[-1] for row in after[table]] == [None] * len(before[table])
        after[table] = [row[:-1] for row in after[table]]
    assert after == before
    await upgrade_async(database_url)  # and on to this release's schema
    assert await schema_diffs(database_url) == []
    assert await _rows(database_url, "SELECT count(*) FROM shifts") == [(0,)]
    assert await _rows(database_url, "SELECT count(*) FROM drawer_entries") == [(0,)]

    await _downgrade(database_url, previous)
    assert {table: await _rows(database_url, f"SELECT * FROM {table} ORDER BY 1") for table in _MONEY_TABLES} == before


# --- 0011 (loyalty): a shop with sales and customers upgrades without a change -------------------

LOYALTY = "0011_loyalty"


def _before_loyalty() -> str:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    return scripts.get_revision(LOYALTY).down_revision


async def _every_row(url: str) -> dict[str, list[tuple]]:
    """Every table's rows as they are now, in the columns it has now (by id or its first column)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {
                    t: [col["name"] for col in inspect(c).get_columns(t)]
                    for t in inspect(c).get_table_names()
                    if search_index.include_name(t, "table", None) and t != "alembic_version"
                }
            )
    finally:
        await engine.dispose()
    return await _rows_in(url, columns)


async def _rows_in(url: str, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The rows of each table of ``columns`` in those columns (by the first of them)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            out = {}
            for table, cols in columns.items():
                rows = await conn.execute(text(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {cols[0]}"))
                out[table] = [tuple(r) for r in rows.all()]
            return out
    finally:
        await engine.dispose()


async def _columns_of(url: str, like: dict[str, list[tuple]]) -> dict[str, list[str]]:
    """The columns the tables of ``like`` have now."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {t: [col["name"] for col in inspect(c).get_columns(t)] for t in like}
            )
        return columns
    finally:
        await engine.dispose()


async def test_loyalty_upgrade_keeps_every_row_and_payment(database_url):
    await upgrade_async(database_url, _before_money())
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    if is_sqlite(database_url):
        now = now.replace(tzinfo=None)
    for statement in _PREVIOUS_RELEASE_ROWS:
        await cli_helpers.execute(database_url, statement, now=now, t=True, f=False)
    await upgrade_async(database_url, _before_loyalty())
    await cli_helpers.execute(
        database_url,
        "INSERT INTO customers (id, name, phone, email, created_at) VALUES (1, 'Cora', '+442079460958', NULL, :now)",
        now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )
    await cli_helpers.execute(database_url, "UPDATE sales SET customer_id = 1 WHERE id = 1")
    before = await _every_row(database_url)
    old_columns = await _columns_of(database_url, before)

    await upgrade_async(database_url)

    assert await _rows_in(database_url, old_columns) == before
    assert await schema_diffs(database_url) == []
    assert await _rows(database_url, "SELECT id, points_balance, telegram_id FROM customers") == [(1, 0, None)]
    assert await _rows(database_url, "SELECT sale_id, method, amount_minor FROM payments ORDER BY id") == [
        (1, "cash", 525),
        (2, "card", 225),
        (4, "mobile", 0),
    ]
    assert await _rows(database_url, "SELECT points_minor FROM refunds") == [(0,)]
    # Points are a payment method now.
    await cli_helpers.execute(
        database_url,
        "INSERT INTO payments (sale_id, method, amount_minor, created_at) VALUES (4, 'points', 0, :now)",
        now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )

    await _downgrade(database_url, _before_loyalty())
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT method FROM payments ORDER BY id"))
            assert [r[0] for r in rows.all()] == ["cash", "card", "mobile", "cash"]
    finally:
        await engine.dispose()


# --- 0012 (search order): products get their sort key, every row stays as it was -----------------

SEARCH_ORDER = "0012_search_order"
_SHOP_NAMES = ["Äpfel GROSS", "äpfel klein", "ΟΔΟΣ ΣΟΦΙΑΣ", "İstanbul çayı", "Straße", "Zitronen", "apfelsaft"]


async def test_search_order_upgrade_keys_every_product_and_keeps_every_row(database_url):
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    previous = scripts.get_revision(SEARCH_ORDER).down_revision
    assert previous == LOYALTY
    # A shop at the previous release (0011) with products, written by SQL as that release's
    # search index (its triggers) saw them.
    await upgrade_async(database_url, previous)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    if is_sqlite(database_url):
        now = now.replace(tzinfo=None)
    await cli_helpers.execute(
        database_url, "INSERT INTO categories (id, name, created_at) VALUES (1, 'Obst', :now)", now=now
    )
    for i, name in enumerate(_SHOP_NAMES, start=1):
        await cli_helpers.execute(
            database_url,
            "INSERT INTO products (id, sku, sku_key, barcode, barcode_key, name, category_id, price_minor, stock, "
            "low_stock_alerted, archived, created_at, updated_at) VALUES (:id, :sku, :key, NULL, NULL, :name, 1, "
            "100, 1, false, :archived, :now, :now)",
            id=i,
            sku=f"P-{i}",
            key=f"p-{i}",
            name=name,
            archived=i == 6,
            now=now,
        )
    before = await _every_row(database_url)
    old_columns = await _columns_of(database_url, before)

    await upgrade_async(database_url, SEARCH_ORDER)

    assert await _rows_in(database_url, old_columns) == before
    assert await schema_diffs(database_url) == []
    # Every product's key is lower(name) as the database computes it, and later writes keep it so.
    assert await _rows(database_url, "SELECT count(*) FROM products WHERE name_key IS DISTINCT FROM lower(name)") == [
        (0,)
    ]
    await cli_helpers.execute(database_url, "UPDATE products SET name = 'BIRNEN' WHERE id = 7")
    await cli_helpers.execute(
        database_url,
        "INSERT INTO products (id, sku, sku_key, name, price_minor, stock, low_stock_alerted, archived, created_at, "
        "updated_at) VALUES (8, 'P-8', 'p-8', 'ÄPFELMUS', 100, 1, false, false, :now, :now)",
        now=now,
    )
    assert await _rows(database_url, "SELECT id, name_key FROM products WHERE id IN (7, 8) ORDER BY id") == [
        (7, "birnen"),
        (8, "äpfelmus"),
    ]
    # Search lists them by that key: the order lower(name) gave.
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        async with factory() as session:
            listed = [p.id for p in (await catalog.search_products(session, text="", per_page=50)).items]
            expected = (
                (await session.execute(text("SELECT id FROM products WHERE NOT archived ORDER BY lower(name), id")))
                .scalars()
                .all()
            )
            assert listed == list(expected) and len(listed) == 7
            assert [p.id for p in (await catalog.search_products(session, text="äpf", per_page=50)).items] == [1, 2, 8]
    finally:
        await engine.dispose()

    await _downgrade(database_url, previous)
    after = await _rows_in(database_url, old_columns)
    assert after["products"][:6] == before["products"][:6]
    assert await _rows(database_url, "SELECT id, name FROM products WHERE id IN (7, 8) ORDER BY id") == [
        (7, "BIRNEN"),
        (8, "ÄPFELMUS"),
    ]
    await upgrade_async(database_url)
    assert await _rows(database_url, "SELECT count(*) FROM products WHERE name_key IS DISTINCT FROM lower(name)") == [
        (0,)
    ]
