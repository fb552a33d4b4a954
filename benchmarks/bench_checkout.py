"""Checkout throughput: sales per second, one chat at a time vs 8 chats at once.

One sale is what a cashier's taps cost the database: three ``carts.add_item`` transactions
(three products, 1-3 units each) and one ``checkout.checkout`` transaction at the cart's version,
each in its own transaction as the bot runs them. The same number of sales is rung up

* sequentially: one chat, one sale after the other;
* concurrently: 8 chats, each ringing up its share at the same time (asyncio.gather),
  drawing from the same 60 products, so some sales contend for the same rows.

on SQLite (file, production settings: WAL, synchronous=FULL, BEGIN IMMEDIATE) and, when
POS_TEST_POSTGRES_URL is set, on PostgreSQL (a throwaway schema). Sequential and concurrent runs
alternate, several repetitions each; the table shows medians.

Ratios
  concurrent/sequential  > 1: 8 chats together get more sales through than one chat alone.
                         ~ 1: the database serialises writers (SQLite's single write lock) but
                              waiting costs nothing extra.
                         < 1: concurrency costs throughput (lock waits, retries). On SQLite a
                              drop well below ~0.8 means writers are sleeping in the busy
                              handler instead of being handed the lock.
  PostgreSQL/SQLite      sales/s of PostgreSQL over SQLite in the same mode (context, not a goal).
  db/ ÷ driver           one chat through db/ over the same writes with the bare driver
                         (benchmarks/raw_sale.py). Goal (issue 17): ≥ 0.25 SQLite, ≥ 0.5 PostgreSQL.
  SQLite: ÷ adapter      one chat through db/ (db/sqlite_driver.py: one hand-over to the
                         connection's thread a statement) over the same through SQLAlchemy's own
                         aiosqlite adapter (four a statement). A fall to ~1 means the driver is
                         no longer in use.

A regression is concurrent/sequential falling clearly below the numbers in docs/benchmarks.md on
the same machine (e.g. a transaction that now holds the SQLite write lock while awaiting
something slow, or a lock order that makes PostgreSQL transactions wait for each other).

After the runs the benchmark checks what must hold whatever the speed, and exits 1 if not:
the stock ledger is clean (db.ledger.check_ledger), no stock is negative, every sale was
recorded once, units sold equal the stock taken; and a last-units race (8 chats buying 2 of a
product with 5 in stock at once) sells exactly 2 carts' worth and refuses the rest.

    python -m benchmarks.bench_checkout [--sales 64] [--reps 3] [--backend sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys

from sqlalchemy import func, select

from benchmarks._common import (
    POSTGRES_URL_ENV,
    Database,
    backends,
    database,
    machine,
    median,
    now,
    parser,
    print_table,
    progress,
    ratio,
)
from benchmarks.raw_sale import PostgresSales, SqliteSales
from db import carts, catalog, checkout, ledger, staff
from db.engine import make_engine, make_session_factory, transaction
from db.errors import OutOfStock
from db.models import PaymentMethod, Product, Role, Sale, SaleLine, Staff

CHATS = 8
PRODUCTS = 60
LINES = 3
INITIAL_STOCK = 1_000_000
CURRENCY = "USD"
THRESHOLD = 5


async def seed(db: Database) -> tuple[Staff, list[int]]:
    async with transaction(db.factory) as session:
        cashier = await staff.add_staff(session, telegram_id=700_001, role=Role.CASHIER, name="Bench Cashier")
        ids = []
        for i in range(PRODUCTS):
            product = await catalog.add_product(
                session, name=f"Item {i:03d}", price_minor=100 + 7 * i, stock=INITIAL_STOCK, category=f"Aisle {i % 6}"
            )
            ids.append(product.id)
    return cashier, ids


async def ring_up(db: Database, *, chat_id: int, cashier: Staff, product_ids: list[int], rng: random.Random) -> None:
    """One sale: three add_item transactions, then checkout at the cart's version."""
    view = None
    for product_id in rng.sample(product_ids, LINES):
        async with transaction(db.factory) as session:
            view = await carts.add_item(session, chat_id=chat_id, product_id=product_id, qty=rng.randint(1, 3))
    assert view is not None
    async with transaction(db.factory) as session:
        result = await checkout.checkout(
            session,
            chat_id=chat_id,
            expected_version=view.version,
            cashier=cashier,
            payment_method=PaymentMethod.CARD,
            tendered_minor=None,
            currency=CURRENCY,
            default_low_stock_threshold=THRESHOLD,
        )
    assert not result.already_recorded


async def chat_session(db: Database, chat_id: int, n: int, cashier: Staff, ids: list[int], seed_: int) -> None:
    rng = random.Random(seed_)
    for _ in range(n):
        await ring_up(db, chat_id=chat_id, cashier=cashier, product_ids=ids, rng=rng)


