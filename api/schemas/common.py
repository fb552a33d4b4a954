"""Shapes every resource shares: money, times, text, pages, problems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.problems import ApiProblem

T = TypeVar("T")

# Text from a client: no NUL (PostgreSQL cannot store it) and a sane length; db/ checks the rest.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=1000)]
Code = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=64)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=True)


class Money(Model):
    """An amount in minor units (cents) of a currency: {"amount": 150, "currency": "USD"} is $1.50."""

    amount: Annotated[int, Field(ge=0, le=10**15, description="Integer minor units (cents)")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: the store's currency")]

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=minor, currency=currency)

    def minor(self, store_currency: str, field: str) -> int:
        """The amount, if it is in the store's currency (422 naming ``field`` otherwise)."""
        if self.currency != store_currency:
            raise ApiProblem(
                422,
                f"{field}.currency: this store takes {store_currency}, not {self.currency}.",
                errors=[{"field": f"{field}.currency", "in": "body", "detail": f"must be {store_currency}"}],
            )
        return self.amount


class SignedMoney(Model):
    """An amount that may be below zero (a cash difference: short), in minor units of a currency."""

    amount: Annotated[int, Field(ge=-(10**15), le=10**15, description="Integer minor units; below zero: short")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: the store's currency")]


def local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A stored UTC time as the store's local time with its offset (RFC 3339)."""
    return moment.astimezone(tz) if moment is not None else None


class ListOf(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class FieldError(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    field: str
    detail: str
    in_: str | None = Field(default=None, alias="in")


class Shortage(BaseModel):
    product_id: int
    name: str
    requested: int
    available: int
    missing: int


class Problem(BaseModel):
    """An error, as RFC 9457 application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="Validation errors: each field that is wrong")
    shortages: list[Shortage] | None = Field(default=None, description="Stock shortages: each product short")


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors an endpoint can answer."""
    described = {
        401: "No API key, or an unknown or revoked one",
        403: "The key's role is too small",
        404: "No such resource",
        409: "A conflict: the state changed, a duplicate, a shortage, or the same Idempotency-Key still running",
        422: "Invalid input: `errors` names each field",
        429: "Over the key's rate limit: see Retry-After",
    }
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        code: {
            "model": Problem,
            "description": described[code],
            "content": {"application/problem+json": {"schema": schema}},
        }
        for code in (401, 429, 422, *codes)
    }
