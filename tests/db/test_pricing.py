"""Pricing rules: hand-computed figures, and properties that hold for any cart (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.pricing import (
    DiscountRule,
    LineIn,
    PaymentError,
    percent_of,
    price_cart,
    refund_share,
    round_div,
    spread,
    take_payment,
)

VAT, ZERO, SALES = 1600, 0, 725  # 16%, 0%, 7.25%


def test_rounding_is_half_away_from_zero():
    assert [round_div(n, 2) for n in (1, 3, 5, -1, -3)] == [1, 2, 3, -1, -2]
    assert round_div(249, 100) == 2 and round_div(250, 100) == 3
    assert percent_of(316, 500) == 16  # 5% of 3.16 is 0.158 -> 0.16
    assert percent_of(310, 500) == 16  # 0.155 -> 0.16 (half up, not to even)
    assert percent_of(290, 500) == 15  # 0.145 -> 0.15


def test_spread_by_largest_remainder():
    # 100 over 600/300/1000: 31.58, 15.79, 52.63 -> floors 31+15+52 = 98; the two largest
    # remainders (15.79, 52.63) get the last two cents.
    assert spread(100, [600, 300, 1000]) == [31, 16, 53]
    assert spread(1, [1, 1, 1]) == [1, 0, 0]  # a tie goes to the earlier line
    assert spread(0, [0, 0]) == [0, 0]


# The hand-computed cart: A 2 x 3.16 at 16% with a 5% line discount, B 3 x 1.00 at 0%,
# C 1 x 10.00 at 7.25%, and a cart discount of 1.00.
#   A gross 6.32, 5% of 6.32 = 0.316 -> 0.32, so 6.00; B 3.00; C 10.00; together 19.00.
#   The 1.00 cart discount spreads as A 0.31, B 0.16, C 0.53 (above), so nets are
#   A 5.69, B 2.84, C 9.47.
HAND_CART = [
    LineIn(unit_price_minor=316, quantity=2, rate_bp=VAT, discount=DiscountRule(percent_bp=500)),
    LineIn(unit_price_minor=100, quantity=3, rate_bp=ZERO),
    LineIn(unit_price_minor=1000, quantity=1, rate_bp=SALES),
]


def test_hand_computed_cart_prices_include_tax():
    cart = price_cart(HAND_CART, cart_discount=DiscountRule(amount_minor=100), prices_include_tax=True)
    a, b, c = cart.lines
    assert (a.gross_minor, a.line_discount_minor, a.cart_discount_minor, a.net_minor) == (632, 32, 31, 569)
    assert (b.gross_minor, b.line_discount_minor, b.cart_discount_minor, b.net_minor) == (300, 0, 16, 284)
    assert (c.gross_minor, c.line_discount_minor, c.cart_discount_minor, c.net_minor) == (1000, 0, 53, 947)
    # Inclusive: A 5.69 x 16/116 = 0.7848 -> 0.78; B none; C 9.47 x 7.25/107.25 = 0.6402 -> 0.64.
    assert [line.tax_minor for line in cart.lines] == [78, 0, 64]
    assert [line.total_minor for line in cart.lines] == [569, 284, 947]
    assert (cart.gross_minor, cart.discount_minor, cart.tax_minor, cart.total_minor) == (1932, 132, 142, 1800)
    assert cart.tax_by_rate() == {VAT: (78, 491), ZERO: (0, 284), SALES: (64, 883)}


def test_hand_computed_cart_tax_on_top():
    cart = price_cart(HAND_CART, cart_discount=DiscountRule(amount_minor=100), prices_include_tax=False)
    # Exclusive: A 5.69 x 16% = 0.9104 -> 0.91; C 9.47 x 7.25% = 0.686575 -> 0.69.
    assert [line.tax_minor for line in cart.lines] == [91, 0, 69]
    assert [line.total_minor for line in cart.lines] == [660, 284, 1016]
    assert (cart.gross_minor, cart.discount_minor, cart.tax_minor, cart.total_minor) == (1932, 132, 160, 1960)


def test_hand_computed_percentage_cart_discount():
    # 10% of what the lines are after their own discounts (19.00) is 1.90: 0.60, 0.30, 1.00.
    cart = price_cart(HAND_CART, cart_discount=DiscountRule(percent_bp=1000))
    assert [line.cart_discount_minor for line in cart.lines] == [60, 30, 100]
    assert cart.total_minor == 1710


def test_hand_computed_split_and_partial_return():
    total = 1800
    card = take_payment(total, "card", 1000, cash=False)
    cash = take_payment(total - card.amount_minor, "cash", 2000, cash=True)
    assert (cash.amount_minor, cash.tendered_minor, cash.change_minor) == (800, 2000, 1200)
    assert card.amount_minor + cash.amount_minor == total
    # One of A's two units (paid 5.69, tax 0.78): 2.845 -> 2.85 and 0.39; the other 2.84 and 0.39.
    assert refund_share(569, 2, 0, 1) == 285 and refund_share(78, 2, 0, 1) == 39
    assert refund_share(569, 2, 1, 1) == 284 and refund_share(78, 2, 1, 1) == 39


def test_discounts_never_go_below_zero():
    cart = price_cart(
        [LineIn(unit_price_minor=100, quantity=1, discount=DiscountRule(amount_minor=500))],
        cart_discount=DiscountRule(amount_minor=999),
    )
    assert cart.lines[0].line_discount_minor == 100 and cart.total_minor == 0


def test_payment_errors():
    with pytest.raises(PaymentError):
        take_payment(100, "card", 101, cash=False)
    with pytest.raises(PaymentError):
        take_payment(0, "cash", 100, cash=True)
    with pytest.raises(PaymentError):
        take_payment(100, "card", 0, cash=False)
    with pytest.raises(ValueError):
        refund_share(100, 2, 1, 2)
    with pytest.raises(ValueError):
        DiscountRule(percent_bp=10001)


# --- properties -----------------------------------------------------------------------------------

rates = st.sampled_from([0, 500, 725, 1600, 2000, 2500])
discounts = st.one_of(
    st.none(),
    st.builds(DiscountRule, percent_bp=st.integers(0, 10_000)),
    st.builds(DiscountRule, amount_minor=st.integers(0, 50_000)),
)
lines = st.builds(
    LineIn,
    unit_price_minor=st.integers(0, 100_000),
    quantity=st.integers(1, 50),
    rate_bp=rates,
    discount=discounts,
)
carts = st.lists(lines, min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(cart_lines=carts, cart_discount=discounts, inclusive=st.booleans(), data=st.data())
def test_properties_of_any_cart(cart_lines, cart_discount, inclusive, data):
    cart = price_cart(cart_lines, cart_discount=cart_discount, prices_include_tax=inclusive)

    # Nothing negative, and the figures add up.
    for line in cart.lines:
        assert min(line.line_discount_minor, line.cart_discount_minor, line.net_minor, line.tax_minor) >= 0
        assert line.net_minor == line.gross_minor - line.discount_minor
        assert line.tax_minor <= line.total_minor
    assert cart.gross_minor - cart.discount_minor + (0 if inclusive else cart.tax_minor) == cart.total_minor
    # The per-rate tax is the lines' tax.
    by_rate = cart.tax_by_rate()
    assert sum(tax for tax, _ in by_rate.values()) == cart.tax_minor
    assert sum(tax + net for tax, net in by_rate.values()) == cart.total_minor

    # Any split pays the total exactly: random parts by card, the rest in cash with change.
    remaining, payments = cart.total_minor, []
    while remaining > 0 and len(payments) < 4:
        part = data.draw(st.integers(1, remaining))
        payments.append(take_payment(remaining, "card", part, cash=False))
        remaining -= part
    if remaining > 0:
        tendered = remaining + data.draw(st.integers(0, 10_000))
        cash = take_payment(remaining, "cash", tendered, cash=True)
        assert cash.change_minor is not None and cash.change_minor >= 0
        payments.append(cash)
    assert sum(p.amount_minor for p in payments) == cart.total_minor

    # Returning every unit, in any number of returns, pays back exactly what was paid.
    for line, line_in in zip(cart.lines, cart_lines, strict=True):
        returned, paid_back, tax_back = 0, 0, 0
        while returned < line_in.quantity:
            step = data.draw(st.integers(1, line_in.quantity - returned))
            share = refund_share(line.total_minor, line_in.quantity, returned, step)
            tax_share = refund_share(line.tax_minor, line_in.quantity, returned, step)
            assert share >= 0 and tax_share >= 0
            paid_back += share
            tax_back += tax_share
            returned += step
        assert (paid_back, tax_back) == (line.total_minor, line.tax_minor)
