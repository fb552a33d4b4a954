"""Errors a user can cause. Each carries a plain-text message fit to show as it is (escape it)."""

from __future__ import annotations

from dataclasses import dataclass


class PosError(Exception):
    """Base of every error the POS backend raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PosError):
    pass


class InvalidInput(PosError):
    pass


class Conflict(PosError):
    """A uniqueness rule would be broken (duplicate SKU, phone, ...)."""


class Forbidden(PosError):
    """The rule forbids it whoever asks (e.g. removing the last admin)."""


class StaleCart(PosError):
    """The cart changed since the screen the user acted on was drawn."""


class TotalChanged(PosError):
    """The cart's total is not the one the confirm screen showed (a price changed meanwhile)."""

    def __init__(self, *, shown_minor: int, now_minor: int, message: str) -> None:
        super().__init__(message)
        self.shown_minor = shown_minor
        self.now_minor = now_minor


@dataclass(frozen=True)
class Shortage:
    product_id: int
    name: str
    requested: int
    available: int
    archived: bool = False  # no longer on sale, whatever its stock

    @property
    def missing(self) -> int:
        return self.requested - self.available


class OutOfStock(PosError):
    def __init__(self, shortages: list[Shortage]) -> None:
        lines = "; ".join(f"{s.name}: {s.missing} missing (only {s.available} left)" for s in shortages)
        super().__init__(f"Not enough stock: {lines}")
        self.shortages = shortages
