"""The floor for bench_checkout: the same sale written with the bare driver (sqlite3, asyncpg).

What one sale must do to the database, and nothing else: three add-to-cart transactions (read the
product and the cart's line, write the line, bump the cart's version) and one checkout transaction
(claim the cart's version, read its lines with their prices, take the stock with conditional
UPDATEs returning what a low-stock check needs, claim the receipt number, insert the sale, its
payment, its lines and its stock movements, empty the cart). Same tables (the real schema), same
durability as production (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: its
defaults, one transaction each). No ORM, no pricing rules, no views, no validation beyond the
conditional stock UPDATE: it is what the database itself costs, the floor the ORM path is
compared with. Rows are valid for the ORM (the ledger check reads them).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import asyncpg

CART_SQL = {
    "line": (
        "SELECT cart_lines.id, cart_lines.quantity, products.stock, products.archived FROM products "
        "LEFT JOIN cart_lines ON cart_lines.product_id = products.id AND cart_lines.cart_id = {0} "
        "WHERE products.id = {1}"
    ),
    "insert_line": "INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ({0}, {1}, {2})",
    "update_line": "UPDATE cart_lines SET quantity = {1} WHERE id = {0}",
    "bump": "UPDATE carts SET version = version + 1, updated_at = {1} WHERE id = {0}",
    "claim": (
        "UPDATE carts SET version = version + 1, customer_id = NULL, updated_at = {2} WHERE id = {0} AND version = {1}"
    ),
    "lines": (
        "SELECT cart_lines.product_id, cart_lines.quantity, products.name, products.sku, products.price_minor "
        "FROM cart_lines JOIN products ON products.id = cart_lines.product_id "
        "WHERE cart_lines.cart_id = {0} ORDER BY cart_lines.id"
    ),
    "take": (
        "UPDATE products SET stock = stock - {1}, updated_at = {2} "
        "WHERE id = {0} AND stock >= {1} AND archived = {3} "
        "RETURNING stock, low_stock_threshold, low_stock_alerted"
    ),
    "number": "UPDATE counters SET value = value + 1 WHERE name = 'receipt' RETURNING value",
    "sale": (
        "INSERT INTO sales (number, created_at, cashier_id, customer_id, chat_id, payment_method, currency, "
        "total_minor, gross_minor, discount_minor, tax_minor, prices_include_tax, refunded_minor, tendered_minor, "
        "change_minor, status, idempotency_key) VALUES ({0}, {1}, {2}, NULL, {3}, 'card', 'USD', {4}, {4}, 0, 0, "
        "{5}, 0, NULL, NULL, 'completed', {6}) RETURNING id"
    ),
    "payment": (
        "INSERT INTO payments (sale_id, method, amount_minor, tendered_minor, change_minor, created_at) "
        "VALUES ({0}, 'card', {1}, NULL, NULL, {2})"
    ),
    "sale_line": (
        "INSERT INTO sale_lines (sale_id, product_id, product_name, sku, unit_price_minor, quantity, "
        "line_total_minor, line_discount_minor, cart_discount_minor, tax_name, tax_rate_bp, tax_minor, "
        "refunded_quantity) VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, 0, 0, '', 0, 0, 0)"
    ),
    "movement": (
        "INSERT INTO stock_movements (product_id, quantity, reason, sale_id, staff_id, note, created_at) "
        "VALUES ({0}, {1}, 'sale', {2}, {3}, {4}, {5})"
    ),
    "empty": "DELETE FROM cart_lines WHERE cart_id = {0}",
}


def _pg_sql() -> dict[str, str]:
    """The statements with asyncpg's $1, $2… placeholders."""
    marks = [f"${i}" for i in range(1, 10)]
    return {name: sql.format(*marks) for name, sql in CART_SQL.items()}


def _sqlite_form(sql: str) -> tuple[str, tuple[int, ...]]:
    """``sql`` with sqlite3's ? placeholders, and which value each ? takes (in order of appearance)."""
    return re.sub(r"\{\d\}", "?", sql), tuple(int(m) for m in re.findall(r"\{(\d)\}", sql))


SQLITE_SQL = {name: _sqlite_form(sql) for name, sql in CART_SQL.items()}  # parsed once, not per statement


def _now_sqlite() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


