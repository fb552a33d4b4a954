"""Money is parsed and shown in one place, as integer minor units of the store currency."""

from __future__ import annotations

import pytest

from db.errors import InvalidInput
from db.money import accepted_forms, format_money, parse_money


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12", "USD", 1200),
        ("1.50", "USD", 150),
        ("1,50", "USD", 150),
        ("1.5", "USD", 150),
        (" 0.01 ", "EUR", 1),
        ("0", "USD", 0),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),  # three decimals
        ("999999999.99", "USD", 99999999999),
        ("１２", "USD", 1200),  # digits typed on a full-width or Arabic keyboard mean what they say
        ("١٢٫", "USD", None),
    ],
)
def test_parse(text, currency, minor):
    if minor is None:
        with pytest.raises(InvalidInput):
            parse_money(text, currency)
    else:
        assert parse_money(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1,500", "USD"),  # a thousands separator or three decimals? ambiguous: refused
        ("1.500", "USD"),
        ("-1", "USD"),
        ("1.5", "JPY"),  # the yen has no minor unit
        ("1 000", "USD"),
        ("$5", "USD"),
        ("1e3", "USD"),
        ("", "USD"),
        ("10000000000000", "USD"),  # over the sanity bound
    ],
)
def test_refused_with_the_accepted_forms(text, currency):
    with pytest.raises(InvalidInput) as err:
        parse_money(text, currency)
    assert "too large" in err.value.message or accepted_forms(currency) in err.value.message


def test_sums_stay_exact():
    # 0.10 + 0.20 is 0.30 in minor units, never 0.30000000000000004.
    assert parse_money("0.10", "USD") + parse_money("0.20", "USD") == parse_money("0.30", "USD")
    assert sum(parse_money("0.10", "USD") for _ in range(1000)) == 10000


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [(12345, "USD", "$123.45"), (5, "EUR", "€0.05"), (1500, "JPY", "¥1,500"), (1234, "KWD", "KWD1.234")],
)
def test_format(minor, currency, shown):
    assert format_money(minor, currency) == shown
