"""The benchmark shop at scale: two years of sales written straight into the real schema.

``build`` makes a shop of 500 products, 6 staff and 3,000 customers with ``days`` days of trade
ending on ``LAST_DAY`` (Europe/Berlin): ~456 sales a day, ~3 lines a sale, so two years (730
days) are ~333,000 sales, ~1,000,000 sale lines and as many stock movements. Rows go in with
the drivers' bulk paths (sqlite3 ``executemany`` in one transaction, asyncpg ``COPY``), which is
why two years take a minute rather than the hours checkout would: the shape is what checkout
writes (lines with snapshots of name, SKU and price; one stock movement per line; refunds
return stock; every product's stock equals the sum of its movements), not its code path.

Each day's trade is drawn from a generator seeded with that day, so the last week of the
two-year shop is the very same trade as a one-week shop built for that week: a report on
either must give the same figures (benchmarks check it).

Built shops are kept and reused: SQLite in a file under ``POS_BENCH_CACHE`` (default the temp
directory), PostgreSQL in a schema of the POS_TEST_POSTGRES_URL database. Their names carry the
size and a fingerprint of the schema, so a schema change builds afresh.

    python -m benchmarks.shop_data [--shop two-years|one-week] [--backend sqlite|postgres] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Table, event, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from benchmarks._common import POSTGRES_URL_ENV, Database, backends, now
from db.engine import make_engine, make_session_factory
from db.models import (
    Base,
    Customer,
    MovementReason,
    Payment,
    PaymentMethod,
    Product,
    Role,
    Sale,
    SaleLine,
    SaleStatus,
    Staff,
    StockMovement,
    UtcDateTime,
    code_key,
)
from db.periods import period_for_days

TZ = ZoneInfo("Europe/Berlin")
CURRENCY = "EUR"
LAST_DAY = date(2026, 11, 30)  # a Monday: the week before it is the last full week
TWO_YEARS = 730
WEEK = period_for_days(date(2026, 11, 23), date(2026, 11, 29), TZ, "week of 23 November 2026")
MONTH = period_for_days(date(2026, 11, 1), date(2026, 11, 30), TZ, "November 2026")
# The shops benchmarks use, as (days of trade, last day): two years, and only the week of WEEK.
SHOPS = {"two-years": (730, LAST_DAY), "one-week": (7, WEEK.last_day)}
# Bump when the generated data changes (the schema is fingerprinted on its own).
BUILDER_VERSION = 2  # 2: sales have their receipt number

PRODUCTS = 500
NEVER_SOLD = 10  # products nobody buys (the tail of "not sold")
ARCHIVED = 25  # discontinued: sold in the first year only, then archived
CUSTOMERS = 3_000
SALES_PER_DAY = 467
REFUND_ONE_IN = 40
# Telegram ids of the staff, for benchmarks that drive the bot: (telegram id, name, role).
ADMIN_ID, MANAGER_ID, CASHIER_ID = 9001, 9002, 9003
STAFF = [
    (ADMIN_ID, "Ada Admin", Role.ADMIN),
    (MANAGER_ID, "Mia Manager", Role.MANAGER),
    (CASHIER_ID, "Cal Cashier", Role.CASHIER),
    (9004, "Cy Cashier", Role.CASHIER),
    (9005, "Cleo Cashier", Role.CASHIER),
    (9006, "Cem Cashier", Role.CASHIER),
]
CREATED = datetime(2024, 1, 1, tzinfo=UTC)  # when the catalog, staff and customers were entered


def history(days: int, last: date) -> list[date]:
    return [last - timedelta(days=n) for n in range(days - 1, -1, -1)]


# --- generating the rows -----------------------------------------------------------------------


class Rows:
    """Every table's rows as dicts keyed by column name, ids assigned in time order."""

    def __init__(self, days: int, last: date) -> None:
        self.staff = [
            {"id": i, "telegram_id": tid, "name": name, "role": role, "active": True}
            for i, (tid, name, role) in enumerate(STAFF, start=1)
        ]
        self.customers = [
            {"id": i, "name": f"Customer {i:04d}", "phone": f"+4915{i:08d}"} for i in range(1, CUSTOMERS + 1)
        ]
        rng = random.Random(1)
        self.products = [
            {
                "id": i,
                "sku": f"SKU{i:05d}",
                "sku_key": code_key(f"SKU{i:05d}"),
                "barcode": f"400{i:010d}",
                "barcode_key": code_key(f"400{i:010d}"),
                "name": f"Product {i:03d} {rng.choice(WORDS)}",
                "price_minor": rng.randrange(49, 5_000),
                "archived": i > PRODUCTS - ARCHIVED,
            }
            for i in range(1, PRODUCTS + 1)
        ]
        for product in self.products:  # the search's sort key, as its triggers keep it (ASCII names)
            product["name_key"] = product["name"].lower()
        # Popularity follows a long tail, in an order unrelated to ids; some products never sell.
        sellable = PRODUCTS - NEVER_SOLD - ARCHIVED
        ranks = list(range(sellable)) + list(range(sellable + NEVER_SOLD, PRODUCTS))
        random.Random(2).shuffle(ranks)
        weights = (
            [1 / (r + 1) ** 0.9 for r in ranks[:sellable]]
            + [0.0] * NEVER_SOLD
            + [1 / (r + 1) ** 0.9 for r in ranks[sellable:]]
        )
        self._cum = list(accumulate(weights))
        self._cum_discontinued = list(accumulate(weights[: sellable + NEVER_SOLD] + [0.0] * ARCHIVED))
        self.sales: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        for day in history(days, last):
            self._trade(day)
        self._initial_stock()

    def _trade(self, day: date) -> None:
        rng = random.Random(day.toordinal())
        # Archived products only sold before their last year.
        discontinued = day > LAST_DAY - timedelta(days=365)
        cum = self._cum_discontinued if discontinued else self._cum
        opening = datetime.combine(day, time(8), tzinfo=TZ).astimezone(UTC)
        count = round(SALES_PER_DAY * (1.25 if day.weekday() == 5 else 0.6 if day.weekday() == 6 else 1.0))
        count += rng.randint(-40, 40)
        for offset in sorted(rng.uniform(0, 12 * 3600) for _ in range(count)):
            created = opening + timedelta(seconds=offset)
            sale_id = len(self.sales) + 1
            picked = {i + 1 for i in _indices(rng, cum, rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6)))}
            total = 0
            for product_id in sorted(picked):
                product = self.products[product_id - 1]
                qty = rng.choice((1, 1, 1, 2, 2, 3))
                line_total = product["price_minor"] * qty
                total += line_total
                self.lines.append(
                    {
                        "id": len(self.lines) + 1,
                        "sale_id": sale_id,
                        "product_id": product_id,
                        "product_name": product["name"],
                        "sku": product["sku"],
                        "unit_price_minor": product["price_minor"],
                        "quantity": qty,
                        "line_total_minor": line_total,
                    }
                )
                self._move(product_id, -qty, MovementReason.SALE, sale_id, created)
            method = rng.choices(PAYMENTS, (50, 40, 10))[0]
            tendered = -(-total // 500) * 500 if method is PaymentMethod.CASH else None
            cashier = rng.randint(3, len(STAFF))
            refunded = rng.randrange(REFUND_ONE_IN) == 0
            refunded_at = created + timedelta(hours=rng.uniform(0.1, 72)) if refunded else None
            self.sales.append(
                {
                    "id": sale_id,
                    "number": sale_id,  # receipt numbers follow the sales' order, as checkout's counter
                    "created_at": created,
                    "cashier_id": cashier,
                    "customer_id": rng.randint(1, CUSTOMERS) if rng.random() < 0.25 else None,
                    "chat_id": STAFF[cashier - 1][0],
                    "payment_method": method,
                    "currency": CURRENCY,
                    "total_minor": total,
                    "tendered_minor": tendered,
                    "change_minor": tendered - total if tendered is not None else None,
                    "status": SaleStatus.REFUNDED if refunded else SaleStatus.COMPLETED,
                    "refunded_at": refunded_at,
                    "refunded_by_id": 2 if refunded else None,
                    "idempotency_key": f"bench-sale-{sale_id:07d}",
                }
            )
            self.payments.append(
                {
                    "id": sale_id,
                    "sale_id": sale_id,
                    "method": method,
                    "amount_minor": total,
                    "tendered_minor": tendered,
                    "change_minor": tendered - total if tendered is not None else None,
                    "created_at": created,
                }
            )
            if refunded_at is not None:
                for line in self.lines[-len(picked) :]:
                    self._move(line["product_id"], line["quantity"], MovementReason.REFUND, sale_id, refunded_at)

    def _move(self, product_id: int, qty: int, reason: MovementReason, sale_id: int | None, at: datetime) -> None:
        self.movements.append(
            {
                "id": len(self.movements) + 1,
                "product_id": product_id,
                "quantity": qty,
                "reason": reason,
                "sale_id": sale_id,
                "staff_id": None,
                "note": "",
                "created_at": at,
            }
        )

    def _initial_stock(self) -> None:
        """An initial movement per product, enough that stock never went below 20: stock = ledger."""
        net = [0] * (PRODUCTS + 1)
        low = [0] * (PRODUCTS + 1)
        for m in self.movements:
            net[m["product_id"]] += m["quantity"]
            low[m["product_id"]] = min(low[m["product_id"]], net[m["product_id"]])
        initial = []
        for product in self.products:
            pid = product["id"]
            start = 20 - low[pid]
            product["stock"] = start + net[pid]
            initial.append(
                {
                    "product_id": pid,
                    "quantity": start,
                    "reason": MovementReason.INITIAL,
                    "sale_id": None,
                    "staff_id": 2,
                    "note": "opening stock",
                    "created_at": CREATED,
                }
            )
        # Initial movements come first, as they did in the shop: renumber everything.
        self.movements = initial + self.movements
        for i, m in enumerate(self.movements, start=1):
            m["id"] = i

    def tables(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        """Tables in foreign-key order with their rows."""
        return [
            (Staff.__table__, self.staff),
            (Customer.__table__, self.customers),
            (Product.__table__, self.products),
            (Sale.__table__, self.sales),
            (SaleLine.__table__, self.lines),
            (Payment.__table__, self.payments),
            (StockMovement.__table__, self.movements),
        ]


PAYMENTS = [PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.MOBILE]  # what a till takes in money
WORDS = ["milk", "bread", "soap", "tea", "rice", "pasta", "juice", "cheese", "apples", "coffee", "salt", "oil"]


def _indices(rng: random.Random, cum: list[float], k: int) -> list[int]:
    return [_bisect(cum, rng.random() * cum[-1]) for _ in range(k)]


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


# --- writing them ------------------------------------------------------------------------------


def _records(table: Table, rows: list[dict[str, Any]], *, sqlite: bool) -> tuple[list[str], list[tuple]]:
    """Column names and one tuple per row, in the form the driver takes.

    A column the rows do not give takes its default (a scalar, or a callable without context) or
    NULL, so a column someone adds to the schema breaks the builder only if it needs a value we
    cannot guess. Enum members are ``str`` and booleans ``int``, which both drivers take as they
    are; SQLite stores times as SQLAlchemy does, UTC text without a zone.
    """
    given = [c.name for c in table.columns if rows and c.name in rows[0]]
    tail: list[Any] = []
    for column in table.columns:
        if column.name in given:
            continue
        default = column.default
        if default is not None and default.is_scalar:
            tail.append(default.arg)
        elif default is not None and default.is_callable:
            tail.append(CREATED if isinstance(column.type, UtcDateTime) else default.arg(None))
        elif column.nullable or column.primary_key:
            tail.append(None)
        else:
            raise SystemExit(f"benchmarks/shop_data.py does not know what to put in {table.name}.{column.name}")
        if sqlite and isinstance(tail[-1], datetime):
            tail[-1] = _sqlite_time(tail[-1])
    names = given + [c.name for c in table.columns if c.name not in given]
    get = itemgetter(*given)
    times = [i for i, n in enumerate(given) if isinstance(table.c[n].type, UtcDateTime)] if sqlite else []
    rest = tuple(tail)
    if not times:
        return names, [(*get(row), *rest) for row in rows]
    records = []
    for row in rows:
        values = list(get(row))
        for i in times:
            if values[i] is not None:
                values[i] = _sqlite_time(values[i])
        records.append((*values, *rest))
    return names, records


def _sqlite_time(value: datetime) -> str:
    # Every generated time is in UTC already; isoformat is twice as fast as strftime.
    return value.isoformat(" ", "microseconds")[:26]


def write_sqlite(path: Path, rows: Rows) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")  # a build that crashes is built again
        con.execute("BEGIN")
        # Bulk-load practice: fill the tables, then build their indexes in one go each.
        indexes = [index for table, _ in rows.tables() for index in table.indexes]
        for index in indexes:
            con.execute(f'DROP INDEX "{index.name}"')
        for table, data in rows.tables():
            names, records = _records(table, data, sqlite=True)
            marks = ", ".join("?" * len(names))
            con.executemany(f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({marks})', records)
        for index in indexes:
            con.execute(str(CreateIndex(index).compile(dialect=sqlite_dialect())))
        con.execute("COMMIT")
        con.execute("ANALYZE")
    finally:
        con.close()


async def write_postgres(url: str, schema: str, rows: Rows) -> None:
    con = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        # The schema's own triggers (the search index) name its tables unqualified.
        await con.execute(f'SET search_path TO "{schema}"')
        async with con.transaction():
            for table, data in rows.tables():
                names, records = _records(table, data, sqlite=False)
                await con.copy_records_to_table(table.name, records=records, columns=names, schema_name=schema)
                if "id" in names:  # explicit ids: move the sequence past them
                    await con.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{schema}\".\"{table.name}\"', 'id'), "
                        f'(SELECT max(id) FROM "{schema}"."{table.name}"))'
                    )
        for table, _ in rows.tables():
            await con.execute(f'VACUUM ANALYZE "{table.name}"')  # fresh statistics and visibility map
    finally:
        await con.close()


# --- built shops, kept and reused -------------------------------------------------------------


def fingerprint() -> str:
    """Changes when the schema (any table or index) or this builder changes."""
    ddl = [str(CreateTable(t).compile(dialect=sqlite_dialect())) for t in Base.metadata.sorted_tables]
    ddl += [
        str(CreateIndex(i).compile(dialect=sqlite_dialect())) for t in Base.metadata.sorted_tables for i in t.indexes
    ]
    ddl.append(f"builder {BUILDER_VERSION}")
    return hashlib.sha256("\n".join(sorted(ddl)).encode()).hexdigest()[:10]


def shop_name(days: int, last: date) -> str:
    return f"bench_shop_{days}d_{last:%Y%m%d}_{fingerprint()}"


def cache_dir() -> Path:
    path = Path(os.environ.get("POS_BENCH_CACHE") or Path(tempfile.gettempdir()) / "pos-bench-shops")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _postgres_engine(url: str, schema: str):
    engine = make_engine(url)

    @event.listens_for(engine.sync_engine, "do_connect")
    def _use_schema(_dialect, _record, _cargs, cparams) -> None:
        cparams["server_settings"] = {**cparams.get("server_settings", {}), "search_path": schema}

    return engine


async def _schema_exists(url: str, schema: str) -> bool:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
            )
            if found:  # a finished build has its sale lines; an interrupted one may not
                found = await conn.scalar(text(f'SELECT count(*) FROM "{schema}".stock_movements'))
            return bool(found)
    finally:
        await engine.dispose()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def build(backend: str, days: int, last: date, *, rebuild: bool = False) -> str:
    """Make the shop of ``days`` days unless it is already there; its file path or schema."""
    say = partial(print, flush=True)
    name = shop_name(days, last)
    if backend == "sqlite":
        path = cache_dir() / f"{name}.db"
        if path.exists() and not rebuild:
            return str(path)
        _remove_sqlite(path)
    else:
        url = os.environ[POSTGRES_URL_ENV]
        if not rebuild and await _schema_exists(url, name):
            return name
    start = now()
    say(f"  building the {days}-day shop on {backend} ({name})…")
    rows = Rows(days, last)
    say(
        f"    {len(rows.sales):,} sales, {len(rows.lines):,} lines, {len(rows.movements):,} movements "
        f"generated in {now() - start:.1f} s"
    )
    # Built under another name and renamed when complete: a build that stops half-way (an error,
    # a kill) leaves nothing the next run would take for a shop.
    if backend == "sqlite":
        building = path.with_name(path.name + ".building")
        _remove_sqlite(building)
        engine = make_engine(f"sqlite+aiosqlite:///{building}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()
        await asyncio.to_thread(write_sqlite, building, rows)
        building.rename(path)
        result = str(path)
    else:
        building = f"{name}_building"
        admin = make_engine(url)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{building}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{building}"'))
        await admin.dispose()
        engine = _postgres_engine(url, building)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await engine.dispose()
        await write_postgres(url, building, rows)
        admin = make_engine(url)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            await conn.execute(text(f'ALTER SCHEMA "{building}" RENAME TO "{name}"'))
        await admin.dispose()
        result = name
    say(f"    written in {now() - start:.1f} s in all")
    return result


@asynccontextmanager
async def shop(backend: str, which: str = "two-years") -> AsyncIterator[Database]:
    """One of ``SHOPS``, built now if missing, on an engine of its own (disposed at the end)."""
    where = await build(backend, *SHOPS[which])
    engine = (
        make_engine(f"sqlite+aiosqlite:///{where}")
        if backend == "sqlite"
        else _postgres_engine(os.environ[POSTGRES_URL_ENV], where)
    )
    try:
        yield Database(backend, engine, make_session_factory(engine))
    finally:
        await engine.dispose()


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shop", choices=[*SHOPS, "all"], default="all", help="which shop (default: all)")
    p.add_argument("--backend", choices=["sqlite", "postgres"], help="one backend only (default: all available)")
    p.add_argument("--rebuild", action="store_true", help="build again even if it is already there")
    opts = p.parse_args()
    for backend in backends(opts.backend):
        for which in SHOPS if opts.shop == "all" else [opts.shop]:
            print(f"{backend} {which}: {await build(backend, *SHOPS[which], rebuild=opts.rebuild)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
