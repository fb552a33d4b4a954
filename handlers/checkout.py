"""/checkout: review → payment (the customer a button there) → cash tendered → Confirm → receipt.

With no customer chosen the checkout goes straight to the payment: cash by a tap on Exact or on
the next round notes above the total, or any amount typed; Card; Mobile money; and "Customer" to
find or register one first. A product card's "Add N · check out" adds and comes here at once.
A payment can be split: `2.00 card` typed at the payment step pays that part by card, and the
screen then asks for what is left (its buttons pay the rest); any number of parts, until the total
is covered exactly. Cash is tendered for its own part only, and only cash gives change.

A ConversationHandler per chat and user. What the cashier chose so far (customer, payment, cash)
is a draft in chat_data; the cart itself stays in the database and is re-read at every step.
The review refuses to go on while the cart holds a product no longer on sale, and offers to remove
it. Each Confirm screen gets a number in the chat; its button carries the cart id, the cart
version and that number, and the draft remembers the number and the total of the screen now on
show. The checkout records the sale under (cart, version) at that total: a second tap, a replayed
update or a Confirm pressed after a restart finds the sale already recorded; a Confirm from an
older version of the cart is refused as stale and the cart is shown as it is now; a Confirm of an
older screen (the draft changed since: another payment, customer or cash) or one whose total no
longer holds (a price changed) records nothing and shows the checkout as it is now, saying what
changed. /cancel leaves at any step and keeps the cart.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from db import carts as carts_db
from db import checkout as checkout_db
from db import customers as customers_db
from db import loyalty as loyalty_db
from db import shifts as shifts_db
from db.carts import CartView
from db.errors import Conflict, InvalidInput, OutOfStock, PosError, StaleCart, TotalChanged
from db.models import PaymentMethod, Role
from db.money import parse_money, round_cash_amounts, to_decimal
from db.pricing import PaymentError, PaymentIn, take_payment
from handlers.access import open_dialog, pressed, requires
from handlers.cart import EMPTY, FOREIGN_CART, cart_lines, cart_screen, own_cart
from handlers.context import PosContext
from handlers.customers import (
    PHONE_EXAMPLE,
    check_name,
    check_phone,
    is_skip,
    newcustomer_open,
    optional_email,
    phone_owner,
)
from handlers.receipts import receipt_keyboard
from handlers.render import (
    CB_INT_MAX,
    button,
    cb,
    cb_args,
    cb_pattern,
    chat_receipt,
    clip,
    customer_label,
    customer_line,
    esc,
    keyboard,
    lines,
    money,
    payment_label,
    points_text,
    quoted,
    split_message,
)
from handlers.reply import STALE_BUTTON, answer, refuse, send, show
from handlers.subscriptions import notify_low_stock

NS = "co"
log = logging.getLogger(__name__)
END = ConversationHandler.END

# The steps of the dialog.
ARCHIVED = "checkout:archived"
CUSTOMER = "checkout:customer"
FIND = "checkout:find"
NEW_NAME = "checkout:new-name"
NEW_PHONE = "checkout:new-phone"
NEW_EMAIL = "checkout:new-email"
PAYMENT = "checkout:payment"
TENDERED = "checkout:tendered"
CONFIRM = "checkout:confirm"

METHODS = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.MOBILE)  # index = button payload
# What a typed payment part may name its method by: "2.00 card", "1 mobile money", "5 cash".
METHOD_WORDS = {
    "cash": PaymentMethod.CASH,
    "card": PaymentMethod.CARD,
    "mobile": PaymentMethod.MOBILE,
    "mobile money": PaymentMethod.MOBILE,
    "momo": PaymentMethod.MOBILE,
    "points": PaymentMethod.POINTS,
    "point": PaymentMethod.POINTS,
    "pts": PaymentMethod.POINTS,
}
MAX_PARTS = 10  # a split of more parts than this is a mistake, not a sale
FIND_LIMIT = 8

NO_SHIFT = f"No shift is open at this till, and this shop sells only in a shift. {shifts_db.OPEN_ONE}"
USE_BUTTONS = "Choose one of the buttons above, or /cancel to leave the checkout (the cart is kept)."
NOT_OPEN = "This checkout is no longer open: start again with /checkout."
CART_CHANGED = "The cart changed since that screen, so nothing was recorded. This is the cart now."


@dataclass
class Draft:
    """The cashier's choices so far; the cart is never copied here."""

    cart_id: int
    customer_id: int | None = None
    customer_text: str | None = None  # HTML, for the screens
    new_name: str | None = None
    new_phone: str | None = None
    method: PaymentMethod | None = None  # the last payment: it pays what is left
    tendered_minor: int | None = None
    paid: list[PaymentIn] = field(default_factory=list)  # a split: the parts paid before the last
    confirm_version: int | None = None  # the version the confirm screen showed
    confirm_screen: int | None = None  # the number of the confirm screen now on show
    confirm_total: int | None = None  # the total it showed