async def sequential(db: Database, sales: int, cashier: Staff, ids: list[int], rep: int) -> float:
    start = now()
    await chat_session(db, 800_000, sales, cashier, ids, seed_=rep)
    return now() - start


async def adapter_sales(db: Database, sales: int, cashier: Staff, ids: list[int], rep: int) -> float:
    """Sequential sales in a chat of their own (through SQLAlchemy's aiosqlite adapter)."""
    start = now()
    await chat_session(db, 799_999, sales, cashier, ids, seed_=rep)
    return now() - start


async def concurrent(db: Database, sales: int, cashier: Staff, ids: list[int], rep: int) -> float:
    share = sales // CHATS
    start = now()
    await asyncio.gather(
        *(chat_session(db, 800_001 + c, share, cashier, ids, seed_=1000 * rep + c) for c in range(CHATS))
    )
    return now() - start


async def last_units_race(db: Database, cashier: Staff) -> tuple[int, int, int]:
    """8 chats each hold 2 of a product with 5 in stock and check out at once: (sold, refused, stock)."""
    async with transaction(db.factory) as session:
        product = await catalog.add_product(session, name="Last units", price_minor=999, stock=5)
    versions = {}
    for c in range(CHATS):
        async with transaction(db.factory) as session:
            view = await carts.add_item(session, chat_id=900_000 + c, product_id=product.id, qty=2)
            versions[900_000 + c] = view.version

    async def attempt(chat_id: int) -> bool:
        try:
            async with transaction(db.factory) as session:
                await checkout.checkout(
                    session,
                    chat_id=chat_id,
                    expected_version=versions[chat_id],
                    cashier=cashier,
                    payment_method=PaymentMethod.CASH,
                    tendered_minor=2000,
                    currency=CURRENCY,
                    default_low_stock_threshold=THRESHOLD,
                )
            return True
        except OutOfStock:
            return False

    results = await asyncio.gather(*(attempt(chat_id) for chat_id in versions))
    async with db.factory() as session:
        stock = (await catalog.get_product(session, product_id=product.id)).stock
    return sum(results), results.count(False), stock


async def verify(db: Database, cashier: Staff, expected_sales: int) -> list[tuple[str, str, bool]]:
    async with db.factory() as session:
        problems = await ledger.check_ledger(session)
        min_stock = await session.scalar(select(func.min(Product.stock)))
        sales = await session.scalar(select(func.count(Sale.id)))
        units = await session.scalar(select(func.coalesce(func.sum(SaleLine.quantity), 0)))
        taken = await session.scalar(select(func.sum(INITIAL_STOCK - Product.stock)))
    sold, refused, stock = await last_units_race(db, cashier)
    return [
        ("stock ledger (check_ledger)", "clean" if not problems else f"{len(problems)} mismatches", not problems),
        ("lowest stock", str(min_stock), min_stock is not None and min_stock >= 0),
        ("sales recorded", f"{sales} of {expected_sales}", sales == expected_sales),
        ("units sold = stock taken", f"{units} = {taken}", units == taken),
        (
            "last-units race (5 in stock, 8×2)",
            f"{sold} sold, {refused} refused, stock {stock}",
            (sold, stock) == (2, 1),
        ),
    ]


class Raw:
    """The same sales with the bare driver (benchmarks/raw_sale.py), one chat, on the same database."""

    CHAT = 850_000

    def __init__(self, db: Database, driver, cart_id: int, version: int) -> None:
        self.db, self.driver, self.cart_id, self.version = db, driver, cart_id, version

    @classmethod
    async def open(cls, db: Database) -> Raw:
        async with transaction(db.factory) as session:
            cart = await carts.get_or_create_cart(session, chat_id=cls.CHAT)
        if db.backend == "sqlite":
            driver = SqliteSales(db.where)
        else:
            driver = await PostgresSales.connect(os.environ[POSTGRES_URL_ENV], db.where)
        return cls(db, driver, cart.id, cart.version)

    async def run(self, sales: int, cashier: Staff, ids: list[int], rep: int) -> float:
        rng = random.Random(rep)
        sqlite = self.db.backend == "sqlite"
        start = now()
        for n in range(sales):
            for product_id in rng.sample(ids, LINES):
                qty = rng.randint(1, 3)
                if sqlite:
                    self.driver.add(self.cart_id, product_id, qty)
                else:
                    await self.driver.add(self.cart_id, product_id, qty)
                self.version += 1
            key = f"raw:{rep}:{n}:{self.version}"
            args = (self.cart_id, self.version, cashier.id, self.CHAT, key)
            if sqlite:
                self.driver.checkout(*args)
            else:
                await self.driver.checkout(*args)
            self.version += 1
        return now() - start

    async def close(self) -> None:
        if self.db.backend == "sqlite":
            self.driver.close()
        else:
            await self.driver.close()


