"""Codes unique ignoring case (products.sku_key, barcode_key) and the product search index.

* ``sku_key`` and ``barcode_key`` are the codes lower-cased, each with a unique index: the database
  itself now refuses ``ABC`` next to ``abc``, and exact look-ups read those indexes.
* ``product_search`` (db.search_index): the trigram index behind product search, with the triggers
  that keep it in step; on PostgreSQL this creates the pg_trgm extension when it is missing.

An older database may hold codes that differ only by case (two concurrent /adds could create
them). The upgrade keeps every product and every sale; the oldest product of each such group
keeps its code, and for each later one:
* a SKU gets a suffix, "abc" → "abc-2" (the first free one), since every product needs a SKU;
* a barcode is cleared, since a made-up barcode would match no label.
Each change is written to the audit log (action ``product_edit``, actor "system", the old and the
new value), so /audit shows what to check, and printed as a warning by ``python -m bot migrate``.

Revision ID: 0004
Revises: 0003_job_runs
Create Date: 2026-12-01 20:30:00

"""

import logging
from datetime import UTC, datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from db import search_index

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003_job_runs"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger("alembic.runtime.migration")

products = sa.table(
    "products",
    sa.column("id", sa.Integer()),
    sa.column("sku", sa.String()),
    sa.column("barcode", sa.String()),
    sa.column("name", sa.String()),
    sa.column("sku_key", sa.String()),
    sa.column("barcode_key", sa.String()),
)
audit_log = sa.table(
    "audit_log",
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("actor_telegram_id", sa.BigInteger()),
    sa.column("actor_name", sa.String()),
    sa.column("action", sa.String()),
    sa.column("details", sa.Text()),
)


def _free_sku(sku: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = sku[: 64 - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        n += 1


def _resolve_case_twins(conn: sa.Connection) -> tuple[list[dict], list[str]]:
    """Make the codes unique ignoring case (see the module docstring): every product's row (its
    codes as they are now), and what changed, in words."""
    rows = conn.execute(sa.select(products.c.id, products.c.sku, products.c.barcode, products.c.name).order_by("id"))
    rows = [dict(r._mapping) for r in rows]
    taken = {r["sku"].lower() for r in rows} | {r["barcode"].lower() for r in rows if r["barcode"]}
    first_sku: dict[str, dict] = {}
    first_barcode: dict[str, dict] = {}
    changes: list[str] = []
    for row in rows:
        label = f"{row['sku']} “{row['name']}”"
        owner = first_sku.setdefault(row["sku"].lower(), row)
        if owner is not row:
            new_sku = _free_sku(row["sku"], taken)
            taken.add(new_sku.lower())
            conn.execute(products.update().where(products.c.id == row["id"]).values(sku=new_sku))
            changes.append(
                f"{label}: SKU {row['sku']} → {new_sku} (upgrade: {owner['sku']} “{owner['name']}” has the "
                "same SKU ignoring case)"
            )
            row["sku"] = new_sku
        if row["barcode"]:
            owner = first_barcode.setdefault(row["barcode"].lower(), row)
            if owner is not row:
                conn.execute(products.update().where(products.c.id == row["id"]).values(barcode=None))
                changes.append(
                    f"{row['sku']} “{row['name']}”: barcode {row['barcode']} → none (upgrade: {owner['sku']} "
                    f"“{owner['name']}” has the same barcode ignoring case)"
                )
                row["barcode"] = None
    if changes:
        at = datetime.now(UTC)
        if conn.dialect.name == "sqlite":
            at = at.replace(tzinfo=None)  # how UtcDateTime stores times on SQLite
        conn.execute(
            audit_log.insert(),
            [
                {"created_at": at, "actor_telegram_id": None, "actor_name": "system", "action": "product_edit",
                 "details": details}
                for details in changes
            ],
        )  # fmt: skip
    return rows, changes


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    # SQLite adds a NOT NULL column only with a default: '' until the backfill below replaces it.
    op.add_column(
        "products",
        sa.Column("sku_key", sa.String(length=64), nullable=not sqlite, server_default="" if sqlite else None),
    )
    op.add_column("products", sa.Column("barcode_key", sa.String(length=64), nullable=True))

    rows, changes = _resolve_case_twins(conn)
    for change in changes:
        log.warning("%s", change)
    if rows:
        # Python's lower(), as db.models.code_key: the same key whatever the database's own lower().
        conn.execute(
            products.update().where(products.c.id == sa.bindparam("row_id")),
            [
                {"row_id": r["id"], "sku_key": r["sku"].lower(), "barcode_key": r["barcode"] and r["barcode"].lower()}
                for r in rows
            ],
        )
    if not sqlite:
        op.alter_column("products", "sku_key", nullable=False)
    op.create_index("ix_products_sku_key", "products", ["sku_key"], unique=True)
    op.create_index("ix_products_barcode_key", "products", ["barcode_key"], unique=True)

    search_index.install(conn)


def downgrade() -> None:
    search_index.uninstall(op.get_bind())
    op.drop_index("ix_products_barcode_key", table_name="products")
    op.drop_index("ix_products_sku_key", table_name="products")
    op.drop_column("products", "barcode_key")
    op.drop_column("products", "sku_key")
