"""A forged or mistyped id finds nothing on every backend (PostgreSQL refuses ids over 32 bits)."""

from __future__ import annotations

import pytest

from db import catalog, checkout, customers
from db.errors import NotFound

LOOKUPS = [
    (catalog.get_product, "product_id"),
    (catalog.products_in_category, "category_id"),
    (checkout.get_sale, "sale_id"),
    (customers.get_customer, "customer_id"),
]


@pytest.mark.parametrize("bad_id", [0, -1, 2**31, 99_999_999_999, 2**62, True])
@pytest.mark.parametrize(("lookup", "keyword"), LOOKUPS)
async def test_out_of_range_ids_are_not_found(session_factory, lookup, keyword, bad_id):
    async with session_factory() as session:
        with pytest.raises(NotFound):
            await lookup(session, **{keyword: bad_id})