class SqliteSales:
    """Sales with sqlite3 on the benchmark's database file, production settings."""

    def __init__(self, path: str) -> None:
        self.con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
            self.con.execute(f"PRAGMA {pragma}")

    def _run(self, name: str, *values):
        sql, order = SQLITE_SQL[name]
        return self.con.execute(sql, tuple(values[i] for i in order))

    def add(self, cart_id: int, product_id: int, qty: int) -> None:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            line_id, in_cart, stock, archived = self._run("line", cart_id, product_id).fetchone()
            if archived or (in_cart or 0) + qty > stock:
                raise RuntimeError("not enough stock")
            if line_id is None:
                self._run("insert_line", cart_id, product_id, qty)
            else:
                self._run("update_line", line_id, in_cart + qty)
            self._run("bump", cart_id, _now_sqlite())
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def checkout(self, cart_id: int, version: int, cashier_id: int, chat_id: int, key: str) -> None:
        now = _now_sqlite()
        self.con.execute("BEGIN IMMEDIATE")
        try:
            if self._run("claim", cart_id, version, now).rowcount != 1:
                raise RuntimeError("stale cart")
            lines = self._run("lines", cart_id).fetchall()
            for product_id, qty, *_ in sorted(lines):
                if self._run("take", product_id, qty, now, 0).fetchone() is None:
                    raise RuntimeError("out of stock")
            (number,) = self._run("number").fetchone()
            total = sum(qty * price for _, qty, _, _, price in lines)
            (sale_id,) = self._run("sale", number, now, cashier_id, chat_id, total, 1, key).fetchone()
            self._run("payment", sale_id, total, now)
            self.con.executemany(
                SQLITE_SQL["sale_line"][0],
                [(sale_id, pid, name, sku, price, qty, qty * price) for pid, qty, name, sku, price in lines],
            )
            self.con.executemany(
                SQLITE_SQL["movement"][0],
                [(pid, -qty, sale_id, cashier_id, f"sale #{number}", now) for pid, qty, *_ in lines],
            )
            self._run("empty", cart_id)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()


class PostgresSales:
    """Sales with asyncpg on the benchmark's schema (prepared statements, as asyncpg caches them)."""

    def __init__(self, con: asyncpg.Connection) -> None:
        self.con = con
        self.sql = _pg_sql()

    @classmethod
    async def connect(cls, url: str, schema: str) -> PostgresSales:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        return cls(await asyncpg.connect(dsn, server_settings={"search_path": schema}))

    async def add(self, cart_id: int, product_id: int, qty: int) -> None:
        async with self.con.transaction():
            line_id, in_cart, stock, archived = await self.con.fetchrow(self.sql["line"], cart_id, product_id)
            if archived or (in_cart or 0) + qty > stock:
                raise RuntimeError("not enough stock")
            if line_id is None:
                await self.con.execute(self.sql["insert_line"], cart_id, product_id, qty)
            else:
                await self.con.execute(self.sql["update_line"], line_id, in_cart + qty)
            await self.con.execute(self.sql["bump"], cart_id, datetime.now(UTC))

    async def checkout(self, cart_id: int, version: int, cashier_id: int, chat_id: int, key: str) -> None:
        now = datetime.now(UTC)
        async with self.con.transaction():
            if await self.con.execute(self.sql["claim"], cart_id, version, now) != "UPDATE 1":
                raise RuntimeError("stale cart")
            lines = await self.con.fetch(self.sql["lines"], cart_id)
            for product_id, qty, *_ in sorted(tuple(r) for r in lines):
                if await self.con.fetchrow(self.sql["take"], product_id, qty, now, False) is None:
                    raise RuntimeError("out of stock")
            number = await self.con.fetchval(self.sql["number"])
            total = sum(r["quantity"] * r["price_minor"] for r in lines)
            sale_id = await self.con.fetchval(self.sql["sale"], number, now, cashier_id, chat_id, total, True, key)
            await self.con.execute(self.sql["payment"], sale_id, total, now)
            await self.con.executemany(
                self.sql["sale_line"],
                [(sale_id, pid, name, sku, price, qty, qty * price) for pid, qty, name, sku, price in lines],
            )
            await self.con.executemany(
                self.sql["movement"],
                [(pid, -qty, sale_id, cashier_id, f"sale #{number}", now) for pid, qty, *_ in lines],
            )
            await self.con.execute(self.sql["empty"], cart_id)

    async def close(self) -> None:
        await self.con.close()
