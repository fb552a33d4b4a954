"""/tax in the chat, and the tax a sale then carries on its receipt."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import TaxRate
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
        store_address="1 High Street, Nairobi",
        store_tax_id="P051234567X",
        currency="USD",
        store_timezone="Europe/Berlin",
        admin_ids=[ADMIN_ID],
        low_stock_threshold=3,
        daily_report_time="21:00",
    )


async def _rates(session_factory):
    async with session_factory() as session:
        return {r.name: (r.rate_bp, r.is_default) for r in (await session.scalars(select(TaxRate))).all()}


async def test_manager_sets_up_rates_and_the_receipt_shows_them(manager, cashier, session_factory):
    tea = await product(session_factory, name="Tea", price_minor=316, stock=9, sku="TEA", category="Drinks")
    bread = await product(session_factory, name="Bread", price_minor=100, stock=9, sku="BREAD")
    cake = await product(session_factory, name="Cake", price_minor=1000, stock=9, sku="CAKE", category="Bakery")

    await manager.send("/tax")
    assert "No tax rates yet" in manager.text and "Shelf prices include tax." in manager.text
    await manager.send("/tax add VAT 16%")
    assert "Added VAT 16% (the store default)." in manager.text
    await manager.send("/tax add Zero-rated 0")
    await manager.send("/tax add Sales 7.25%")
    await manager.send("/tax set BREAD Zero-rated")
    assert "Bread (BREAD) is now taxed at Zero-rated 0%." in manager.text
    await manager.send("/tax set Bakery Sales")
    assert "category Bakery is now taxed at Sales 7.25%." in manager.text
    await manager.send("/tax")
    assert "VAT: 16% — default" in manager.text and "Sales: 7.25%" in manager.text

    # Bad input: a clear answer, nothing changed.
    for bad, says in (
        ("/tax add VAT 16", "already exists"),
        ("/tax add GST 101%", "at most 100%"),
        ("/tax add GST lots", "is not a rate"),
        ("/tax set NOPE VAT", "No product or category"),
        ("/tax set TEA Nope", "No tax rate “Nope”"),
        ("/tax default", "/tax add <name> <rate%>"),
    ):
        await manager.send(bad)
        assert says in manager.text, (bad, manager.text)
    assert await _rates(session_factory) == {"VAT": (1600, True), "Zero-rated": (0, False), "Sales": (725, False)}
    await cashier.send("/tax add X 5")
    assert "VAT" not in cashier.text and "Added" not in cashier.text

    await fill(session_factory, cashier.chat_id, (tea, 2), (bread, 3), (cake, 1))
    await checkout_to_confirm(cashier, method="Card")
    await cashier.tap("✅ Confirm sale")

    text = cashier.text
    assert "1 High Street, Nairobi" in text and "Tax ID: P051234567X" in text
    assert "2 × $3.16 = $6.32 · VAT 16%" in text
    # 6.32 x 16/116 = 0.8717 -> 0.87; 10.00 x 7.25/107.25 = 0.6760 -> 0.68.
    assert "VAT 16%: $0.87 on $5.45" in text
    assert "Zero-rated 0%: $0.00 on $3.00" in text
    assert "Sales 7.25%: $0.68 on $9.32" in text
    assert "Tax: $1.55" in text and "Net of tax: $17.77" in text and "Total: $19.32" in text
    (sale,) = await sales(session_factory)
    assert (sale.total_minor, sale.tax_minor) == (1932, 155)

    # A later rate change does not change the recorded sale.
    await manager.send("/tax default Zero-rated")
    await manager.send(f"/sale {sale.number}")
    assert "VAT 16%: $0.87 on $5.45" in manager.text
