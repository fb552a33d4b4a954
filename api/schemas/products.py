"""Products, their stock and its movements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from api.schemas.common import Code, Id, Model, Money, Text, local
from db.models import Product, StockMovement
from db.taxes import RateSnapshot, format_rate

TAX_RATE_IN = (
    "The name of a tax rate the shop has (as `/tax` lists them): the product's own rate, which wins over "
    "its category's and the store default"
)


class ProductOut(Model):
    id: int
    sku: str
    barcode: str | None
    name: str
    category: str | None
    price: Money
    stock: int
    low_stock_threshold: int | None = Field(description="null: the store's LOW_STOCK_THRESHOLD")
    tax_rate: str | None = Field(
        description="The name of the rate the product is taxed at now: its own, else its category's, else the "
        "store default; null when the shop has no rate for it"
    )
    tax_percent: str | None = Field(description="That rate as a percentage, e.g. \"16\" or \"7.25\"")
    archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product, currency: str, tz: ZoneInfo, rate: RateSnapshot | None = None) -> ProductOut:
        """``rate``: the product's rate now (db.taxes.rates_for); None or an unnamed one: no rate."""
        named = rate if rate is not None and rate.name else None
        return cls(
            id=product.id,
            sku=product.sku,
            barcode=product.barcode,
            name=product.name,
            category=product.category.name if product.category else None,
            price=Money.of(product.price_minor, currency),
            stock=product.stock,
            low_stock_threshold=product.low_stock_threshold,
            tax_rate=named.name if named else None,
            tax_percent=format_rate(named.rate_bp).removesuffix("%") if named else None,
            archived=product.archived,
            created_at=local(product.created_at, tz),
            updated_at=local(product.updated_at, tz),
        )


class ProductCreate(Model):
    name: Text
    price: Money
    stock: Annotated[int, Field(description="Initial stock: recorded as an `initial` stock movement")] = 0
    category: Text | None = None
    sku: Code | None = Field(default=None, description="Given one like P00042 when left out")
    barcode: Code | None = None
    low_stock_threshold: int | None = None
    tax_rate: Text | None = Field(default=None, description=TAX_RATE_IN)


class ProductPatch(Model):
    """Only the fields sent change; null clears category, barcode and low_stock_threshold."""

    name: Text | None = None
    price: Money | None = None
    category: Text | None = None
    sku: Code | None = None
    barcode: Code | None = None
    low_stock_threshold: int | None = None
    tax_rate: Text | None = Field(default=None, description=TAX_RATE_IN + "; null: its category's or the default")


class StockChange(Model):
    """`restock`: goods received, `quantity` > 0, `reason` an optional note. `adjustment`: a
    correction by a signed `quantity` (a count, breakage, theft), `reason` required."""

    type: Literal["restock", "adjustment"]
    quantity: int
    reason: Text = ""


class MovementOut(Model):
    id: int
    product_id: int
    quantity: int = Field(description="Signed: + into stock, − out of it")
    reason: Literal["initial", "sale", "refund", "restock", "adjustment"]
    note: str
    sale_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, movement: StockMovement, tz: ZoneInfo) -> MovementOut:
        return cls(
            id=movement.id,
            product_id=movement.product_id,
            quantity=movement.quantity,
            reason=movement.reason.value,
            note=movement.note,
            sale_id=movement.sale_id,
            created_at=local(movement.created_at, tz),
        )


__all__ = ["Id", "MovementOut", "ProductCreate", "ProductOut", "ProductPatch", "StockChange"]
