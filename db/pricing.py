"""Pricing: discounts, tax, payments and refund shares, as pure functions on integer minor units.

The rules (docs: DESIGN.md "Money"), in the order a sale is priced:
1. A line's gross is its shelf price times its quantity (tax as on the shelf).
2. A line discount comes off the line's gross; a cart discount comes off what the lines are
   after their own discounts and is spread over them in proportion by largest remainder, so the
   shares add up to the cart discount exactly. Neither takes anything below zero.
3. A percentage discount is that percentage of the amount it applies to, rounded half away from
   zero (5% of 3.16 is 0.16).
4. Tax is computed per line from its net after discounts, rounded half away from zero: inside
   that amount when shelf prices include tax, on top of it otherwise. The per-rate breakdown is
   the sum of the lines', so it adds up to the cent.
5. Returning q of a line's n units pays back the line's paid amount times q/n, counted
   cumulatively (what all returns so far add up to, minus what earlier returns paid), so returning
   every unit pays back exactly what was paid.
Rates and percentages are in hundredths of a percent ("bp" here): 7.25% is 725, 100% is 10000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FULL_BP = 10_000


def round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def percent_of(amount_minor: int, percent_bp: int) -> int:
    """``percent_bp`` hundredths of a percent of ``amount_minor``, rounded half away from zero."""
    return round_div(amount_minor * percent_bp, FULL_BP)


@dataclass(frozen=True)
class DiscountRule:
    """A percentage (``percent_bp``) or a fixed amount (``amount_minor``): exactly one is set."""

    percent_bp: int | None = None
    amount_minor: int | None = None

    def __post_init__(self) -> None:
        if (self.percent_bp is None) == (self.amount_minor is None):
            raise ValueError("a discount is a percentage or an amount")
        if self.percent_bp is not None and not 0 <= self.percent_bp <= FULL_BP:
            raise ValueError("a percentage discount is 0-100%")
        if self.amount_minor is not None and self.amount_minor < 0:
            raise ValueError("a discount amount is not negative")

    def amount_off(self, base_minor: int) -> int:
        """What this discount takes off ``base_minor``: never more than all of it."""
        off = percent_of(base_minor, self.percent_bp) if self.percent_bp is not None else self.amount_minor or 0
        return min(off, base_minor)


@dataclass(frozen=True)
class LineIn:
    unit_price_minor: int
    quantity: int
    rate_bp: int = 0
    discount: DiscountRule | None = None


@dataclass(frozen=True)
class PricedLine:
    gross_minor: int  # shelf price x quantity
    line_discount_minor: int
    cart_discount_minor: int  # this line's share of the cart discount
    net_minor: int  # gross - discounts: the amount tax is computed from
    tax_minor: int
    total_minor: int  # what the customer pays for the line, tax included
    rate_bp: int

    @property
    def discount_minor(self) -> int:
        return self.line_discount_minor + self.cart_discount_minor

    @property
    def net_of_tax_minor(self) -> int:
        return self.total_minor - self.tax_minor


@dataclass(frozen=True)
class PricedCart:
    lines: tuple[PricedLine, ...]
    prices_include_tax: bool

    @property
    def gross_minor(self) -> int:
        return sum(line.gross_minor for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def cart_discount_minor(self) -> int:
        return sum(line.cart_discount_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        return sum(line.tax_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    def tax_by_rate(self) -> dict[int, tuple[int, int]]:
        """rate_bp -> (tax, net of tax) summed over the lines at that rate."""
        out: dict[int, tuple[int, int]] = {}
        for line in self.lines:
            tax, net = out.get(line.rate_bp, (0, 0))
            out[line.rate_bp] = (tax + line.tax_minor, net + line.net_of_tax_minor)
        return out


def spread(amount_minor: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount_minor`` over ``weights`` in proportion by largest remainder.

    The parts add up to ``amount_minor`` exactly; ties go to the earlier weight. A part never
    exceeds its weight when ``amount_minor <= sum(weights)``.
    """
    total = sum(weights)
    if amount_minor < 0 or any(w < 0 for w in weights):
        raise ValueError("nothing negative to spread")
    if total == 0:
        if amount_minor:
            raise ValueError("cannot spread an amount over nothing")
        return [0] * len(weights)
    parts = []
    remainders = []
    for index, weight in enumerate(weights):
        part, remainder = divmod(amount_minor * weight, total)
        parts.append(part)
        remainders.append((-remainder, index))
    left = amount_minor - sum(parts)
    for _, index in sorted(remainders)[:left]:
        parts[index] += 1
    return parts


