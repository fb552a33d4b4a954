"""/customer and /newcustomer: find a customer (contact card and recent purchases), register one.

The step checks of a new customer (name, phone, e-mail) live here and are shared with the
checkout's "New customer" steps, so both dialogs accept and refuse the same things.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from db import customers as customers_db
from db.catalog import clean_name
from db.customers import CustomerHistory
from db.errors import Conflict, InvalidInput, PosError
from db.models import Customer, Role, SaleStatus
from handlers.access import open_dialog, pressed, requires
from handlers.context import PosContext
from handlers.render import (
    button,
    cb,
    cb_pattern,
    clip,
    customer_label,
    customer_line,
    esc,
    keyboard,
    lines,
    local_time,
    money,
    points_text,
    quoted,
)
from handlers.reply import refuse, send, show

NS = "cust"
FIND_LIMIT = 8
RECENT_SALES = 5
SKIP_WORDS = {"skip", "-", "none", "no"}

# States of /newcustomer.
ASK_NAME, ASK_PHONE, ASK_EMAIL = "newcustomer:name", "newcustomer:phone", "newcustomer:email"

PHONE_EXAMPLE = "with the country code, e.g. <code>+44 20 7946 0958</code>"


# --- the steps of a new customer, shared with the checkout ---------------------------------------
def is_skip(text: str) -> bool:
    return text.strip().lower() in SKIP_WORDS


def check_name(text: str) -> str:
    """A customer's name, or InvalidInput."""
    return clean_name(text, "The name", max_len=128)


def check_phone(text: str, region: str | None) -> str:
    """A phone number normalised to E.164, or InvalidInput."""
    return customers_db.normalise_phone(text, region)


def optional_email(text: str) -> str | None:
    """None for "skip", else a valid e-mail address, or InvalidInput."""
    return None if is_skip(text) else customers_db.normalise_email(text)


async def phone_owner(session, phone: str, region: str | None) -> Customer | None:
    """The customer who already has this (normalised) phone number, if any."""
    found = await customers_db.find_customers(session, text=phone, limit=FIND_LIMIT, default_region=region)
    return next((c for c in found if c.phone == phone), None)


def newcustomer_open(update: Update, context: PosContext) -> bool:
    """Whether this user is in the middle of /newcustomer in this chat."""
    return update.effective_user.id in context.chat_data.get("newcustomer", {})


# --- the customer card -------------------------------------------------------------------------
def customer_card(customer: Customer, history: CustomerHistory, context: PosContext) -> str:
    """Contact details and recent purchases."""
    currency, tz = context.currency, context.tz
    recent = []
    for sale in history.sales:
        items = ", ".join(f"{clip(line.product_name, 24)} ×{line.quantity}" for line in sale.lines[:3])
        if len(sale.lines) > 3:
            items += ", …"
        refunded = " · refunded" if sale.status is SaleStatus.REFUNDED else ""
        recent.append(
            f"#{sale.number} · {local_time(sale.created_at, tz)} · {money(sale.total_minor, sale.currency)}"
            f" · {esc(items)}{refunded}"
        )
    return lines(
        f"👤 <b>{esc(customer.name)}</b>",
        f"Phone: {esc(customer.phone) if customer.phone else '—'}",
        f"E-mail: {esc(customer.email) if customer.email else '—'}",
        f"Customer since {local_time(customer.created_at, tz, '%Y-%m-%d')}",
        f"Purchases: {history.sale_count} · {money(history.total_minor, currency)}",
        f"Points: {points_text(customer.points_balance, currency)}",
        *(["", "<b>Recent purchases</b>", *recent] if recent else []),
    )


# --- /customer -----------------------------------------------------------------------------------
@requires(Role.CASHIER)
async def find(update: Update, context: PosContext) -> None:
    """/customer <name or phone>: matching customers as buttons."""
    text = " ".join(context.args or []).strip()
    if not text:
        await send(
            update,
            context,
            "Whom are you looking for? <code>/customer Ann</code> or <code>/customer +44 20 7946 0958</code>.\n"
            "/newcustomer registers one.",
        )
        return
    try:
        async with context.reading() as session:
            found = await customers_db.find_customers(
                session, text=text, limit=FIND_LIMIT, default_region=context.settings.phone_region
            )
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if not found:
        await send(update, context, f"No customer matches {esc(quoted(text))}. /newcustomer registers one.")
        return
    rows = [[button(customer_label(c), cb(NS, "show", c.id))] for c in found]
    await send(update, context, f"👤 Customers matching {esc(quoted(text))}: tap one.", keyboard(rows))


