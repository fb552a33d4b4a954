"""PRICES_INCLUDE_TAX=false (US style): the cart, the checkout and the sale add tax on top."""

from __future__ import annotations

import pytest

from db import taxes
from db.engine import transaction
from db.settings import Settings
from tests.chat.conftest import ADMIN_ID
from tests.chat.counter_helpers import fill, product, sales
from tests.chat.test_checkout import checkout_to_confirm


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Corner Shop",
        currency="USD",
        store_timezone="America/New_York",
        admin_ids=[ADMIN_ID],
        prices_include_tax=False,
    )


async def test_tax_is_added_on_top_and_confirm_records_it(cashier, session_factory):
    mug = await product(session_factory, name="Mug", price_minor=1000, stock=5, sku="MUG")
    async with transaction(session_factory) as session:
        await taxes.add_rate(session, name="Sales", rate_bp=725, actor=None)
    await fill(session_factory, cashier.chat_id, (mug, 2))
    await cashier.send("/cart")
    # 20.00 x 7.25% = 1.45 on top.
    assert "Tax: $1.45" in cashier.text and "Total: $21.45" in cashier.text
    await checkout_to_confirm(cashier, method="Card")
    await cashier.tap("✅ Confirm sale")
    assert "Sales 7.25%: $1.45 on $20.00" in cashier.text and "(added to prices)" in cashier.text
    (sale,) = await sales(session_factory)
    assert (sale.gross_minor, sale.tax_minor, sale.total_minor, sale.prices_include_tax) == (2000, 145, 2145, False)
