"""Product look-ups at 1,000 vs 100,000 products: search_products, get_by_sku, add_product.

The catalog is filled to 1,000 products, measured, filled to 100,000 (100×), measured again, on
SQLite and (with POS_TEST_POSTGRES_URL) PostgreSQL. Each figure is the median latency of one
call in its own transaction, as the bot runs it; medians over ``--reps`` rounds of ``--calls``
calls. Products are seeded with bulk INSERTs through the real schema (its triggers included):
seeding is not what is measured.

The ratio printed is latency at 100,000 / latency at 1,000. The goal (issue 17) is ≤ 3 for every
row: a look-up that reads an index does not care how many products there are.

* ``search_products`` (page 1 of 8, as the search screen asks for), case-insensitive substring
  match over name, category, SKU and barcode: a rare word (3 products at either size), a common
  word (~5% of the products: page one of its results, and the capped count), a word that matches
  nothing, and a SKU typed as search text. Served by a trigram index (FTS5 on SQLite, pg_trgm on
  PostgreSQL); a ratio approaching the row ratio (100) means it scans again.
* ``get_by_sku`` (a barcode scan, a SKU typed in another case): served by the unique indexes on
  the normalised code columns; the plan is printed at the end (EXPLAIN).
* ``add_product`` (rolled back, never committed): checks that the SKU and barcode are free.

    python -m benchmarks.bench_search [--reps 3] [--calls 5] [--backend sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, insert, select, text

from benchmarks._common import (
    Database,
    backends,
    database,
    machine,
    median,
    ms,
    now,
    parser,
    print_table,
    progress,
    ratio,
)
from db import catalog
from db.engine import transaction
from db.models import Category, Product

SIZES = (1_000, 100_000)
ADJECTIVES = ["Fresh", "Organic", "Classic", "Spicy", "Smoked", "Sweet", "Salted", "Frozen", "Mini", "Family"]
NOUNS = [
    "apple juice", "oat milk", "cheddar", "sourdough", "green tea", "espresso", "chocolate bar", "rice",
    "pasta", "olive oil", "tomatoes", "crisps", "yogurt", "butter", "honey", "granola", "salmon", "lentils",
    "coffee beans", "mineral water",
]  # fmt: skip
SIZES_TEXT = ["100 g", "250 g", "500 g", "1 kg", "1 L", "6 pack"]
CATEGORIES = ["Bakery", "Dairy", "Drinks", "Pantry", "Snacks", "Frozen", "Produce", "Household"]
RARE = {137, 555, 901}  # the only products named "Saffron …", at either size

# (label, search text, whether it finds something)
SEARCHES = [
    ("rare word (3 match)", "saffron", True),
    ("common word (~5% match)", "juice", True),
    ("no match", "zzqx", False),
    ("a SKU as text", "SKU000777", True),
]


def product_row(i: int, category_ids: list[int]) -> dict[str, Any]:
    rng = random.Random(i)
    noun = "saffron threads" if i in RARE else NOUNS[i % len(NOUNS)]
    return {
        "sku": f"SKU{i:06d}",
        "barcode": f"400{i:010d}" if i % 2 == 0 else None,
        "name": f"{rng.choice(ADJECTIVES)} {noun} {rng.choice(SIZES_TEXT)} #{i}",
        "category_id": category_ids[i % len(category_ids)],
        "price_minor": 50 + i % 5000,
        "stock": 0,
        "low_stock_threshold": None,
        "low_stock_alerted": False,
        "archived": i % 50 == 0,  # a few archived products, which search skips
    }


async def fill(db: Database, start: int, stop: int) -> None:
    async with transaction(db.factory) as session:
        category_ids = list(await session.scalars(select(Category.id).order_by(Category.id)))
        if not category_ids:
            for name in CATEGORIES:
                category_ids.append((await catalog.get_or_create_category(session, name=name)).id)
    batch = 5_000
    for lo in range(start, stop, batch):
        async with transaction(db.factory) as session:
            rows = [product_row(i, category_ids) for i in range(lo, min(stop, lo + batch))]
            await session.execute(insert(Product), rows)


async def settle(db: Database) -> None:
    """Fresh statistics, as a database that has been running has them: ANALYZE, and on PostgreSQL
    VACUUM too, which autovacuum runs after bulk inserts and which gives the GIN index the
    statistics the planner needs to choose it (built on an empty table, it has none)."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE" if db.backend == "sqlite" else "VACUUM ANALYZE"))


async def timed(db: Database, call: Callable[[Any, int], Awaitable[Any]], calls: int, reps: int) -> float:
    """Median over reps of the median latency of ``calls`` calls, each in its own transaction."""
    rounds = []
    for rep in range(reps):
        samples = []
        for k in range(calls):
            start = now()
            async with transaction(db.factory) as session:
                await call(session, rep * calls + k)
            samples.append(now() - start)
        rounds.append(median(samples))
    return median(rounds)