@requires(Role.CASHIER)
async def card(update: Update, context: PosContext) -> None:
    """A customer's card with contact details and recent purchases."""
    args = await pressed(update, context, NS, "show", 1)
    if args is None:
        return
    try:
        async with context.reading() as session:
            customer = await customers_db.get_customer(session, customer_id=args[0])
            history = await customers_db.customer_history(session, customer_id=customer.id, limit=RECENT_SALES)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    await show(update, context, customer_card(customer, history, context))


# --- /newcustomer --------------------------------------------------------------------------------
def _draft(update: Update, context: PosContext) -> dict:
    return context.chat_data.setdefault("newcustomer", {}).setdefault(update.effective_user.id, {})


def _close(update: Update, context: PosContext) -> None:
    context.chat_data.get("newcustomer", {}).pop(update.effective_user.id, None)


@requires(Role.CASHIER)
async def new_start(update: Update, context: PosContext) -> str:
    """/newcustomer: ask for the name."""
    _close(update, context)
    _draft(update, context)
    open_dialog(context)
    await send(update, context, "👤 New customer. What is their name? (/cancel to stop)")
    return ASK_NAME


@requires(Role.CASHIER)
async def new_name(update: Update, context: PosContext) -> str | None:
    try:
        name = check_name(update.effective_message.text)
    except InvalidInput as err:
        await send(update, context, f"{esc(err.message)}\nType the customer's name, or /cancel.")
        return None
    _draft(update, context)["name"] = name
    await send(update, context, f"Phone number of {esc(clip(name, 64))}? Write it {PHONE_EXAMPLE}, or type skip.")
    return ASK_PHONE


@requires(Role.CASHIER)
async def new_phone(update: Update, context: PosContext) -> str | None:
    text = update.effective_message.text
    phone = None
    if not is_skip(text):
        region = context.settings.phone_region
        try:
            phone = check_phone(text, region)
            async with context.reading() as session:
                owner = await phone_owner(session, phone, region)
        except PosError as err:
            await send(update, context, f"{esc(err.message)}\nType the phone number again, or skip.")
            return None
        if owner is not None:
            await send(
                update,
                context,
                f"{esc(phone)} already belongs to {customer_line(owner)}: see /customer {esc(phone)}.\n"
                "Type another number, or skip.",
            )
            return None
    _draft(update, context)["phone"] = phone
    await send(update, context, "E-mail address? Type skip if there is none.")
    return ASK_EMAIL


@requires(Role.CASHIER)
async def new_email(update: Update, context: PosContext) -> str | None:
    try:
        email = optional_email(update.effective_message.text)
    except InvalidInput as err:
        await send(update, context, f"{esc(err.message)}\nType the e-mail address, or skip.")
        return None
    draft = _draft(update, context)
    try:
        async with context.transaction() as session:
            customer = await customers_db.register_customer(
                session,
                name=draft.get("name", ""),
                phone=draft.get("phone"),
                email=email,
                default_region=context.settings.phone_region,
            )
            history = await customers_db.customer_history(session, customer_id=customer.id, limit=RECENT_SALES)
    except Conflict as err:
        await send(update, context, f"{esc(err.message)}\nType another phone number, or skip.")
        return ASK_PHONE
    except PosError as err:
        await send(update, context, f"{esc(err.message)}\nType the e-mail address, or skip.")
        return None
    _close(update, context)
    await send(update, context, lines("✅ Customer registered.", "", customer_card(customer, history, context)))
    return ConversationHandler.END


@requires(Role.CASHIER)
async def new_cancel(update: Update, context: PosContext) -> int:
    _close(update, context)
    await send(update, context, "Registration cancelled: nothing was saved.")
    return ConversationHandler.END


@requires(Role.CASHIER)
async def new_busy(update: Update, context: PosContext) -> None:
    """Another command in the middle of the registration."""
    await send(update, context, "You are registering a customer: answer the last question, or /cancel.")


def handlers() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND
    registration = ConversationHandler(
        entry_points=[CommandHandler("newcustomer", new_start)],
        states={
            ASK_NAME: [MessageHandler(text, new_name)],
            ASK_PHONE: [MessageHandler(text, new_phone)],
            ASK_EMAIL: [MessageHandler(text, new_email)],
        },
        fallbacks=[CommandHandler("cancel", new_cancel), MessageHandler(filters.COMMAND, new_busy)],
        allow_reentry=True,
        name="newcustomer",
        persistent=True,
    )
    return [
        registration,
        CommandHandler("customer", find),
        CallbackQueryHandler(card, pattern=cb_pattern(NS, "show")),
    ]
