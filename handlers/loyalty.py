"""/points for staff: a customer's balance and history, and a manager's manual adjustment.

`/points <customer>` shows them; `/points <customer> ±N <reason>` adjusts (a reason is required,
never below zero). The customer is a name, a phone number or `#id`; several matches get a button
each to see one (an adjustment then asks for the phone or the #id, so it never lands on the wrong
person). A linked customer's own /points is in handlers/customer_chat.py: the guard sends them
there, never here.
"""

from __future__ import annotations

import asyncio
import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import checkout as checkout_db
from db import customer_links
from db import customers as customers_db
from db import loyalty as loyalty_db
from db import receipts as receipts_db
from db.errors import PosError
from db.models import Customer, Role
from db.receipt_pdf import qr_png, receipt_pdf
from db.receipts import Store
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.render import (
    button,
    cb,
    cb_pattern,
    counted,
    customer_label,
    customer_line,
    esc,
    keyboard,
    lines,
    points_history,
    points_text,
    quoted,
)
from handlers.reply import refuse, send, show

NS = "pts"
LINK_NS = "rl"
MATCHES = 8
HISTORY = 10
USAGE = (
    "Usage: <code>/points &lt;customer&gt;</code> shows their points; "
    "<code>/points &lt;customer&gt; +50 &lt;reason&gt;</code> or <code>-20 &lt;reason&gt;</code> adjusts them. "
    "The customer is a name, a phone number or #id."
)
SIGNED = re.compile(r"^[+-]\d{1,13}$")
BY_ID = re.compile(r"^#(\d{1,9})$")


def split_args(args: list[str]) -> tuple[str, int | None, str]:
    """(who, ±points or None, reason): the first signed number after the customer splits who from
    why (a phone's "+44 20 7946 0958" is part of who: it comes first, or digits follow it)."""
    for index, word in enumerate(args):
        then = args[index + 1] if index + 1 < len(args) else ""
        if index and SIGNED.match(word) and not then.isdigit():
            return " ".join(args[:index]), int(word), " ".join(args[index + 1 :])
    return " ".join(args), None, ""


async def _find(session, text: str, context: PosContext) -> list[Customer]:
    by_id = BY_ID.match(text)
    if by_id:
        try:
            return [await customers_db.get_customer(session, customer_id=int(by_id[1]))]
        except PosError:
            return []
    return await customers_db.find_customers(
        session, text=text, limit=MATCHES, default_region=context.settings.phone_region
    )


def points_card(customer: Customer, entries, context: PosContext) -> str:
    return lines(
        f"⭐ <b>{customer_line(customer, width=None)}</b> · customer #{customer.id}",
        f"Points: <b>{points_text(customer.points_balance, context.currency)}</b>",
        *(["", "<b>Latest</b>", *points_history(entries, tz=context.tz)] if entries else ["No points yet."]),
    )


async def _show_card(update: Update, context: PosContext, customer_id: int, note: str | None = None) -> None:
    try:
        async with context.reading() as session:
            customer = await customers_db.get_customer(session, customer_id=customer_id)
            entries = await loyalty_db.points_history(session, customer_id=customer.id, limit=HISTORY)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    text = lines(note, points_card(customer, entries, context))
    if update.callback_query:
        await show(update, context, text)
    else:
        await send(update, context, text)


@requires(Role.MANAGER)
async def points(update: Update, context: PosContext) -> None:
    """/points <customer> [±N reason]."""
    who, change, reason = split_args(list(context.args or []))
    if not who:
        await send(update, context, USAGE)
        return
    try:
        async with context.reading() as session:
            found = await _find(session, who, context)
    except PosError as err:
        await send(update, context, f"{esc(err.message)}\n{USAGE}")
        return
    if not found:
        await send(update, context, f"No customer matches {esc(quoted(who))}.")
        return
    if len(found) > 1:
        if change is not None:
            await send(
                update,
                context,
                f"Several customers match {esc(quoted(who))}: adjust by phone number or #id "
                f"({', '.join(f'#{c.id} {esc(c.name)}' for c in found[:MATCHES])}). Nothing was changed.",
            )
            return
        rows = [[button(customer_label(c), cb(NS, "c", c.id))] for c in found]
        await send(update, context, f"Several customers match {esc(quoted(who))}. Whose points?", keyboard(rows))
        return
    customer = found[0]
    if change is None:
        await _show_card(update, context, customer.id)
        return
    try:
        async with context.transaction() as session:
            await loyalty_db.adjust_points(
                session, customer_id=customer.id, points=change, reason=reason, actor=context.staff
            )
    except PosError as err:
        await send(update, context, f"{esc(err.message)} Nothing was changed.")
        return
    await _show_card(update, context, customer.id, note=f"✅ Points adjusted by {change:+,}.\n")


@requires(Role.CASHIER)
async def send_to_customer(update: Update, context: PosContext) -> None:
    """ "📲 Send to customer" under a receipt: a new link the customer opens in their own Telegram
    (the sale's older link stops working), as a QR code to scan from this screen, inside the
    receipt's PDF, and as text to forward. The link is shown once: only its hash is kept."""
    args = await pressed(update, context, LINK_NS, "new", 1)
    if args is None:
        return
    settings = context.settings
    days = settings.receipt_link_days
    try:
        async with context.transaction() as session:
            sale = await checkout_db.get_sale(session, sale_id=args[0])
            payload = await customer_links.make_link(session, sale_id=sale.id, days=days)
            points = await loyalty_db.receipt_points(session, sale)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    url = f"https://t.me/{context.bot.username}?start={payload}"
    earned, balance = points if points is not None else (None, None)
    document = receipts_db.from_sale(
        sale, store=Store.from_settings(settings), tz=context.tz, link=url, points_earned=earned, points_balance=balance
    )
    qr = await asyncio.to_thread(qr_png, url)
    pdf = await asyncio.to_thread(receipt_pdf, document, width_mm=settings.receipt_width)
    chat_id = update.effective_chat.id
    await context.bot.send_photo(chat_id, qr, caption=f"📲 Receipt #{sale.number}: the customer scans this")
    await context.bot.send_document(chat_id, pdf, filename=document.filename, caption="The receipt with its QR code")
    await send(
        update,
        context,
        lines(
            f"📲 <b>Receipt #{sale.number} for the customer</b>",
            f"They open this link on their own phone (it works for one person, for {counted(days, 'day')}):",
            f'<a href="{esc(url)}">{esc(url)}</a>',
        ),
    )


@requires(Role.MANAGER)
async def points_button(update: Update, context: PosContext) -> None:
    """One customer picked from several matches."""
    args = await pressed(update, context, NS, "c", 1)
    if args is None:
        return
    await _show_card(update, context, args[0])


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("points", points),
        CallbackQueryHandler(points_button, pattern=cb_pattern(NS, "c")),
        CallbackQueryHandler(send_to_customer, pattern=cb_pattern(LINK_NS, "new")),
    ]
