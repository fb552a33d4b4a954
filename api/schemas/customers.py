"""Customers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.schemas.common import Model, Text, local
from db.models import Customer


class CustomerOut(Model):
    id: int
    name: str
    phone: str | None
    email: str | None
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer, tz: ZoneInfo) -> CustomerOut:
        return cls(
            id=customer.id,
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            created_at=local(customer.created_at, tz),
        )


class CustomerCreate(Model):
    name: Text
    phone: Text | None = None
    email: Text | None = None


class CustomerPatch(Model):
    """Only the fields sent change; null clears phone and email."""

    name: Text | None = None
    phone: Text | None = None
    email: Text | None = None
