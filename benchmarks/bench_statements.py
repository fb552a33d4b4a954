"""Statements and transactions per sale: through db/ alone vs through the bot.

Counts, not times: what one sale asks of the database does not depend on how busy the machine is,
so this benchmark gives the same numbers on any machine, loaded or not.

One sale, the quickest at the counter (tests/chat/test_fast_sale.py): three products by code, card,
confirmed. Counted on the engine (SQLAlchemy's ``before_cursor_execute`` for statements, ``begin``
for transactions):

  db/ alone   what bench_checkout times: three ``carts.add_item`` transactions and one
              ``checkout.checkout`` transaction;
  the bot     the same sale as the cashier makes it: the production Application over the fake
              Telegram, each update stored in the inbox as polling stores a fetched batch (one
              update a batch, as at a till) and handed to the production update processor (the
              inbox check, marked done), i.e. the codes typed, Checkout, Card, Confirm: everything
              the bot does for those six updates (inbox, guard, handlers, dialogs).

Ratio
  bot / db    statements per sale through the bot over through db/ alone. Goal (issue 17) ≤ 1.5.
On SQLite it also counts the calls handed to a connection's thread, each a wait of ~0.1 ms for
threads to wake: SQLAlchemy's own aiosqlite adapter makes four per statement, db/sqlite_driver.py
one, and one per commit (its BEGIN goes with the first statement, no empty rollback crosses).
A regression is any new statement per update (a guard, a lookup repeated in a handler, a state
write): the table lists statements per update, so it says where.

    python -m benchmarks.bench_statements [--backend sqlite|postgres] [--show]
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import aiosqlite
from sqlalchemy import event
from telegram import Update

from benchmarks._common import Database, backends, bench_settings, database, machine, parser, print_table, ratio
from bot import inbox
from bot.testing.chat import FakeShop
from db import carts, catalog, checkout, staff
from db.engine import transaction
from db.models import PaymentMethod, Role
from db.settings import Settings

CASHIER_ID = 700_001
CODES = ("4006381333931", "96385074", "APL")  # two barcodes scanned, a SKU typed
CURRENCY = "USD"


class Counter:
    """Statements and transactions on an engine while ``active``; on SQLite also the calls handed
    to a connection's thread (aiosqlite runs each connection in a thread of its own)."""

    def __init__(self, db: Database) -> None:
        self.active = False
        self.statements: list[str] = []
        self.transactions = 0
        self.hand_overs = 0
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        if engine.dialect.name == "sqlite":
            self._count_hand_overs()

    def _count_hand_overs(self) -> None:
        hand_over = aiosqlite.Connection._execute
        counter = self

        async def counted(connection, fn, *args, **kwargs):
            if counter.active:
                counter.hand_overs += 1
            return await hand_over(connection, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # the benchmark's process only

    def _statement(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:
        # BEGIN is counted as a transaction (SQLite's driver sends it as a statement, asyncpg not).
        if self.active and not statement.lstrip().upper().startswith("BEGIN"):
            self.statements.append(" ".join(statement.split())[:110])

    def _begin(self, _conn) -> None:
        if self.active:
            self.transactions += 1

    def take(self) -> tuple[int, int, int, list[str]]:
        out = (len(self.statements), self.transactions, self.hand_overs, self.statements)
        self.statements, self.transactions, self.hand_overs = [], 0, 0
        return out


def settings() -> Settings:
    return bench_settings(currency=CURRENCY, timezone="Europe/Berlin", admin_id=1)


async def seed(db: Database) -> list[int]:
    async with transaction(db.factory) as session:
        await staff.add_staff(session, telegram_id=CASHIER_ID, role=Role.CASHIER, name="Bench Cashier")
        ids = []
        for i, code in enumerate(CODES):
            product = await catalog.add_product(
                session,
                name=f"Item {i}",
                price_minor=150 + 10 * i,
                stock=1_000_000,
                sku=code if code == "APL" else f"SKU{i}",
                barcode=None if code == "APL" else code,
            )
            ids.append(product.id)
    return ids


async def through_db(db: Database, counter: Counter, ids: list[int]) -> tuple[int, int, int, list[str]]:
    async with db.factory() as session:
        cashier = await staff.get_active_staff(session, telegram_id=CASHIER_ID)
    await _sell(db, cashier, ids)  # warm-up (not counted): the cart's row, the receipt counter's
    counter.active = True
    await _sell(db, cashier, ids)
    counter.active = False
    return counter.take()


async def _sell(db: Database, cashier, ids: list[int]) -> None:
    view = None
    for product_id in ids:
        async with transaction(db.factory) as session:
            view = await carts.add_item(session, chat_id=CASHIER_ID + 1, product_id=product_id, qty=1)
    async with transaction(db.factory) as session:
        await checkout.checkout(
            session,
            chat_id=CASHIER_ID + 1,
            expected_version=view.version,
            cashier=cashier,
            payment_method=PaymentMethod.CARD,
            currency=CURRENCY,
            default_low_stock_threshold=3,
        )


async def through_bot(
    db: Database, counter: Counter
) -> tuple[int, int, int, list[str], list[tuple[str, int, int]]]:
    per_update = []
    async with FakeShop(settings(), db.factory) as shop:
        app = shop.application
        processor = app.update_processor
        client = shop.client(CASHIER_ID, "Cal")
        # Warm-up sale (not counted): caches, the first dialog rows.
        sale = [("send", c) for c in CODES] + [("tap", "Checkout"), ("tap", "Card"), ("tap", "✅ Confirm sale")]

        async def through_processor(payload: dict[str, Any]) -> None:
            # As polling feeds it: the fetched batch (this update) committed to the inbox, then the
            # production update processor (per-chat order, the inbox check, marked done).
            await inbox.store(db.factory, [payload], processor.received)
            update = Update.de_json(payload, app.bot)
            await processor.process_update(update, app.process_update(update))

        client._process = through_processor

        async def step(kind: str, what: str) -> None:
            await (client.send(what) if kind == "send" else client.tap(what))

        for kind, what in sale:
            await step(kind, what)
        counter.active = True
        for kind, what in sale:
            before = len(counter.statements), counter.transactions
            await step(kind, what)
            per_update.append((f"{kind} {what}", len(counter.statements) - before[0], counter.transactions - before[1]))
        counter.active = False
        assert "Sale #" in client.text, client.text
    n, t, h, statements = counter.take()
    return n, t, h, statements, per_update


async def bench(backend: str, show: bool) -> dict[str, Any]:
    async with database(backend) as db:
        ids = await seed(db)
        counter = Counter(db)
        db_n, db_t, db_h, db_statements = await through_db(db, counter, ids)
        bot_n, bot_t, bot_h, bot_statements, per_update = await through_bot(db, counter)
    if show:
        for title, statements in (("db/", db_statements), ("bot", bot_statements)):
            print(f"\n{backend} {title}:")
            for s in statements:
                print("   ", s)
    hand_overs = (db_h, bot_h) if backend == "sqlite" else ("-", "-")
    return {"db": (db_n, db_t), "bot": (bot_n, bot_t), "hand_overs": hand_overs, "per_update": per_update}


async def main() -> int:
    logging.disable(logging.INFO)
    args = parser(__doc__, reps=1)
    args.add_argument("--show", action="store_true", help="print every statement")
    opts = args.parse_args()
    print(machine())
    rows, detail = [], []
    for backend in backends(opts.backend):
        r = await bench(backend, opts.show)
        (db_n, db_t), (bot_n, bot_t) = r["db"], r["bot"]
        rows.append([backend, db_n, db_t, bot_n, bot_t, f"{ratio(bot_n, db_n):.2f}", *r["hand_overs"]])
        detail += [[backend, name, n, t] for name, n, t in r["per_update"]]
    print_table(
        "One sale (3 items by code, card): statements and transactions",
        [
            "backend",
            "db/ statements",
            "db/ transactions",
            "bot statements",
            "bot transactions",
            "bot/db statements",
            "db/ thread hand-overs",
            "bot thread hand-overs",
        ],
        rows,
    )
    print_table("Through the bot, per update", ["backend", "update", "statements", "transactions"], detail)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
