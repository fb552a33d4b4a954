"""Telegram's limits hold whatever the user types: the longest text Telegram allows (4096
characters), sent as the argument of every command and at every step of every dialog, gets a
polite answer under the limits, with the input clipped where it is echoed, and no error.

Commands come from handlers/menu.COMMANDS and dialog steps from the states of the registered
ConversationHandlers, so a new command or step is covered, or this test fails until it has a way in.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from telegram.ext import ConversationHandler

import handlers
from bot.testing.chat import ChatClient
from bot.testing.fake_telegram import MAX_TEXT
from db import stock as stock_db
from db.engine import transaction
from db.periods import PERIOD_FORMS
from db.text import clip
from handlers.errors import NOT_SAVED
from handlers.menu import COMMANDS
from handlers.products import EDIT_FIELDS
from tests import factories
from tests.chat.conftest import ADMIN_ID

LONGEST = MAX_TEXT  # what Telegram lets a user send in one message
ECHO_LIMIT = 129  # no reply repeats more of what the user typed than a stored name (128) holds


def _filled(prefix: str, unit: str, length: int = LONGEST) -> str:
    """`prefix` then `unit` repeated, exactly `length` characters in all."""
    return (prefix + "".join(itertools.repeat(unit, length)))[:length]


# What follows a command: a junk word, a known product then junk (a price, a quantity), numbers
# with spaces, fields separated by | (for /add), an /staff sub-command, a period then junk.
ARGUMENTS = ("x&<", "MILK1 x&<", "MILK1 9 ", "Rye | 2.50 | 5 | x", "add 4242 cashier x", "2026-11-16..x")
# What is typed at a dialog step: a junk word, digits (a number far too big), words.
STEP_TEXTS = ("x&<", "9", "MILK1 9 ")


class _Recorder:
    """Takes what handlers.register adds, in place of an Application (which would check persistence)."""

    def __init__(self) -> None:
        self.added: list = []

    def add_handler(self, handler, group: int = 0) -> None:
        self.added.append(handler)

    def add_handlers(self, handlers, group: int = 0) -> None:
        self.added += list(handlers)

    def add_error_handler(self, callback) -> None:
        pass


def _discover_dialog_steps() -> list[tuple[str, object]]:
    """(dialog name, state) of every ConversationHandler the bot registers."""
    recorder = _Recorder()
    handlers.register(recorder)  # type: ignore[arg-type]
    return [(h.name, state) for h in recorder.added if isinstance(h, ConversationHandler) for state in h.states]


DIALOG_STEPS = _discover_dialog_steps()


# --- ways into each dialog step (typed and tapped as the admin, who may do everything) -----------
Recipe = Callable[[ChatClient], Awaitable[None]]


CUSTOMER = "👤 Customer"  # the payment screen's button to the customer step


async def _checkout(client: ChatClient, *then: str) -> None:
    await client.send("/checkout")
    for label in then:
        await client.tap(label)


async def _archive_then_checkout(client: ChatClient) -> None:
    await client.send("/archive OLD1")  # it sits in the cart
    await client.send("/checkout")


async def _cash_to_type(client: ChatClient) -> None:
    """The step that asks for the cash tendered: cash chosen without an amount (a Cash button of an
    older payment screen; today's screen offers Exact and round amounts, or a typed one)."""
    await _checkout(client)
    await client.press("co:pay:0")


async def _new_customer_at_checkout(client: ChatClient, *texts: str) -> None:
    await _checkout(client, CUSTOMER, "New customer")
    for text in texts:
        await client.send(text)


async def _add(client: ChatClient, *texts: str) -> None:
    await client.send("/add")
    for text in texts:
        await client.send(text)


async def _newcustomer(client: ChatClient, *texts: str) -> None:
    await client.send("/newcustomer")
    for text in texts:
        await client.send(text)


async def _shift_count(client: ChatClient) -> None:
    await client.send("/shift open 50.00")
    await client.send("/shift close")


def _edit(field: int) -> Recipe:
    async def recipe(client: ChatClient) -> None:
        await client.send("/edit MILK1")
        await client.tap(EDIT_FIELDS[field][1])

    return recipe


@dataclass(frozen=True)
class Way:
    dialog: str
    state: object
    recipe: Recipe
    label: str


WAYS_IN: list[Way] = [
    Way("checkout", "checkout:customer", lambda c: _checkout(c, CUSTOMER), "customer"),
    Way("checkout", "checkout:archived", lambda c: _archive_then_checkout(c), "archived"),
    Way("checkout", "checkout:find", lambda c: _checkout(c, CUSTOMER, "Find customer"), "find"),
    Way("checkout", "checkout:new-name", lambda c: _new_customer_at_checkout(c), "new name"),
    Way("checkout", "checkout:new-phone", lambda c: _new_customer_at_checkout(c, "Bob Builder"), "new phone"),
    Way(
        "checkout",
        "checkout:new-email",
        lambda c: _new_customer_at_checkout(c, "Bob Builder", "+49 151 23456789"),
        "new email",
    ),
    Way("checkout", "checkout:payment", lambda c: _checkout(c), "payment"),
    Way("checkout", "checkout:tendered", _cash_to_type, "tendered"),
    Way("checkout", "checkout:confirm", lambda c: _checkout(c, "Card"), "confirm"),
    Way("newcustomer", "newcustomer:name", lambda c: _newcustomer(c), "name"),
    Way("newcustomer", "newcustomer:phone", lambda c: _newcustomer(c, "Bob Builder"), "phone"),
    Way("newcustomer", "newcustomer:email", lambda c: _newcustomer(c, "Bob Builder", "+49 151 23456780"), "email"),
    Way("add_product", 0, lambda c: _add(c), "name"),
    Way("add_product", 1, lambda c: _add(c, "Rye bread"), "price"),
    Way("add_product", 2, lambda c: _add(c, "Rye bread", "2.50"), "stock"),
    Way("add_product", 3, lambda c: _add(c, "Rye bread", "2.50", "5"), "category"),
    Way("add_product", 4, lambda c: _add(c, "Rye bread", "2.50", "5", "Bakery"), "sku"),
    Way("add_product", 5, lambda c: _add(c, "Rye bread", "2.50", "5", "Bakery", "RYE1"), "confirm"),
    *(Way("edit_product", 10, _edit(field), f"edit {label}") for field, (_, label) in EDIT_FIELDS.items()),
    Way("shift", "shift:count", _shift_count, "shift count"),
]


def test_every_dialog_step_has_a_way_in():
    assert {str(step) for step in DIALOG_STEPS} == {str((w.dialog, w.state)) for w in WAYS_IN}


# --- the shop and the checks ----------------------------------------------------------------------
@pytest.fixture
async def stocked(shop, session_factory) -> None:
    """Products, a customer, and milk and cheese in the admin's cart."""
    async with transaction(session_factory) as session:
        milk = await factories.make_product(
            session, name="Whole milk", sku="MILK1", price_minor=150, stock=50, category="Dairy"
        )
        await factories.make_customer(session, name="Jane Doe", phone="+4915112345678")
        old = await factories.make_product(session, name="Old cheese", sku="OLD1", price_minor=500, stock=5)
        await factories.fill_cart(session, chat_id=ADMIN_ID, items=[(milk, 1), (old, 1)])


async def _send_longest(client: ChatClient, text: str) -> None:
    """Send `text`; the reply is polite, under the limits, and echoes little of it."""
    assert len(text) == LONGEST
    before = len(client.messages)
    seen = {m.message_id: m.edits for m in client.messages}
    await client.send(text)  # the client fails the test if a handler raised (a reply too long does)
    changed = client.messages[before:] + [m for m in client.messages[:before] if m.edits != seen.get(m.message_id)]
    assert changed, f"no answer to {text[:40]}…"
    body = text.split(maxsplit=1)[-1] if text.startswith("/") else text
    for message in changed:
        assert len(message.text) < MAX_TEXT
        assert NOT_SAVED not in message.text and "something went wrong" not in message.text
        assert body[:ECHO_LIMIT] not in message.text, f"echoed whole: {message.text[:200]}…"


@pytest.mark.parametrize("command", [name for name, _, _ in COMMANDS])
async def test_longest_text_as_a_commands_argument(shop, stocked, command):
    admin = shop.client(ADMIN_ID, "Ada")
    for argument in ARGUMENTS:
        await _send_longest(admin, _filled(f"/{command} ", argument))
        await admin.send("/cancel")


@pytest.mark.parametrize("way", WAYS_IN, ids=lambda w: f"{w.dialog}-{w.label}")
async def test_longest_text_at_every_dialog_step(shop, stocked, way):
    admin = shop.client(ADMIN_ID, "Ada")
    for text in STEP_TEXTS:
        await way.recipe(admin)
        await _send_longest(admin, _filled("", text))
        await admin.send("/cancel")


# --- a big sale: 70 lines, 64-character SKUs, 128-character names ---------------------------------
BIG_SALE_LINES = 70


def _long_name(i: int) -> str:
    return _filled(f"{i:02d} Crème brûlée & <co> ", "é", 128)


def _long_sku(i: int) -> str:
    return _filled(f"SKU{i:02d}-", "X", 64)


@pytest.fixture
async def big_cart(shop, session_factory) -> list[int]:
    """The admin's cart holds 70 products with the longest names and SKUs there can be."""
    ids = []
    async with transaction(session_factory) as session:
        for i in range(BIG_SALE_LINES):
            product = await factories.make_product(
                session, name=_long_name(i), sku=_long_sku(i), price_minor=123_456 + i, stock=5
            )
            ids.append(product.id)
            await factories.fill_cart(session, chat_id=ADMIN_ID, items=[(product, 2)])
    return ids


def _all_text(client: ChatClient, since: int) -> str:
    return "\n".join(m.text for m in client.messages[since:])


def _sent_since(client: ChatClient, since: int) -> list:
    new = client.messages[since:]
    assert all(len(m.text) < MAX_TEXT for m in new)
    return new


async def test_a_70_line_sale_fits_every_screen(shop, session_factory, big_cart):
    admin = shop.client(ADMIN_ID, "Ada")
    # The shortage screen: every product sold out between the confirm screen and the tap.
    await _checkout(admin, "Card")
    async with transaction(session_factory) as session:
        for product_id in big_cart:
            await stock_db.adjust(session, product_id=product_id, delta=-4, reason="broken", actor=None)
    before = len(admin.messages)
    await admin.tap("Confirm")  # the client fails the test if a reply was too long for Telegram
    assert "Not enough stock" in admin.text or "Not enough stock" in _all_text(admin, before - 1)
    assert "Checkout" in admin.buttons and admin.last_reply.buttons, "the cart's buttons are on the last part"
    assert await factories.count_sales(session_factory) == 0

    # The receipt of the sale, once there is stock again.
    async with transaction(session_factory) as session:
        for product_id in big_cart:
            await stock_db.restock(session, product_id=product_id, qty=10, actor=None)
    await _checkout(admin, "Card")
    before = len(admin.messages)
    await admin.tap("Confirm")
    receipt_text = "\n".join(m.text for m in [admin.messages[before - 1], *_sent_since(admin, before)])
    assert all(clip(_long_name(i), 64) in receipt_text for i in range(BIG_SALE_LINES)), "every line is on it"
    assert await factories.count_sales(session_factory) == 1
    sale_id = 1 if "#1" in receipt_text else None
    assert sale_id, receipt_text[:300]

    # /sale and /refund: split, the buttons on the last part.
    for command, button_label in ((f"/sale {sale_id}", "Refund…"), (f"/refund {sale_id}", "Keep the sale")):
        before = len(admin.messages)
        await admin.send(command)
        parts = _sent_since(admin, before)
        assert len(parts) > 1 and [label for label, _ in parts[-1].buttons] and not parts[0].buttons
        assert button_label in [label for label, _ in parts[-1].buttons]
        assert all(_long_sku(i) in _all_text(admin, before) for i in range(BIG_SALE_LINES)), command
    # Refund… on the /sale screen redraws it, still split, with the question's buttons last.
    await admin.send(f"/sale {sale_id}")
    before = len(admin.messages)
    await admin.tap("Refund…")
    assert "Keep the sale" in [label for label, _ in admin.last_reply.buttons]
    await admin.tap("Refund")
    assert await factories.count_sales(session_factory) == 1
    assert "refunded" in _all_text(admin, before - 1).lower()


# --- extreme dates --------------------------------------------------------------------------------
EXTREME_PERIODS = ("9999-12-31", "0001-01-01", "0001-01-01..9999-12-31", "2026-01-01..9999-12-31")


@pytest.mark.parametrize("command", ["report", "sales", "audit"])
async def test_extreme_dates_get_the_accepted_forms(shop, command):
    admin = shop.client(ADMIN_ID, "Ada")
    for period in EXTREME_PERIODS:
        await admin.send(f"/{command} {period}")  # the client fails the test if a handler raised
        assert PERIOD_FORMS in admin.text and "1970-01-01 to 2999-12-31" in admin.text, admin.text
    await admin.send(f"/{command} 2999-12-31")  # the last day there is still works
    assert PERIOD_FORMS not in admin.text
