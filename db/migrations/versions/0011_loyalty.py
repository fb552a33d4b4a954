"""Loyalty points and the customer's own chat: points ledger, points payments, links, invites.

A points ledger per customer, points as a payment method, the customer's linked Telegram
account, receipt links and staff invitations (hashed tokens). Nothing existing changes: every
customer starts with 0 points and no linked account, every refund gave back 0 points, and the
payment method checks only gain "points".

Revision ID: 0011_loyalty
Revises: 0010_shifts
Create Date: 2026-12-07 18:00:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0011_loyalty"
down_revision: Union[str, Sequence[str], None] = "0010_shifts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_METHODS = "'cash', 'card', 'mobile'"
NEW_METHODS = "'cash', 'card', 'mobile', 'points'"
# (table, column) of every payment method check: ck_<table>_payment_method
METHOD_COLUMNS = (("sales", "payment_method"), ("payments", "method"), ("refunds", "method"))


def _method_checks(methods: str) -> None:
    for table, column in METHOD_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_payment_method"), type_="check")
            batch_op.create_check_constraint("payment_method", f"{column} IN ({methods})")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points_balance", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("telegram_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_customers_telegram_id"), ["telegram_id"])
        batch_op.create_check_constraint("points_not_negative", "points_balance >= 0")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points_minor", sa.BigInteger(), nullable=False, server_default="0"))
    _method_checks(NEW_METHODS)

    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "redeem",
                "refund",
                "adjust",
                name="points_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=True),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points <> 0", name=op.f("ck_points_entries_points_not_zero")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_points_entries_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_points_entries_refund_id_refunds")),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name=op.f("fk_points_entries_sale_id_sales")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_points_entries_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_points_entries_sale_id"), ["sale_id"], unique=False)

    op.create_table(
        "receipt_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name=op.f("fk_receipt_links_sale_id_sales")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_links")),
        sa.UniqueConstraint("sale_id", name=op.f("uq_receipt_links_sale_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_receipt_links_token_hash")),
    )
    op.create_table(
        "staff_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum("cashier", "manager", "admin", name="role", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.BigInteger(), nullable=True),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff.id"], name=op.f("fk_staff_invites_created_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_invites_token_hash")),
    )


def downgrade() -> None:
    """Downgrade schema (points payments become cash payments of the same amount: the old
    schema has no other way to keep the sale's total)."""
    op.drop_table("staff_invites")
    op.drop_table("receipt_links")
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_entries_sale_id"))
        batch_op.drop_index("ix_points_entries_customer")
    op.drop_table("points_entries")
    for table, column in METHOD_COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = 'cash' WHERE {column} = 'points'")
    _method_checks(OLD_METHODS)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("points_minor")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_customers_points_not_negative"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_customers_telegram_id"), type_="unique")
        batch_op.drop_column("telegram_id")
        batch_op.drop_column("points_balance")
