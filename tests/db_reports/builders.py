"""Test data written straight through the ORM models (the shared factories belong to others)."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, Payment, PaymentMethod, Product, Role, Sale, SaleLine, SaleStatus, Staff

_ids = itertools.count(1)

_receipt_numbers = itertools.count(1)  # sales built directly, not through checkout


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    """An aware datetime from local wall-clock fields in the zone `tz`."""
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)  # type: ignore[misc]


class Shop:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def staff(self, name: str, role: Role = Role.CASHIER) -> Staff:
        person = Staff(telegram_id=next(_ids), name=name, role=role)
        self.session.add(person)
        await self.session.flush()
        return person

    async def customer(self, name: str) -> Customer:
        customer = Customer(name=name)
        self.session.add(customer)
        await self.session.flush()
        return customer

    async def product(self, name: str, price_minor: int, *, sku: str | None = None, archived: bool = False) -> Product:
        product = Product(
            name=name, sku=sku or f"SKU-{next(_ids)}", price_minor=price_minor, stock=100, archived=archived
        )
        self.session.add(product)
        await self.session.flush()
        return product

    async def sale(
        self,
        at: datetime,
        cashier: Staff,
        lines: list[tuple[Product, int]],
        *,
        payment: PaymentMethod = PaymentMethod.CASH,
        customer: Customer | None = None,
        refunded_at: datetime | None = None,
    ) -> Sale:
        total = sum(p.price_minor * q for p, q in lines)
        sale = Sale(
            number=next(_receipt_numbers),
            created_at=at,
            cashier_id=cashier.id,
            customer_id=customer.id if customer else None,
            chat_id=1,
            payment_method=payment,
            currency="EUR",
            total_minor=total,
            status=SaleStatus.REFUNDED if refunded_at else SaleStatus.COMPLETED,
            refunded_at=refunded_at,
            idempotency_key=f"key-{next(_ids)}",
        )
        self.session.add(sale)
        await self.session.flush()
        self._paid(sale)
        for product, quantity in lines:
            self.session.add(
                SaleLine(
                    sale_id=sale.id,
                    product_id=product.id,
                    product_name=product.name,
                    sku=product.sku,
                    unit_price_minor=product.price_minor,
                    quantity=quantity,
                    line_total_minor=product.price_minor * quantity,
                )
            )
        await self.session.flush()
        return sale

    async def bare_sale(self, at: datetime, cashier: Staff, total_minor: int) -> Sale:
        """A sale with its total only: for the day and basket figures."""
        sale = Sale(
            number=next(_receipt_numbers),
            created_at=at,
            cashier_id=cashier.id,
            chat_id=1,
            payment_method=PaymentMethod.CASH,
            currency="EUR",
            total_minor=total_minor,
            idempotency_key=f"key-{next(_ids)}",
        )
        self.session.add(sale)
        await self.session.flush()
        self._paid(sale)
        return sale

    def _paid(self, sale: Sale) -> None:
        """One payment for the whole total, as every checkout records one."""
        payment = Payment(sale_id=sale.id, method=sale.payment_method, amount_minor=sale.total_minor)
        payment.created_at = sale.created_at
        self.session.add(payment)