def sku_of(size: int) -> Callable[[int], str]:
    rng = random.Random(size)
    picks = [rng.randrange(1, size) for _ in range(1000)]
    return lambda k: f"sku{picks[k % len(picks)]:06d}"  # lower case on purpose: look-ups ignore case


def barcode_of(size: int) -> Callable[[int], str]:
    rng = random.Random(size + 1)
    picks = [2 * rng.randrange(1, size // 2) for _ in range(1000)]
    return lambda k: f"400{picks[k % len(picks)]:010d}"


class RolledBack(Exception):
    pass


async def add_product_rolled_back(db: Database, calls: int, reps: int) -> float:
    rounds = []
    for rep in range(reps):
        samples = []
        for k in range(calls):
            start = now()
            try:
                async with transaction(db.factory) as session:
                    await catalog.add_product(
                        session,
                        name=f"New thing {rep}-{k}",
                        price_minor=199,
                        sku=f"NEW-{rep}-{k}",
                        barcode=f"9{k:012d}",
                    )
                    samples.append(now() - start)
                    raise RolledBack
            except RolledBack:
                pass
        rounds.append(median(samples))
    return median(rounds)


async def measure(db: Database, size: int, calls: int, reps: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, query, finds in SEARCHES:

        async def search(session, _k, query=query, finds=finds):
            page = await catalog.search_products(session, text=query, page=1, per_page=8)
            assert bool(page.items) == finds, (query, page.total)

        out[f"search_products: {label}"] = await timed(db, search, calls, reps)
    skus, barcodes = sku_of(size), barcode_of(size)

    async def by_sku(session, k):
        await catalog.get_by_sku(session, sku=skus(k))

    async def by_barcode(session, k):
        await catalog.get_by_sku(session, sku=barcodes(k))

    out["get_by_sku: a SKU in another case"] = await timed(db, by_sku, calls * 3, reps)
    out["get_by_sku: a barcode"] = await timed(db, by_barcode, calls * 3, reps)
    out["add_product (rolled back)"] = await add_product_rolled_back(db, calls, reps)
    return out


async def plan_of(db: Database, call: Callable[[Any], Awaitable[Any]], marker: str) -> str:
    """The database's plan for the first statement ``call`` runs that contains ``marker``."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if marker in statement and not captured:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with transaction(db.factory) as session:
            await call(session)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    explain = "EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN "
    async with db.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
    if db.backend == "sqlite":
        return "; ".join(str(r[-1]) for r in rows)
    return "; ".join(str(r[0]).strip() for r in rows if "Scan" in str(r[0]) or "Index" in str(r[0]))


async def bench(backend: str, calls: int, reps: int) -> tuple[dict[int, dict[str, float]], dict[str, str]]:
    results: dict[int, dict[str, float]] = {}
    async with database(backend) as db:
        filled = 0
        for size in SIZES:
            done = progress(f"{backend}, filling to {size:,} products")
            await fill(db, filled + 1, size + 1)
            filled = size
            await settle(db)
            done()
            done = progress(f"{backend}, measuring at {size:,} products")
            results[size] = await measure(db, size, calls, reps)
            done()
        plans = {
            "get_by_sku": await plan_of(db, lambda s: catalog.get_by_sku(s, sku=sku_of(SIZES[-1])(0)), "FROM products"),
            "search (common word)": await plan_of(
                db, lambda s: catalog.search_products(s, text="juice", per_page=8), "ORDER BY"
            ),
        }
    return results, plans


async def main() -> int:
    args = parser(__doc__, reps=3)
    args.add_argument("--calls", type=int, default=5, help="calls per repetition (default 5; get_by_sku 3×)")
    opts = args.parse_args()
    small, large = SIZES
    print(machine())
    print(
        f"Product look-ups at {small:,} vs {large:,} products ({large // small}× the rows), medians of {opts.reps} reps"
    )
    plans = {}
    for backend in backends(opts.backend):
        results, plans[backend] = await bench(backend, opts.calls, opts.reps)
        print_table(
            f"{backend}: latency per call (median)",
            ["operation", f"{small:,}", f"{large:,}", "ratio"],
            [
                [name, ms(results[small][name]), ms(results[large][name]), f"{ratio(results[large][name], t):.2f}"]
                for name, t in results[small].items()
            ],
        )
    print(f"\nPlans at {large:,} products:")
    for backend, by_call in plans.items():
        for call, plan in by_call.items():
            print(f"  {backend}, {call}: {plan}")
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
