"""Search lists by a stored sort key: products.name_key (lower(name)) and its index.

Page one of a common word was sorted from all its matches by lower(name) (a Python call per row
on SQLite). ``products.name_key`` holds lower(name) as the database computes it, set by triggers
(db.search_index.install_sort_key), and ``ix_products_archived_name_key`` (archived, name_key, id)
serves the order search lists products in. Nothing existing changes: every product gets its key
from its name, and the order is the one lower(name) gave.

Revision ID: 0012_search_order
Revises: 0011_loyalty
Create Date: 2026-12-07 21:00:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from db import search_index

# revision identifiers, used by Alembic.
revision: str = "0012_search_order"
down_revision: Union[str, Sequence[str], None] = "0011_loyalty"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEX = "ix_products_archived_name_key"


def upgrade() -> None:
    """Upgrade schema."""
    # A plain ADD COLUMN on SQLite too: a batch rebuild of products would drop the search triggers.
    op.add_column("products", sa.Column("name_key", sa.Text(), nullable=False, server_default=""))
    search_index.install_sort_key(op.get_bind())  # the triggers, and every product's key
    op.create_index(INDEX, "products", ["archived", "name_key", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(INDEX, table_name="products")
    search_index.uninstall_sort_key(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops an unindexed column in place; batch mode would rebuild the table.
        op.execute("ALTER TABLE products DROP COLUMN name_key")
    else:
        op.drop_column("products", "name_key")
