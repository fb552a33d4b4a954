"""Product lookup latency at 1,000 vs 20,000 products: search_products, get_by_sku, add_product.

The catalog is filled to 1,000 products, measured, filled to 20,000 (20×), measured again, on
SQLite and (with POS_TEST_POSTGRES_URL) PostgreSQL. Each figure is the median latency of one
call in its own transaction, as the bot runs it; medians over ``--reps`` rounds of ``--calls``
calls. Products are seeded with bulk INSERTs (seeding is not what is measured, and add_product
itself slows down with catalog size, see below).

What is measured and what the ratio (latency at 20,000 / latency at 1,000) means:

* ``search_products`` (page 1 of 8, as the /find screen asks for): a case-insensitive
  substring match (``LIKE '%text%'`` on lower(...) in SQLite, ``ILIKE`` in PostgreSQL) over
  name, category, SKU and barcode. No B-tree index can serve a leading-wildcard substring, so
  this is a full scan of the products: expect the ratio to approach the row ratio (20) as scan
  time dominates fixed per-call costs. It is not a regression for it to be large; a regression
  is the ratio going well beyond 20 (30 or more: worse than linear, e.g. rows sorted or filtered
  in Python, or a query per row), or the 20,000 latency becoming too slow for a chat (hundreds
  of ms on an idle machine). The remedy when catalogs get that big is a trigram index
  (pg_trgm) on PostgreSQL or FTS5 on SQLite, not a code tweak.
* ``get_by_sku`` (an exact SKU or barcode, ignoring case, as a barcode scan or /sku does):
  the ideal is a ratio near 1 (an index lookup does not care how many rows there are). The
  query compares ``lower(sku)`` and ``lower(barcode)``; the unique indexes are on ``sku`` and
  ``barcode`` themselves, so whether an index is used is printed from the database's own plan
  (EXPLAIN) at the end. A ratio well above ~2 together with a SCAN / Seq Scan plan means the
  lookup scans the table (as of this writing it does; see docs/benchmarks.md).
* ``add_product`` (rolled back, never committed): checks the SKU and barcode are free with the
  same ``lower(...)`` comparison, so it shows the same scaling as get_by_sku.

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

SIZES = (1_000, 20_000)
ADJECTIVES = ["Fresh", "Organic", "Classic", "Spicy", "Smoked", "Sweet", "Salted", "Frozen", "Mini", "Family"]
NOUNS = [
    "apple juice", "oat milk", "cheddar", "sourdough", "green tea", "espresso", "chocolate bar", "rice",
    "pasta", "olive oil", "tomatoes", "crisps", "yogurt", "butter", "honey", "granola", "salmon", "lentils",
    "coffee beans", "mineral water",
]  # fmt: skip
SIZES_TEXT = ["100 g", "250 g", "500 g", "1 kg", "1 L", "6 pack"]
CATEGORIES = ["Bakery", "Dairy", "Drinks", "Pantry", "Snacks", "Frozen", "Produce", "Household"]

# (label, search text): a common word (~5% of products), a word that matches nothing (the whole
# table is read and nothing sorted), and a SKU typed into search (an exact match sorted first).
SEARCHES = [("word, ~5% match", "juice"), ("no match", "zzqx"), ("a SKU as text", "SKU000777")]


def product_row(i: int, category_ids: list[int]) -> dict[str, Any]:
    rng = random.Random(i)
    return {
        "sku": f"SKU{i:06d}",
        "barcode": f"400{i:010d}" if i % 2 == 0 else None,
        "name": f"{rng.choice(ADJECTIVES)} {NOUNS[i % len(NOUNS)]} {rng.choice(SIZES_TEXT)} #{i}",
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
        batch = 2_000
        for lo in range(start, stop, batch):
            rows = [product_row(i, category_ids) for i in range(lo, min(stop, lo + batch))]
            await session.execute(insert(Product), rows)


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
    return lambda k: f"sku{picks[k % len(picks)]:06d}"  # lower case on purpose: lookups ignore case


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
    for label, query in SEARCHES:

        async def search(session, _k, query=query):
            page = await catalog.search_products(session, text=query, page=1, per_page=8)
            assert page.items or query == "zzqx"

        out[f"search_products: {label}"] = await timed(db, search, calls, reps)
    skus, barcodes = sku_of(size), barcode_of(size)

    async def by_sku(session, k):
        await catalog.get_by_sku(session, sku=skus(k))

    async def by_barcode(session, k):
        await catalog.get_by_sku(session, sku=barcodes(k))

    out["get_by_sku: a SKU"] = await timed(db, by_sku, calls * 3, reps)
    out["get_by_sku: a barcode"] = await timed(db, by_barcode, calls * 3, reps)
    out["add_product (rolled back)"] = await add_product_rolled_back(db, calls, reps)
    return out


async def sku_plan(db: Database, size: int) -> str:
    """The database's plan for the statement get_by_sku runs."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM products" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with transaction(db.factory) as session:
            await catalog.get_by_sku(session, sku=sku_of(size)(0))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    explain = "EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN "
    async with db.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
    if db.backend == "sqlite":
        return "; ".join(str(r[-1]) for r in rows)
    return "; ".join(str(r[0]).strip() for r in rows if "Scan" in str(r[0]) or "Index" in str(r[0]))


async def bench(backend: str, calls: int, reps: int) -> tuple[dict[int, dict[str, float]], str]:
    results: dict[int, dict[str, float]] = {}
    async with database(backend) as db:
        filled = 0
        for size in SIZES:
            await fill(db, filled + 1, size + 1)
            filled = size
            async with db.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
            done = progress(f"{backend}, {size:,} products")
            results[size] = await measure(db, size, calls, reps)
            done()
        plan = await sku_plan(db, SIZES[-1])
    return results, plan


async def main() -> int:
    args = parser(__doc__, reps=3)
    args.add_argument("--calls", type=int, default=5, help="calls per repetition (default 5; get_by_sku 3×)")
    opts = args.parse_args()
    small, large = SIZES
    print(machine())
    print(
        f"Product lookups at {small:,} vs {large:,} products ({large // small}× the rows), medians of {opts.reps} reps"
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
    print("\nPlan of the get_by_sku statement at 20,000 products:")
    for backend, plan in plans.items():
        print(f"  {backend}: {plan}")
    print(f"\n{machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
