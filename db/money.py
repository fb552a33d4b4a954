"""Money: integer minor units in, integer minor units out. Parsing and formatting live here only.

Babel knows each currency's number of decimals and its symbol.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.core import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

from db.errors import InvalidInput
from db.text import quoted

MAX_PRICE_MINOR = 10**12  # a sanity bound: nothing in a shop costs ten billion


def is_known_currency(code: str) -> bool:
    return code in list_currencies()


def decimals(currency: str) -> int:
    return get_currency_precision(currency)


def accepted_forms(currency: str) -> str:
    d = decimals(currency)
    if d == 0:
        return "a whole number such as 12 or 1500"
    frac = "5" * d
    return f"a number such as 12, 1.{frac} or 1,{frac}"


def parse_money(text: str, currency: str) -> int:
    """Parse a user's amount ("1.50", "1,50", "12") into minor units.

    One decimal separator, dot or comma, with at most the currency's number of decimals.
    Thousands separators are refused: "1,500" could mean 1.5 or 1500.
    """
    d = decimals(currency)
    raw = text.strip()
    pattern = r"(\d{1,13})" if d == 0 else rf"(\d{{1,13}})(?:[.,](\d{{1,{d}}}))?"
    match = re.fullmatch(pattern, raw)
    if not match:
        raise InvalidInput(f"{quoted(raw)} is not an amount: use {accepted_forms(currency)}.")
    whole = int(match.group(1))
    frac_text = match.group(2) if d else None
    frac = int((frac_text or "").ljust(d, "0") or 0)
    value = whole * 10**d + frac
    if value > MAX_PRICE_MINOR:
        raise InvalidInput(f"{quoted(raw)} is too large.")
    return value


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-decimals(currency))


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """12345 EUR -> '€123.45'."""
    return format_currency(to_decimal(minor, currency), currency, locale=Locale.parse(locale))


# Banknotes in major units, for the cash screen's quick amounts. A currency not listed gets the
# 1-2-5 series (1, 2, 5, 10, 20, 50, ... of its major unit), which is how most notes run.
BANKNOTES: dict[str, tuple[int, ...]] = {
    "USD": (1, 2, 5, 10, 20, 50, 100),
    "EUR": (5, 10, 20, 50, 100, 200, 500),
    "GBP": (5, 10, 20, 50),
    "CHF": (10, 20, 50, 100, 200, 1000),
    "CAD": (5, 10, 20, 50, 100),
    "AUD": (5, 10, 20, 50, 100),
    "JPY": (1000, 2000, 5000, 10000),
    "INR": (10, 20, 50, 100, 200, 500),
    "KES": (50, 100, 200, 500, 1000),
    "NGN": (5, 10, 20, 50, 100, 200, 500, 1000),
}
QUICK_AMOUNTS = 3


def round_cash_amounts(total_minor: int, currency: str, count: int = QUICK_AMOUNTS) -> list[int]:
    """The next `count` round amounts a customer may hand over for `total_minor`: banknotes above
    the total ($6.20 in USD: $10, $20, $50), then multiples of the largest note."""
    if total_minor <= 0:
        return []
    unit = 10 ** decimals(currency)
    notes = BANKNOTES.get(currency)
    found: list[int] = []
    if notes:
        found = [n * unit for n in notes if n * unit > total_minor][:count]
        largest = notes[-1] * unit
        step = total_minor // largest + 1
        while len(found) < count:
            amount = step * largest
            if amount > total_minor and amount not in found:
                found.append(amount)
            step += 1
        return found
    scale = unit
    while len(found) < count:
        for m in (1, 2, 5):
            amount = m * scale
            if amount > total_minor and len(found) < count:
                found.append(amount)
        scale *= 10
    return found