# chat_data: the number of the newest Confirm screen, and what the last few of them showed (to say
# what changed when an older one is tapped). Plain values, so the chat's data can be persisted.
SCREEN_NUMBER_KEY = "confirm_screen_number"
SCREENS_KEY = "confirm_screens"
SCREENS_KEPT = 20


def _drafts(context: PosContext) -> dict[int, Draft]:
    return context.chat_data.setdefault("checkout", {})


def _draft(update: Update, context: PosContext) -> Draft | None:
    return _drafts(context).get(update.effective_user.id)


def _drop(update: Update, context: PosContext) -> None:
    _drafts(context).pop(update.effective_user.id, None)


# --- screens -----------------------------------------------------------------------------------
def _cancel_row() -> list[InlineKeyboardButton]:
    return [button("Cancel checkout", cb(NS, "cancel"))]


def _customer_rows(*, find: bool = True) -> list[list[InlineKeyboardButton]]:
    """No customer, Find customer (unless already finding), New customer; Cancel."""
    choices = [
        button("No customer", cb(NS, "none")),
        *([button("Find customer", cb(NS, "find"))] if find else []),
        button("New customer", cb(NS, "new")),
    ]
    return [choices, _cancel_row()]


def _heading(view: CartView, draft: Draft, currency: str) -> str:
    return lines(
        "🧾 <b>Checkout</b>",
        cart_lines(view, currency),
        f"Customer: {draft.customer_text or 'none'}",
    )


def _due(view: CartView, draft: Draft) -> int:
    """What is left to pay: the total less the parts of a split paid so far."""
    return view.total_minor - sum(part.amount_minor for part in draft.paid)


def _payments(view: CartView, draft: Draft) -> list[PaymentIn]:
    """The payments the sale would record: the parts so far, and the last one paying the rest."""
    return _payments_of(view.total_minor, draft)


def _payments_of(total_minor: int, draft: Draft) -> list[PaymentIn]:
    """The payments of a sale of `total_minor` (see _payments)."""
    if draft.method is None:
        return list(draft.paid)
    cash = draft.method is PaymentMethod.CASH
    due = total_minor - sum(part.amount_minor for part in draft.paid)
    last = PaymentIn(draft.method.value, due, draft.tendered_minor if cash else None)
    return [*draft.paid, last]


def _parts_text(payments: list[PaymentIn], currency: str, *, amounts: bool, cash: bool = True) -> str:
    """'Cash · tendered $10.00 · change $3.80', or with ``amounts`` 'Card $2.00; Cash $4.20 · …'
    (HTML); without ``cash``, no tendered and change. A part paid in cash before the last one was
    tendered exactly: no change to show."""
    parts = []
    for number, part in enumerate(payments, start=1):
        text = esc(payment_label(part.method))
        if amounts:
            text += f" {money(part.amount_minor, currency)}"
        if cash and part.tendered_minor is not None and (number == len(payments) or part.change_minor):
            change = money(part.change_minor or 0, currency)
            text += f" · tendered {money(part.tendered_minor, currency)} · change <b>{change}</b>"
        parts.append(text)
    return "; ".join(parts)


def _methods_text(view: CartView, draft: Draft, currency: str) -> str:
    """'Card', or the parts of a split with their amounts: what a Confirm screen's payment was."""
    payments = _payments(view, draft)
    if not payments:
        return "not chosen yet"
    return _parts_text(payments, currency, amounts=len(payments) > 1, cash=False)


def _payment_text(payments: list[PaymentIn], currency: str) -> str:
    split = len(payments) > 1
    return ("Payments: " if split else "Payment: ") + _parts_text(payments, currency, amounts=split)


def _cash_row(due: int, currency: str) -> list[InlineKeyboardButton]:
    """Exact, then the next round amounts above what is due: each a tap to pay that much cash."""
    amounts = [due, *round_cash_amounts(due, currency)]
    return [
        button(label, cb(NS, "cash", amount))
        for amount in amounts
        for label in [f"💵 Exact {money(amount, currency)}" if amount == due else money(amount, currency)]
        if 0 < amount <= CB_INT_MAX  # a total beyond a button's number is typed
    ]


def _points_used(draft: Draft) -> int:
    """The points the payment so far spends (one point is one minor unit)."""
    return sum(part.amount_minor for part in draft.paid if part.method == PaymentMethod.POINTS.value)