def line_tax(net_minor: int, rate_bp: int, *, prices_include_tax: bool) -> int:
    """The tax in (inclusive) or on top of (exclusive) a line's net, rounded half away from zero."""
    if prices_include_tax:
        return round_div(net_minor * rate_bp, FULL_BP + rate_bp)
    return round_div(net_minor * rate_bp, FULL_BP)


def price_cart(
    lines: Sequence[LineIn], *, cart_discount: DiscountRule | None = None, prices_include_tax: bool = True
) -> PricedCart:
    """Price a cart: see the module docstring for the rules."""
    grosses = [line.unit_price_minor * line.quantity for line in lines]
    if any(g < 0 for g in grosses) or any(line.quantity <= 0 for line in lines):
        raise ValueError("prices are not negative and quantities are positive")
    line_offs = [line.discount.amount_off(g) if line.discount else 0 for line, g in zip(lines, grosses, strict=True)]
    after_line = [g - off for g, off in zip(grosses, line_offs, strict=True)]
    cart_off = cart_discount.amount_off(sum(after_line)) if cart_discount else 0
    shares = spread(cart_off, after_line)
    priced = []
    for line, gross, line_off, base, share in zip(lines, grosses, line_offs, after_line, shares, strict=True):
        net = base - share
        tax = line_tax(net, line.rate_bp, prices_include_tax=prices_include_tax)
        priced.append(
            PricedLine(
                gross_minor=gross,
                line_discount_minor=line_off,
                cart_discount_minor=share,
                net_minor=net,
                tax_minor=tax,
                total_minor=net if prices_include_tax else net + tax,
                rate_bp=line.rate_bp,
            )
        )
    return PricedCart(lines=tuple(priced), prices_include_tax=prices_include_tax)


def refund_share(paid_minor: int, quantity: int, already_returned: int, returning: int) -> int:
    """What ``returning`` more units of a line of ``quantity`` units paid ``paid_minor`` pay back,
    after ``already_returned`` units were returned before (cumulative, so all units pay back
    exactly ``paid_minor``)."""
    if already_returned < 0 or returning < 0 or already_returned + returning > quantity:
        raise ValueError("cannot return more than was sold")
    upto = already_returned + returning
    return round_div(paid_minor * upto, quantity) - round_div(paid_minor * already_returned, quantity)


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount_minor: int  # the part of the total this pays
    tendered_minor: int | None = None  # cash: what the customer handed over

    @property
    def change_minor(self) -> int | None:
        return None if self.tendered_minor is None else self.tendered_minor - self.amount_minor


class PaymentError(ValueError):
    """A payment that does not fit what is left to pay."""


def take_payment(remaining_minor: int, method: str, offered_minor: int, *, cash: bool) -> PaymentIn:
    """One part of a split payment against what is still due.

    Cash may be more than is due: the part pays what is due and the rest is change. Any other
    method pays exactly what was offered, which must not be more than is due.
    """
    if remaining_minor <= 0:
        raise PaymentError("Nothing is left to pay.")
    if offered_minor <= 0:
        raise PaymentError("A payment is more than zero.")
    if cash:
        amount = min(offered_minor, remaining_minor)
        return PaymentIn(method=method, amount_minor=amount, tendered_minor=offered_minor)
    if offered_minor > remaining_minor:
        raise PaymentError("more than is left to pay")
    return PaymentIn(method=method, amount_minor=offered_minor)
