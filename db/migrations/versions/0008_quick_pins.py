"""The /quick favourites a manager pins (quick_pins).

A new table only: no existing row is touched.

Revision ID: 0008_quick_pins
Revises: 0007_update_inbox
Create Date: 2026-12-01 20:30:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0008_quick_pins"
down_revision: Union[str, Sequence[str], None] = "0007_update_inbox"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "quick_pins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("pinned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pinned_by_id"], ["staff.id"], name=op.f("fk_quick_pins_pinned_by_id_staff")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_quick_pins_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_pins")),
        sa.UniqueConstraint("product_id", name=op.f("uq_quick_pins_product_id")),
    )


def downgrade() -> None:
    op.drop_table("quick_pins")