def _payment_screen(view: CartView, draft: Draft, currency: str, balance: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    """Cash, card, mobile money (for what is left); "⭐ Points" while the customer has points the
    payment does not spend yet."""
    due = _due(view, draft)
    rest = f" {money(due, currency)}" if draft.paid else ""  # a split: the buttons pay the rest
    others = [
        button(payment_label(m) + rest, cb(NS, "pay", METHODS.index(m))) for m in METHODS if m is not PaymentMethod.CASH
    ]
    available = balance - _points_used(draft)
    if available > 0:
        others.append(button(f"⭐ Points ({available:,})", cb(NS, "pts")))
    rows = [_cash_row(due, currency), others]
    paid = []
    if draft.paid:
        rows.append([button("↩ Start the payment again", cb(NS, "unpay", len(draft.paid)))])
        paid = [
            f"Paid so far: {_parts_text(draft.paid, currency, amounts=True)}",
            f"Left to pay: <b>{money(due, currency)}</b>",
        ]
    rows.append([button("👤 Customer", cb(NS, "cust")), *_cancel_row()])
    ask = "How does the customer pay? Tap the cash handed over, or type the amount."
    example = to_decimal(max(due // 2, 1), currency)
    split = f"To split it, type a part and its method, e.g. <code>{example} card</code>."
    if available > 0:
        split += f"\nThe customer has {points_text(available, currency)} to spend: <code>{example} points</code>."
    return lines(_heading(view, draft, currency), *paid, "", ask, split), keyboard(rows)


def _confirm_screen(view: CartView, draft: Draft, currency: str, number: int) -> tuple[str, InlineKeyboardMarkup]:
    payment = _payment_text(_payments(view, draft), currency)
    rows = [[button("✅ Confirm sale", cb(NS, "ok", view.cart_id, view.version, number))], _cancel_row()]
    return lines(_heading(view, draft, currency), payment, "", "Confirm the sale?"), keyboard(rows)


def _remember_screen(context: PosContext, view: CartView, draft: Draft) -> int:
    """Number a new Confirm screen and bind the draft to it (what it shows is kept, to compare)."""
    number = context.chat_data.get(SCREEN_NUMBER_KEY, 0) + 1
    context.chat_data[SCREEN_NUMBER_KEY] = number
    screens = context.chat_data.setdefault(SCREENS_KEY, {})
    screens[number] = {
        "total": view.total_minor,
        "payment": _methods_text(view, draft, context.currency),
        "tendered": draft.tendered_minor if draft.method is PaymentMethod.CASH else None,
        "customer": draft.customer_text,
    }
    for old in sorted(screens)[:-SCREENS_KEPT]:
        del screens[old]
    draft.confirm_version, draft.confirm_screen, draft.confirm_total = view.version, number, view.total_minor
    return number


def _what_changed(context: PosContext, number: int, draft: Draft, view: CartView) -> list[str]:
    """Lines (HTML) saying how the checkout now differs from what Confirm screen `number` showed."""
    shown = context.chat_data.get(SCREENS_KEY, {}).get(number)
    if shown is None:
        return []
    currency = context.currency
    changes = []

    def differs(what: str, then: str, now: str) -> None:
        if then != now:
            changes.append(f"• {what} is now {now} (that screen said {then}).")

    then = shown.get("payment") or esc(payment_label(shown.get("method")))  # (an older release kept the method)
    differs("Payment", then, _methods_text(view, draft, currency))

    def cash(minor: int | None) -> str:
        return money(minor, currency) if minor is not None else "none"

    if shown.get("tendered") is not None and draft.method is PaymentMethod.CASH:
        differs("Cash tendered", cash(shown["tendered"]), cash(draft.tendered_minor))
    differs("Customer", shown["customer"] or "none", draft.customer_text or "none")
    differs("Total", money(shown["total"], currency), money(view.total_minor, currency))
    return changes


def _ask_tendered(view: CartView, draft: Draft, currency: str) -> str:
    due = _due(view, draft)
    what = f"Left to pay <b>{money(due, currency)}</b>" if draft.paid else f"Total <b>{money(due, currency)}</b>"
    return f"{what}. Type the cash tendered, e.g. <code>{to_decimal(due, currency)}</code> or a round amount."


async def _read_cart(update: Update, context: PosContext) -> CartView | None:
    """The chat's cart as it is now; None (and the user told) if it cannot be read."""
    try:
        async with context.transaction() as session:
            return await carts_db.get_cart_view(
                session, chat_id=update.effective_chat.id, prices_include_tax=context.settings.prices_include_tax
            )
    except PosError as err:
        await refuse(update, context, err.message)
        return None


async def _next_screen(
    update: Update, context: PosContext, draft: Draft, view: CartView | None = None, note: str | None = None
) -> str | int | None:
    """The next screen for the cart as it is now (`view` when just read): payment, cash, or confirm.

    `note` (HTML) goes on top of it.
    """
    view = view or await _read_cart(update, context)
    if view is None:
        return None
    draft.confirm_screen = None  # until a new Confirm screen is drawn, no Confirm is current
    if view.is_empty:
        _drop(update, context)
        await show(update, context, lines(note, EMPTY))
        return END
    if draft.paid and _due(view, draft) <= 0:  # the total fell to what was paid or below: pay again
        draft.paid, draft.method, draft.tendered_minor = [], None, None
        note = lines(note, "⚠️ The total changed, so the payments so far were cleared.", "")
    balance = await _balance(context, draft)
    spent = _points_used(draft) + (_due(view, draft) if draft.method is PaymentMethod.POINTS else 0)
    if spent > balance:  # spent elsewhere meanwhile, or another customer: the points part goes
        _drop_points(draft)
        note = lines(note, "⚠️ The customer's points changed, so the points part was taken off.", "")
    if draft.method is None:
        text, markup = _payment_screen(view, draft, context.currency, balance)
        await show(update, context, lines(note, text), markup)
        return PAYMENT
    due = _due(view, draft)
    if draft.method is PaymentMethod.CASH and (draft.tendered_minor is None or draft.tendered_minor < due):
        await show(update, context, lines(note, _ask_tendered(view, draft, context.currency)))
        return TENDERED
    number = _remember_screen(context, view, draft)
    text, markup = _confirm_screen(view, draft, context.currency, number)
    await show(update, context, lines(note, text), markup)
    return CONFIRM


async def _balance(context: PosContext, draft: Draft) -> int:
    """The points the checkout's customer has (0 without a customer)."""
    if draft.customer_id is None:
        return 0
    async with context.reading() as session:
        return await loyalty_db.balance(session, customer_id=draft.customer_id)


def _drop_points(draft: Draft) -> None:
    """Take the points parts off the payment (the customer changed, or their points did)."""
    draft.paid = [part for part in draft.paid if part.method != PaymentMethod.POINTS.value]
    if draft.method is PaymentMethod.POINTS:
        draft.method = None


def _set_customer(draft: Draft, customer_id: int | None, text: str | None) -> None:
    """The checkout's customer; another customer's points are not theirs to spend."""
    if customer_id != draft.customer_id:
        _drop_points(draft)
    draft.customer_id, draft.customer_text = customer_id, text


async def _open_draft(update: Update, context: PosContext) -> Draft | None:
    """The draft of an open checkout, or None after telling the user there is none."""
    draft = _draft(update, context)
    if draft is None:
        await refuse(update, context, NOT_OPEN)
    return draft


# --- entry: review the cart ----------------------------------------------------------------------
@requires(Role.CASHIER)
async def start(update: Update, context: PosContext) -> str | int | None:
    """/checkout or the cart's Checkout button: review the cart and ask for the customer."""
    shown = None  # the (cart id, version) of the screen whose Checkout button was pressed
    if update.callback_query:
        shown = await pressed(update, context, NS, "go", 2)
        if shown is None:
            return None
    if newcustomer_open(update, context):
        await refuse(update, context, "Finish registering the customer first, or /cancel it.")
        return None
    view = await _read_cart(update, context)
    if view is None:
        return None
    if shown is not None:
        cart_id, version = shown
        if cart_id != view.cart_id:
            await refuse(update, context, FOREIGN_CART)
            return None
        if version != view.version:
            await answer(
                update, context, "The cart changed since that screen: check it, then tap Checkout.", alert=True
            )
            await show(update, context, *cart_screen(view, context.currency))
            return None
    return await _begin(update, context, view)


async def _begin(update: Update, context: PosContext, view: CartView) -> str | int | None:
    """A new checkout of the cart as it is now."""
    _drop(update, context)
    if view.is_empty:
        await show(update, context, EMPTY)
        return END
    if context.settings.require_shift:
        async with context.reading() as session:
            shift = await shifts_db.open_shift_of(session, chat_id=update.effective_chat.id)
        if shift is None:
            await show(update, context, esc(NO_SHIFT))
            return END
    draft = Draft(cart_id=view.cart_id)
    _drafts(context)[update.effective_user.id] = draft
    open_dialog(context)
    return await _review(update, context, view)


@requires(Role.CASHIER)
async def add_and_check_out(update: Update, context: PosContext) -> str | int | None:
    """ "Add N · check out" on a product card: into the cart, then straight to the payment."""
    args = await pressed(update, context, NS, "add", 2)
    if args is None:
        return None
    if newcustomer_open(update, context):
        await refuse(update, context, "Finish registering the customer first, or /cancel it.")
        return None
    product_id, qty = args
    try:
        async with context.transaction() as session:
            view = await carts_db.add_item(session, chat_id=update.effective_chat.id, product_id=product_id, qty=qty)
    except PosError as err:
        await refuse(update, context, err.message)
        return None
    return await _begin(update, context, view)


async def _review(update: Update, context: PosContext, view: CartView) -> str | int | None:
    """The first step: products no longer on sale, if any; else straight on to the payment."""
    archived = [line for line in view.lines if line.archived]
    if archived:
        names = ", ".join(f"“{esc(clip(line.name, 48))}”" for line in archived[:10])
        more = f" and {len(archived) - 10} more" if len(archived) > 10 else ""
        text = lines(
            "🧾 <b>Checkout</b>",
            cart_lines(view, context.currency),
            "",
            f"⚠️ No longer on sale: {names}{more}. Remove {'it' if len(archived) == 1 else 'them'} "
            "from the cart to check out?",
        )
        rows = [[button("Remove and continue", cb(NS, "drop", view.cart_id, view.version))], _cancel_row()]
        await show(update, context, text, keyboard(rows))
        return ARCHIVED
    draft = _draft(update, context)
    if draft is None:
        await refuse(update, context, NOT_OPEN)
        return END
    return await _next_screen(update, context, draft, view)


@requires(Role.CASHIER)
async def choose_customer(update: Update, context: PosContext) -> str | int | None:
    """ "Customer" on the payment screen: none, find or new; then back to the payment."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    view = await _read_cart(update, context)
    if view is None:
        return None
    text = lines(_heading(view, draft, context.currency), "", "Who is the customer?")
    await show(update, context, text, keyboard(_customer_rows()))
    return CUSTOMER


@requires(Role.CASHIER)
async def drop_archived(update: Update, context: PosContext) -> str | int | None:
    """Remove and continue: the products no longer on sale leave the cart; on to the customer."""
    if await _open_draft(update, context) is None:
        return END
    args = await pressed(update, context, NS, "drop", 2)
    if args is None:
        return None
    cart_id, version = args
    try:
        async with context.transaction() as session:
            view = await own_cart(
                session, update.effective_chat.id, cart_id, prices_include_tax=context.settings.prices_include_tax
            )
            if view.version == version:  # else the cart changed: review it as it is now
                view = await carts_db.remove_archived(session, chat_id=update.effective_chat.id)
    except PosError as err:
        await refuse(update, context, err.message)
        return None
    if view.is_empty:
        _drop(update, context)
        await show(update, context, EMPTY)
        return END
    return await _review(update, context, view)


# --- the customer --------------------------------------------------------------------------------
@requires(Role.CASHIER)
async def no_customer(update: Update, context: PosContext) -> str | int | None:
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    _set_customer(draft, None, None)
    return await _next_screen(update, context, draft)


@requires(Role.CASHIER)
async def find_customer(update: Update, context: PosContext) -> str | int | None:
    if await _open_draft(update, context) is None:
        return END
    await show(update, context, "Type the customer's name or phone number.", keyboard(_customer_rows(find=False)))
    return FIND


@requires(Role.CASHIER)
async def find_text(update: Update, context: PosContext) -> None:
    """A name or phone typed in the Find step: matching customers as buttons (stays in Find)."""
    text = update.effective_message.text.strip()
    try:
        async with context.reading() as session:
            found = await customers_db.find_customers(
                session, text=text, limit=FIND_LIMIT, default_region=context.settings.phone_region
            )
    except PosError as err:
        await send(update, context, f"{esc(err.message)}\nType a name or phone number, or /cancel.")
        return None
    other = _customer_rows(find=False)
    if not found:
        await send(
            update,
            context,
            f"No customer matches {esc(quoted(text))}. Type another name or phone number, or:",
            keyboard(other),
        )
        return None
    rows = [[button(customer_label(c), cb(NS, "pick", c.id))] for c in found]
    await send(update, context, "Tap the customer (or type another name):", keyboard(rows + other))
    return None


@requires(Role.CASHIER)
async def pick_customer(update: Update, context: PosContext) -> str | int | None:
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    args = await pressed(update, context, NS, "pick", 1)
    if args is None:
        return None
    try:
        async with context.reading() as session:
            customer = await customers_db.get_customer(session, customer_id=args[0])
    except PosError as err:
        await refuse(update, context, err.message)
        return None
    _set_customer(draft, customer.id, customer_line(customer))
    return await _next_screen(update, context, draft)


@requires(Role.CASHIER)
async def new_customer(update: Update, context: PosContext) -> str | int | None:
    if await _open_draft(update, context) is None:
        return END
    await show(update, context, "👤 New customer. What is their name?", keyboard([_cancel_row()]))
    return NEW_NAME


@requires(Role.CASHIER)
async def new_name(update: Update, context: PosContext) -> str | int | None:
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    try:
        draft.new_name = check_name(update.effective_message.text)
    except InvalidInput as err:
        await send(update, context, f"{esc(err.message)}\nType the customer's name, or /cancel.")
        return None
    await send(
        update, context, f"Phone number of {esc(clip(draft.new_name, 64))}? Write it {PHONE_EXAMPLE}, or type skip."
    )
    return NEW_PHONE


@requires(Role.CASHIER)
async def new_phone(update: Update, context: PosContext) -> str | int | None:
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    region = context.settings.phone_region
    if is_skip(update.effective_message.text):  # a phone is optional, as in /newcustomer
        draft.new_phone = None
        await send(update, context, "E-mail address? Type skip if there is none.")
        return NEW_EMAIL
    try:
        phone = check_phone(update.effective_message.text, region)
        async with context.reading() as session:
            owner = await phone_owner(session, phone, region)
    except PosError as err:
        await send(update, context, f"{esc(err.message)}\nType the phone number again, skip, or /cancel.")
        return None
    if owner is not None:
        rows = [[button(f"Use {customer_label(owner)}", cb(NS, "pick", owner.id))], _cancel_row()]
        await send(
            update,
            context,
            f"{esc(phone)} already belongs to {customer_line(owner)}. Use them, or type another number.",
            keyboard(rows),
        )
        return None
    draft.new_phone = phone
    await send(update, context, "E-mail address? Type skip if there is none.")
    return NEW_EMAIL


@requires(Role.CASHIER)
async def new_email(update: Update, context: PosContext) -> str | int | None:
    """The last step of a new customer: register them, then on to the payment."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    try:
        email = optional_email(update.effective_message.text)
    except InvalidInput as err:
        await send(update, context, f"{esc(err.message)}\nType the e-mail address, or skip.")
        return None
    try:
        async with context.transaction() as session:
            customer = await customers_db.register_customer(
                session,
                name=draft.new_name or "",
                phone=draft.new_phone,
                email=email,
                default_region=context.settings.phone_region,
            )
    except Conflict as err:  # the number was taken meanwhile
        await send(update, context, f"{esc(err.message)}\nType another phone number, or /cancel.")
        return NEW_PHONE
    except PosError as err:
        await send(update, context, f"{esc(err.message)}\nType the e-mail address, or skip.")
        return None
    _set_customer(draft, customer.id, customer_line(customer))
    await send(update, context, f"✅ {customer_line(customer)} is registered.")
    return await _next_screen(update, context, draft)


# --- payment -------------------------------------------------------------------------------------
@requires(Role.CASHIER)
async def pay(update: Update, context: PosContext) -> str | int | None:
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    args = cb_args(update.callback_query.data, NS, "pay", 1)
    if args is None or not 0 <= args[0] < len(METHODS):
        await refuse(update, context, STALE_BUTTON)
        return None
    draft.method, draft.tendered_minor = METHODS[args[0]], None
    return await _next_screen(update, context, draft)


@requires(Role.CASHIER)
async def cash(update: Update, context: PosContext) -> str | int | None:
    """Exact or a round amount on the payment screen: that much cash tendered (below a total that
    has grown since, the cash step asks for the amount)."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    args = await pressed(update, context, NS, "cash", 1)
    if args is None:
        return None
    if args[0] < 0:
        await refuse(update, context, STALE_BUTTON)
        return None
    draft.method, draft.tendered_minor = PaymentMethod.CASH, args[0]
    return await _next_screen(update, context, draft)


def _typed_payment(text: str, currency: str) -> tuple[int, PaymentMethod | None]:
    """'10' (cash tendered) or '2.00 card' (a part and its method) as (amount, method or None)."""
    found = re.fullmatch(r"\s*(.*?\d)\s*([^\d\s.,][^\d]*?)?\s*", text, flags=re.DOTALL)
    words = (found.group(2) or "").strip().lower() if found else ""
    method = None
    if words:
        method = METHOD_WORDS.get(" ".join(words.split()))
        if method is None:
            raise InvalidInput(f"Pay by which method? {quoted(words)} is not one of: cash, card, mobile, points.")
    return parse_money(found.group(1) if found and words else text, currency), method


@requires(Role.CASHIER)
async def tendered(update: Update, context: PosContext) -> str | int | None:
    """Typed at the payment or the cash step: the cash tendered for what is left (at least that,
    then the change), or a part of a split with its method (`2.00 card`)."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    currency = context.currency
    hint = "Type the cash tendered, or /cancel. To pay a part, type it with its method: <code>2.00 card</code>."
    try:
        amount, method = _typed_payment(update.effective_message.text or "", currency)
    except InvalidInput as err:
        await send(update, context, f"{esc(err.message)}\n{hint}")
        return None
    view = await _read_cart(update, context)
    if view is None:
        return None
    due = _due(view, draft)
    if draft.paid and due <= 0:  # the total fell since the parts were paid: _next_screen starts again
        return await _next_screen(update, context, draft, view)
    if amount <= 0:
        await send(update, context, f"A payment is more than zero. {hint}")
        return None
    if method is None and amount < due:
        await send(
            update,
            context,
            f"{money(amount, currency)} is {money(due - amount, currency)} short of the "
            f"{'rest' if draft.paid else 'total'} <b>{money(due, currency)}</b>. Type the cash tendered, or "
            f"<code>{to_decimal(amount, currency)} cash</code> to take it as part of the payment.",
        )
        return None
    method = method or PaymentMethod.CASH
    if method is PaymentMethod.POINTS:
        available = await _balance(context, draft) - _points_used(draft)
        problem = None
        if draft.customer_id is None:
            problem = "Points need the customer: tap 👤 Customer first."
        elif amount > available:
            problem = f"The customer has only {points_text(max(available, 0), currency)} to spend."
        if problem is not None:
            await send(update, context, f"{esc(problem)} {hint}")
            return None
    return await _pay_part(update, context, draft, view, method, amount, hint)


async def _pay_part(
    update: Update, context: PosContext, draft: Draft, view: CartView, method: PaymentMethod, amount: int, hint: str
) -> str | int | None:
    """Pay ``amount`` by ``method`` against what is left: a part of a split, or the last part."""
    due = _due(view, draft)
    try:
        part = take_payment(due, method.value, amount, cash=method is PaymentMethod.CASH)
    except PaymentError:
        await send(
            update,
            context,
            f"{esc(payment_label(method))} {money(amount, context.currency)} is more than the "
            f"<b>{money(due, context.currency)}</b> left to pay. {hint}",
        )
        return None
    if part.amount_minor < due:  # a part: the screen asks for the rest
        if len(draft.paid) + 1 >= MAX_PARTS:
            await send(update, context, f"A payment is split in at most {MAX_PARTS} parts: pay the rest at once.")
            return None
        draft.paid.append(part)
        draft.method = draft.tendered_minor = None
    else:  # the last part
        draft.method, draft.tendered_minor = method, part.tendered_minor
    return await _next_screen(update, context, draft, view)


@requires(Role.CASHIER)
async def use_points(update: Update, context: PosContext) -> str | int | None:
    """ "⭐ Points": as many of the customer's points as what is left takes; the rest by another method."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    view = await _read_cart(update, context)
    if view is None:
        return None
    available = await _balance(context, draft) - _points_used(draft)
    due = _due(view, draft)
    if available <= 0 or due <= 0:
        await refuse(update, context, "The customer has no points left to spend.")
        return await _next_screen(update, context, draft, view)
    return await _pay_part(update, context, draft, view, PaymentMethod.POINTS, min(available, due), "")


@requires(Role.CASHIER)
async def unpay(update: Update, context: PosContext) -> str | int | None:
    """ "Start the payment again": the parts of a split paid so far are dropped."""
    draft = await _open_draft(update, context)
    if draft is None:
        return END
    args = await pressed(update, context, NS, "unpay", 1)
    if args is None:
        return None
    if args[0] != len(draft.paid):  # a button of an older screen: show the payment as it is now
        await answer(update, context, "That screen is out of date.")
    else:
        draft.paid, draft.method, draft.tendered_minor = [], None, None
    return await _next_screen(update, context, draft)


# --- confirm -------------------------------------------------------------------------------------
@requires(Role.CASHIER)
async def confirm(update: Update, context: PosContext) -> str | int | None:
    """Record the sale, once, as the screen showed it; a repeat shows the sale already recorded,
    a stale screen the cart or the checkout as it is now."""
    args = await pressed(update, context, NS, "ok", 3)
    if args is None:
        return None
    cart_id, version, number = args
    draft = _draft(update, context)
    ready = (
        draft is not None
        and draft.cart_id == cart_id
        and draft.confirm_version == version
        and draft.confirm_screen == number
        and draft.method is not None
    )
    result = view = None
    try:
        async with context.transaction() as session:
            if ready and draft.confirm_total is not None:
                # The Confirm of the screen on show: the checkout itself finds a sale already
                # recorded for this version, refuses a stale version and a total other than the
                # one shown, so the cart is not read here first. The draft is this chat's, so its
                # cart is the chat's cart, the one the checkout takes.
                result = await checkout_db.checkout(
                    session,
                    chat_id=update.effective_chat.id,
                    expected_version=version,
                    cashier=context.staff,
                    payments=_payments_of(draft.confirm_total, draft),
                    currency=context.currency,
                    default_low_stock_threshold=context.settings.low_stock_threshold,
                    prices_include_tax=context.settings.prices_include_tax,
                    customer_id=draft.customer_id,
                    expected_total_minor=draft.confirm_total,
                    require_shift=context.settings.require_shift,
                    loyalty_earn_bp=context.settings.loyalty_earn_bp,
                )
                sale = result.sale
            else:  # a second tap, a replay, an older screen: what is recorded, and the cart now
                view = await own_cart(
                    session, update.effective_chat.id, cart_id, prices_include_tax=context.settings.prices_include_tax
                )
                sale = await checkout_db.recorded_sale(session, cart_id=cart_id, version=version)
            points = await loyalty_db.receipt_points(session, sale) if sale is not None else None
    except OutOfStock as err:
        _drop(update, context)
        await _show_shortage(update, context, err)
        return END
    except StaleCart:
        _drop(update, context)
        view = await _read_cart(update, context)
        await answer(update, context, CART_CHANGED, alert=True)
        if view is not None:
            await show(update, context, *cart_screen(view, context.currency))
        return END
    except TotalChanged as err:
        await answer(update, context, "Prices changed: nothing was recorded.", alert=True)
        note = lines(f"⚠️ <b>{esc(err.message)} Nothing was recorded.</b>", "")
        return await _next_screen(update, context, draft, note=note)
    except PosError as err:
        await refuse(update, context, err.message)
        return None

    if result is not None and not result.already_recorded:
        _drop(update, context)
        await answer(update, context, f"Sale #{sale.number} recorded.")
        await show(update, context, chat_receipt(sale, context, points), receipt_keyboard(sale, context))
        await _to_customer_chat(context, sale, points)
        if result.low_stock_crossed:
            await notify_low_stock(context.application, result.low_stock_crossed)
        return END
    if sale is not None:  # a second tap, a replayed update, a Confirm from before a restart
        if ready:
            _drop(update, context)
        await answer(update, context, f"Already recorded: sale #{sale.number}", alert=True)
        await show(update, context, chat_receipt(sale, context, points), receipt_keyboard(sale, context))
        return END if ready else None
    assert view is not None  # only a Confirm that was not ready gets this far without a sale
    if version != view.version:
        await answer(update, context, CART_CHANGED, alert=True)
        await show(update, context, *cart_screen(view, context.currency))
        return None
    if draft is not None and draft.cart_id == cart_id:  # an older screen of the checkout open now
        return await _older_screen(update, context, draft, view, number)
    await refuse(update, context, NOT_OPEN)
    return None


async def _to_customer_chat(context: PosContext, sale, points: tuple[int, int] | None) -> None:
    """The receipt in the customer's own chat, when they linked their account; a chat that is
    gone (blocked, deleted) costs the cashier nothing."""
    customer = sale.customer
    if customer is None or customer.telegram_id is None:
        return
    for part in split_message(chat_receipt(sale, context, points)):
        try:
            await context.bot.send_message(chat_id=customer.telegram_id, text=part)
        except TelegramError as error:
            log.warning("could not send sale #%s to customer #%s: %s", sale.number, customer.id, error)
            return


async def _older_screen(
    update: Update, context: PosContext, draft: Draft, view: CartView, number: int
) -> str | int | None:
    """A Confirm of a screen the checkout has moved on from: nothing recorded, what changed said."""
    await answer(update, context, "That screen is out of date: nothing was recorded.", alert=True)
    headline = "⚠️ <b>That Confirm screen was out of date, so nothing was recorded.</b>"
    changes = _what_changed(context, number, draft, view)
    if draft.confirm_screen is None:  # the open checkout has not reached its Confirm yet
        await show(update, context, lines(headline, *changes, "Carry on with the checkout below, or /cancel it."))
        return None
    # The current screen again, under its own number: its other copy stays good to tap.
    text, markup = _confirm_screen(view, draft, context.currency, draft.confirm_screen)
    await show(update, context, lines(headline, *changes, "This is the checkout now:", "", text), markup)
    return CONFIRM


async def _show_shortage(update: Update, context: PosContext, err: OutOfStock) -> None:
    """What is short and by how much; the cart is as it was, with its buttons to fix it."""
    view = await _read_cart(update, context)
    await answer(update, context, "Not enough stock: nothing was recorded.", alert=True)
    if view is None:
        return
    note = lines(
        "⚠️ <b>Not enough stock — nothing was recorded.</b>",
        *(
            f"• {esc(clip(s.name, 48))}: no longer on sale"
            if s.archived
            else f"• {esc(clip(s.name, 48))}: {s.missing} short (wanted {s.requested}, {s.available} left)"
            for s in err.shortages[:20]
        ),
        "The cart is as it was: change it, then check out again.",
        "",
    )
    await show(update, context, *cart_screen(view, context.currency, note=note))


# --- leaving -------------------------------------------------------------------------------------
@requires(Role.CASHIER)
async def cancel(update: Update, context: PosContext) -> int:
    """/cancel or the Cancel button, at any step: nothing recorded, the cart kept."""
    _drop(update, context)
    note = "Checkout cancelled: nothing was recorded. The cart is kept.\n"
    view = await _read_cart(update, context)
    if view is None:
        return END
    await show(update, context, *cart_screen(view, context.currency, note=note))
    return END


@requires(Role.CASHIER)
async def use_buttons(update: Update, context: PosContext) -> None:
    """Text typed where the step wants a button."""
    await send(update, context, USE_BUTTONS)


@requires(Role.CASHIER)
async def busy(update: Update, context: PosContext) -> None:
    """Another command in the middle of the checkout."""
    await send(
        update, context, "You are in the middle of a checkout: carry on, or /cancel to leave it (the cart is kept)."
    )


def handlers() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND

    def on(action: str, callback) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=cb_pattern(NS, action))

    with warnings.catch_warnings():  # per_message=False is meant: the dialog follows the chat and user
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        dialog = ConversationHandler(
            entry_points=[CommandHandler("checkout", start), on("go", start), on("add", add_and_check_out)],
            states={
                ARCHIVED: [on("drop", drop_archived)],
                CUSTOMER: [on("none", no_customer), on("find", find_customer), on("new", new_customer)],
                FIND: [
                    MessageHandler(text, find_text),
                    on("pick", pick_customer),
                    on("none", no_customer),
                    on("new", new_customer),
                ],
                NEW_NAME: [MessageHandler(text, new_name)],
                NEW_PHONE: [MessageHandler(text, new_phone), on("pick", pick_customer)],
                NEW_EMAIL: [MessageHandler(text, new_email)],
                PAYMENT: [
                    on("pay", pay),
                    on("cash", cash),
                    on("cust", choose_customer),
                    on("unpay", unpay),
                    on("pts", use_points),
                    MessageHandler(text, tendered),
                ],
                TENDERED: [MessageHandler(text, tendered), on("unpay", unpay)],
                CONFIRM: [on("ok", confirm)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                on("cancel", cancel),
                on("ok", confirm),  # an older Confirm pressed while a new checkout is open
                MessageHandler(text, use_buttons),
                MessageHandler(filters.COMMAND, busy),
            ],
            allow_reentry=True,
            name="checkout",
            persistent=True,
        )
    # A Confirm pressed after its dialog ended (double tap, replay, restart): "already recorded".
    return [dialog, CallbackQueryHandler(confirm, pattern=cb_pattern(NS, "ok"))]
