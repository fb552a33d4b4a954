"""Monthly sales report with 2,000 vs 20,000 sales: time and peak Python memory.

``db.reports.sales_summary`` for one month (March 2025 in Europe/Berlin, a month with a DST
change) is run over a store with 2,000 sales in that month, then over a store with 20,000 (10×),
on SQLite and (with POS_TEST_POSTGRES_URL) PostgreSQL. 10% more sales fall in the month before
and one in 25 is refunded, so the filters do real work; sales are numbered in time order, as
checkout numbers them. Sales average 3
lines over 200 products and 4 cashiers. Staff and products are added with the db functions;
sales and their lines are bulk INSERTed with the shape checkout writes (ringing up 22,000 sales
one by one would take minutes and is what bench_checkout measures).

For contrast, a naive baseline loads every sale line of the month into Python (as plain row
tuples, the cheapest way) and computes the same figures (count, revenue, units, per product,
payment method, cashier and local day) in Python. Its totals are checked against
sales_summary's, so the comparison is fair.

Measured: wall time (median of ``--reps`` runs, ``--reps // 2`` for the slow baseline, without
tracing) and peak traced Python memory (tracemalloc, separate runs: median of 3 for
sales_summary, one for the baseline; it counts everything Python allocates during the call,
driver threads included: rows, objects, result lists).

Ratios
  time 20k/2k      sales_summary: grows with rows scanned in SQL; below 10 is expected
                   (fixed costs), about 10 is linear. The naive baseline grows at least as fast.
  memory 20k/2k    sales_summary: ~1, because aggregation runs in SQL and Python only receives
                   the handful of grouped rows (a month of days, top products, methods, cashiers).
                   A regression is this ratio climbing towards 10: some part of the summary now
                   pulls rows into Python. The naive baseline shows what that looks like (~10).
  naive/SQL at 20k how much more memory (and time) the load-everything approach needs.

    python -m benchmarks.bench_report [--reps 5] [--backend sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text

from benchmarks._common import (
    Database,
    backends,
    database,
    machine,
    median,
    mib,
    ms,
    now,
    parser,
    print_table,
    progress,
    ratio,
)
from db import catalog, reports, staff
from db.engine import transaction
from db.models import PaymentMethod, Product, Role, Sale, SaleLine, SaleStatus
from db.periods import Period, period_for_days

TZ = ZoneInfo("Europe/Berlin")
MONTH = period_for_days(date(2025, 3, 1), date(2025, 3, 31), TZ, "March 2025")
SIZES = (2_000, 20_000)
PRODUCTS = 200
CASHIERS = 4


@dataclass
class Store:
    cashier_ids: list[int]
    products: list[tuple[int, str, str, int]]  # id, name, sku, price


async def seed_store(db: Database) -> Store:
    async with transaction(db.factory) as session:
        cashiers = [
            await staff.add_staff(session, telegram_id=600_000 + i, role=Role.CASHIER, name=f"Cashier {i}")
            for i in range(CASHIERS)
        ]
        products = []
        for i in range(PRODUCTS):
            p = await catalog.add_product(session, name=f"Product {i:03d}", price_minor=99 + 13 * i, stock=0)
            products.append((p.id, p.name, p.sku, p.price_minor))
    return Store([c.id for c in cashiers], products)


async def add_sales(db: Database, store: Store, *, first_id: int, count: int, period: Period) -> None:
    """``count`` sales spread over ``period``, ids from ``first_id`` in time order as checkout
    would number them; one in 25 refunded."""
    rng = random.Random(first_id)
    span = (period.end - period.start).total_seconds()
    times = sorted(period.start + timedelta(seconds=rng.uniform(0, span - 1)) for _ in range(count))
    sales, lines = [], []
    for sale_id, created in enumerate(times, start=first_id):
        picked = rng.sample(store.products, rng.randint(1, 5))
        total = 0
        for product_id, name, sku, price in picked:
            qty = rng.randint(1, 4)
            total += price * qty
            lines.append(
                {
                    "sale_id": sale_id,
                    "product_id": product_id,
                    "product_name": name,
                    "sku": sku,
                    "unit_price_minor": price,
                    "quantity": qty,
                    "line_total_minor": price * qty,
                }
            )
        refunded = sale_id % 25 == 0
        sales.append(
            {
                "id": sale_id,
                "created_at": created,
                "cashier_id": rng.choice(store.cashier_ids),
                "customer_id": None,
                "chat_id": 1,
                "payment_method": rng.choice(list(PaymentMethod)),
                "currency": "USD",
                "total_minor": total,
                "tendered_minor": None,
                "change_minor": None,
                "status": SaleStatus.REFUNDED if refunded else SaleStatus.COMPLETED,
                "refunded_at": created + timedelta(hours=1) if refunded else None,
                "refunded_by_id": None,
                "idempotency_key": f"bench-{sale_id}",
            }
        )
    async with transaction(db.factory) as session:
        for lo in range(0, len(sales), 2_000):
            await session.execute(insert(Sale), sales[lo : lo + 2_000])
        for lo in range(0, len(lines), 6_000):
            await session.execute(insert(SaleLine), lines[lo : lo + 6_000])
    if db.backend == "postgres":  # explicit ids: move the sequence past them
        async with db.engine.begin() as conn:
            await conn.execute(
                text("SELECT setval(pg_get_serial_sequence('sales', 'id'), (SELECT max(id) FROM sales))")
            )


# --- the two ways to get the figures -----------------------------------------------------------


async def sql_summary(db: Database) -> tuple[int, int, int]:
    async with transaction(db.factory) as session:
        s = await reports.sales_summary(session, period=MONTH, tz=TZ)
    return s.sales_count, s.revenue_minor, s.units_sold


async def naive_summary(db: Database) -> tuple[int, int, int]:
    """Load every sale line of the month into Python and aggregate there (the thing not to do).

    Plain row tuples, not ORM objects: the cheapest way to do it in Python, so the baseline is
    not a straw man.
    """
    async with transaction(db.factory) as session:
        rows = (
            await session.execute(
                select(
                    Sale.id,
                    Sale.created_at,
                    Sale.cashier_id,
                    Sale.payment_method,
                    Sale.total_minor,
                    SaleLine.product_id,
                    SaleLine.quantity,
                    SaleLine.line_total_minor,
                )
                .join(Sale, Sale.id == SaleLine.sale_id)
                .where(Sale.status == SaleStatus.COMPLETED, Sale.created_at >= MONTH.start, Sale.created_at < MONTH.end)
            )
        ).all()
        names = dict((await session.execute(select(Product.id, Product.name))).all())
    totals: dict[int, int] = {}
    units = 0
    per_product: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    sales_per_product: dict[int, set[int]] = defaultdict(set)
    by_method: Counter[str] = Counter()
    by_cashier: Counter[int] = Counter()
    by_day: Counter[date] = Counter()
    for sale_id, created_at, cashier_id, method, total, product_id, qty, line_total in rows:
        if sale_id not in totals:
            totals[sale_id] = total
            by_method[method] += total
            by_cashier[cashier_id] += total
            by_day[created_at.astimezone(TZ).date()] += total
        units += qty
        per_product[product_id][0] += qty
        per_product[product_id][1] += line_total
        sales_per_product[product_id].add(sale_id)
    revenue = sum(totals.values())
    best = sorted(per_product, key=lambda pid: (-len(sales_per_product[pid]), names[pid]))[:5]
    assert len(best) <= 5 and sum(by_method.values()) == revenue == sum(by_day.values()) == sum(by_cashier.values())
    return len(totals), revenue, units


# --- measuring ---------------------------------------------------------------------------------


async def wall_time(call, db: Database, reps: int) -> tuple[float, tuple[int, int, int]]:
    """Median wall time over reps, and what the call returned."""
    samples, result = [], None
    for _ in range(reps):
        start = now()
        result = await call(db)
        samples.append(now() - start)
    assert result is not None
    return median(samples), result


async def peak_memory(call, db: Database, reps: int) -> float:
    """Median over reps of the peak traced memory during one call, above what was live before."""
    samples = []
    for _ in range(reps):
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            await call(db)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        samples.append(peak - before)
    return median(samples)


async def bench(backend: str, reps: int) -> dict[int, dict[str, float]]:
    results: dict[int, dict[str, float]] = {}
    february = period_for_days(date(2025, 2, 1), date(2025, 2, 28), TZ)
    for size in SIZES:
        # A fresh store per size, sales numbered in time order as in a real store: 10% of them in
        # February, which every query must skip, then the month.
        async with database(backend) as db:
            done = progress(f"{backend}: {size:,} sales in the month")
            store = await seed_store(db)
            await add_sales(db, store, first_id=1, count=size // 10, period=february)
            await add_sales(db, store, first_id=size // 10 + 1, count=size, period=MONTH)
            async with db.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
            await sql_summary(db)  # warm-up
            sql_time, sql = await wall_time(sql_summary, db, reps)
            # The baseline is slow by design: fewer runs, and memory once (it is deterministic).
            naive_time, naive = await wall_time(naive_summary, db, max(1, reps // 2))
            if sql != naive:
                raise SystemExit(f"naive baseline disagrees with sales_summary: {naive} != {sql}")
            results[size] = {
                "sql_time": sql_time,
                "naive_time": naive_time,
                "sql_mem": await peak_memory(sql_summary, db, 3),
                "naive_mem": await peak_memory(naive_summary, db, 1),
                "completed": sql[0],
            }
            done()
    return results


async def main() -> int:
    opts = parser(__doc__, reps=5).parse_args()
    small, large = SIZES
    print(machine())
    print(f"sales_summary for {MONTH.label} ({TZ.key}): {small:,} vs {large:,} sales, medians of {opts.reps} reps")
    for backend in backends(opts.backend):
        r = await bench(backend, opts.reps)
        print_table(
            f"{backend}: sales_summary (aggregates in SQL) vs naive (all lines into Python)",
            ["measure", f"{small:,} sales", f"{large:,} sales", f"{large // small}× rows ratio"],
            [
                [
                    "sales_summary time",
                    ms(r[small]["sql_time"]),
                    ms(r[large]["sql_time"]),
                    f"{ratio(r[large]['sql_time'], r[small]['sql_time']):.2f}",
                ],
                [
                    "sales_summary peak memory",
                    mib(r[small]["sql_mem"]),
                    mib(r[large]["sql_mem"]),
                    f"{ratio(r[large]['sql_mem'], r[small]['sql_mem']):.2f}",
                ],
                [
                    "naive time",
                    ms(r[small]["naive_time"]),
                    ms(r[large]["naive_time"]),
                    f"{ratio(r[large]['naive_time'], r[small]['naive_time']):.2f}",
                ],
                [
                    "naive peak memory",
                    mib(r[small]["naive_mem"]),
                    mib(r[large]["naive_mem"]),
                    f"{ratio(r[large]['naive_mem'], r[small]['naive_mem']):.2f}",
                ],
            ],
        )
        print(
            f"  at {large:,} sales: naive/SQL memory {ratio(r[large]['naive_mem'], r[large]['sql_mem']):.1f}×, "
            f"naive/SQL time {ratio(r[large]['naive_time'], r[large]['sql_time']):.1f}× "
            f"({r[large]['completed']:,} completed sales in the month; totals agree)"
        )
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