async def bench(backend: str, sales: int, reps: int) -> dict[str, object]:
    async with database(backend) as db:
        cashier, ids = await seed(db)
        raw = await Raw.open(db)
        # SQLite: the same sales through db/ over SQLAlchemy's own aiosqlite adapter, on the same file.
        adapter = None
        if backend == "sqlite":
            engine = make_engine(f"sqlite+aiosqlite:///{db.where}", sqlite_one_hand_over=False)
            adapter = Database(backend, engine, make_session_factory(engine), db.where)
        try:
            # Warm-up (not timed): pool connections, statement caches.
            await sequential(db, CHATS, cashier, ids, rep=-1)
            await concurrent(db, CHATS, cashier, ids, rep=-1)
            await raw.run(CHATS, cashier, ids, rep=-1)
            total = 3 * CHATS
            if adapter is not None:
                await adapter_sales(adapter, CHATS, cashier, ids, rep=-1)
                total += CHATS
            seq, conc, bare, stock = [], [], [], []
            for rep in range(reps):
                done = progress(f"{backend} repetition {rep + 1}/{reps}")
                runs = [
                    (seq, lambda rep=rep: sequential(db, sales, cashier, ids, rep)),
                    (conc, lambda rep=rep: concurrent(db, sales, cashier, ids, rep)),
                    (bare, lambda rep=rep: raw.run(sales, cashier, ids, rep)),
                ]
                if adapter is not None:
                    runs.append((stock, lambda rep=rep: adapter_sales(adapter, sales, cashier, ids, rep)))
                turn = rep % len(runs)
                for into, run in runs[turn:] + runs[:turn]:  # rotate: load hits each alike
                    into.append(sales / await run())
                    total += sales
                done()
        finally:
            await raw.close()
            if adapter is not None:
                await adapter.engine.dispose()
        checks = await verify(db, cashier, total)
    return {
        "seq": median(seq),
        "conc": median(conc),
        "raw": median(bare),
        "adapter": median(stock) if stock else None,
        "seq_all": seq,
        "conc_all": conc,
        "raw_all": bare,
        "checks": checks,
    }


async def main() -> int:
    args = parser(__doc__, reps=3)
    args.add_argument("--sales", type=int, default=64, help="sales per run, a multiple of 8 (default 64)")
    opts = args.parse_args()
    sales = max(CHATS, opts.sales // CHATS * CHATS)
    print(machine())
    print(f"Checkout throughput: {sales} sales of {LINES} lines per run, sequential vs {CHATS} chats, {opts.reps} reps")
    results = {}
    for backend in backends(opts.backend):
        results[backend] = await bench(backend, sales, opts.reps)

    rows = []
    for backend, r in results.items():
        spread = ", ".join(f"{x:.0f}" for x in r["seq_all"]) + " | " + ", ".join(f"{x:.0f}" for x in r["conc_all"])
        rows.append([backend, f"{r['seq']:.1f}", f"{r['conc']:.1f}", f"{ratio(r['conc'], r['seq']):.2f}", spread])
    print_table(
        "Sales per second (median)",
        ["backend", "sequential", f"{CHATS} chats", "concurrent/sequential", "all runs (seq | conc)"],
        rows,
    )
    print_table(
        "One chat: a full sale through db/ vs the same writes with the bare driver (benchmarks/raw_sale.py)",
        ["backend", "db/ sales/s", "bare driver sales/s", "db/ ÷ driver (goal ≥0.25 SQLite, ≥0.5 PG)", "runs"],
        [
            [
                backend,
                f"{r['seq']:.1f}",
                f"{r['raw']:.1f}",
                f"{ratio(r['seq'], r['raw']):.2f}",
                ", ".join(f"{x:.0f}" for x in r["raw_all"]),
            ]
            for backend, r in results.items()
        ],
    )
    if results.get("sqlite", {}).get("adapter"):
        lite = results["sqlite"]
        print_table(
            "SQLite, one chat: db/ over db/sqlite_driver.py (one hand-over to the connection's thread a "
            "statement) vs over SQLAlchemy's own aiosqlite adapter (four)",
            ["backend", "db/ sales/s", "with SQLAlchemy's adapter", "ratio"],
            [["sqlite", f"{lite['seq']:.1f}", f"{lite['adapter']:.1f}", f"{ratio(lite['seq'], lite['adapter']):.2f}"]],
        )
    if "postgres" in results and "sqlite" in results:
        pg, lite = results["postgres"], results["sqlite"]
        print_table(
            "PostgreSQL / SQLite",
            ["mode", "ratio"],
            [
                ["sequential", f"{ratio(pg['seq'], lite['seq']):.2f}"],
                [f"{CHATS} chats", f"{ratio(pg['conc'], lite['conc']):.2f}"],
            ],
        )

    ok = True
    check_rows = []
    for backend, r in results.items():
        for name, value, passed in r["checks"]:
            check_rows.append([backend, name, value, "ok" if passed else "FAILED"])
            ok &= passed
    print_table("Correctness after the runs", ["backend", "check", "value", "result"], check_rows)
    print(f"\n{machine()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
