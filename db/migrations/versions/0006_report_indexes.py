"""Report indexes: a period's refunds by their time, a sale's lines with what reports sum.

Only indexes change; no row is touched.

- ix_sales_refunded_at (partial: refunded sales only) serves "refunds during the period" without
  reading every sale of the shop's history.
- ix_sale_lines_sale_product (sale_id, product_id, quantity, line_total_minor) replaces
  ix_sale_lines_sale_id (its first column): a report reads the lines of the period's sales from
  the index alone.

Revision ID: 0006
Revises: 0005_dialogs
Create Date: 2026-12-01 20:40:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005_dialogs"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REFUNDED = sa.text("refunded_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_sales_refunded_at", "sales", ["refunded_at"], sqlite_where=REFUNDED, postgresql_where=REFUNDED
    )
    op.create_index(
        "ix_sale_lines_sale_product", "sale_lines", ["sale_id", "product_id", "quantity", "line_total_minor"]
    )
    op.drop_index("ix_sale_lines_sale_id", table_name="sale_lines")


def downgrade() -> None:
    op.create_index("ix_sale_lines_sale_id", "sale_lines", ["sale_id"])
    op.drop_index("ix_sale_lines_sale_product", table_name="sale_lines")
    op.drop_index("ix_sales_refunded_at", table_name="sales")
