"""A replayed request (the same Telegram update handled again after a crash) moves stock once."""

from __future__ import annotations

from sqlalchemy import func, select

from db import stock as stock_db
from db.engine import transaction
from db.models import StockMovement
from tests.factories import make_product, run


async def test_a_restock_or_adjustment_replayed_with_its_key_moves_stock_once(session_factory):
    tea = await run(session_factory, make_product, name="Tea", stock=5)
    for _ in range(2):
        async with transaction(session_factory) as session:
            after = await stock_db.restock(session, product_id=tea.id, qty=3, request_key="tg:1:100")
        assert after.stock == 8
    for _ in range(2):
        async with transaction(session_factory) as session:
            after = await stock_db.adjust(session, product_id=tea.id, delta=-2, reason="broken", request_key="tg:1:101")
        assert after.stock == 6
    async with transaction(session_factory) as session:  # another update: a movement of its own
        assert (await stock_db.restock(session, product_id=tea.id, qty=1, request_key="tg:1:102")).stock == 7
    async with session_factory() as session:
        count = await session.scalar(select(func.count(StockMovement.id)).where(StockMovement.product_id == tea.id))
    assert count == 4  # initial, restock, adjustment, restock
