"""Money is parsed and shown in one place, as integer minor units of the store currency."""

from __future__ import annotations

import pytest

from db.errors import InvalidInput
from db.money import accepted_forms, format_money, parse_money, round_cash_amounts


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


# --- the cash screen's quick amounts -------------------------------------------------------------
def test_round_cash_amounts_are_the_next_notes_above_the_total():
    assert round_cash_amounts(620, "USD") == [1000, 2000, 5000]  # $6.20: $10, $20, $50
    assert round_cash_amounts(1000, "USD") == [2000, 5000, 10000]  # strictly above: Exact covers $10
    assert round_cash_amounts(99, "USD") == [100, 200, 500]
    assert round_cash_amounts(12_345, "USD") == [20_000, 30_000, 40_000]  # past $100: hundreds
    assert round_cash_amounts(620, "EUR") == [1000, 2000, 5000]
    assert round_cash_amounts(1_200, "GBP") == [2000, 5000, 10_000]
    assert round_cash_amounts(620, "JPY") == [1000, 2000, 5000]  # no decimals: ¥620 → ¥1,000 …


def test_round_cash_amounts_fall_back_to_a_1_2_5_series_scaled_to_the_decimals():
    assert round_cash_amounts(620, "XOF") == [1000, 2000, 5000]  # 0 decimals, notes not listed
    assert round_cash_amounts(620, "KWD") == [1000, 2000, 5000]  # 3 decimals: 0.620 → 1, 2, 5 dinars
    assert round_cash_amounts(4_321, "KWD") == [5000, 10_000, 20_000]
    assert round_cash_amounts(0, "USD") == [] and round_cash_amounts(-5, "XOF") == []
