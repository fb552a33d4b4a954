"""The stock ledger check: every product's stock must equal the sum of its movements."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Product, StockMovement


@dataclass(frozen=True)
class LedgerMismatch:
    product_id: int
    sku: str
    name: str
    stock: int
    movements_sum: int

    @property
    def difference(self) -> int:
        return self.stock - self.movements_sum


async def check_ledger(session: AsyncSession) -> list[LedgerMismatch]:
    """Products whose stock disagrees with their movements, by id; empty when the ledger is clean."""
    movements_sum = func.coalesce(func.sum(StockMovement.quantity), 0)
    query = (
        select(Product.id, Product.sku, Product.name, Product.stock, movements_sum)
        .outerjoin(StockMovement, StockMovement.product_id == Product.id)
        .group_by(Product.id, Product.sku, Product.name, Product.stock)
        .having(Product.stock != movements_sum)
        .order_by(Product.id)
    )
    return [
        LedgerMismatch(product_id=pid, sku=sku, name=name, stock=stock, movements_sum=int(total))
        for pid, sku, name, stock, total in (await session.execute(query)).all()
    ]
