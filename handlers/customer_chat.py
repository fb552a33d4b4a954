"""The customer's own chat: a receipt link opened, the account linked, /points, /receipts, /stop.

The guard hands every update from someone who is not staff to `serve` first; what it does not
take, the guard refuses as before. Nothing here is a registered handler, so a customer never
reaches a staff command or button: they get only their own receipts and points.

- `/start r_<token>` (a receipt link): that receipt, and "Keep your receipts and points here?".
  An unknown, expired, guessed or someone else's link gets one and the same answer; a person
  trying many is answered at most FAILED_TRIES times per FAILED_WINDOW, then ignored.
- Yes links their account to the sale's customer record (a new one when the sale had none).
- A linked customer: `/points` (balance and history), `/receipts` (their purchases, each a button
  to see it), `/stop` (unlink); anything else gets a short list of those.
- `/start i_<token>` (a staff invitation, db/staff_invites.py): the role offered and the name they
  would join under; "Join" adds them, once. Bad invitations are answered alike and rate-limited too.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.constants import ChatType

from db import customer_links, staff_invites
from db import loyalty as loyalty_db
from db.errors import PosError
from db.models import Customer
from handlers.context import PosContext
from handlers.menu import publish_menu
from handlers.render import (
    button,
    cb,
    cb_args,
    chat_receipt,
    clip,
    esc,
    keyboard,
    lines,
    local_time,
    money,
    points_history,
    points_text,
)
from handlers.reply import STALE_BUTTON, answer, refuse, send, show

log = logging.getLogger(__name__)

NS = "me"  # the customer's buttons: me:yes:<sale>, me:no, me:r:<sale>
BAD_LINK = (
    "Sorry, this link does not open a receipt: it may have expired or been used on another phone. "
    "Ask the shop for a new one."
)
BAD_INVITE = "Sorry, this invitation cannot be used: it may have expired or been used already. Ask the admin."
CUSTOMER_HELP = (
    "Your receipts and points are kept here:\n"
    "/points — your points and what they are worth\n"
    "/receipts — your purchases\n"
    "/stop — stop keeping them here"
)
FAILED_TRIES = 5  # bad links answered per person per window; the rest are ignored
FAILED_WINDOW = 600.0
FAILED_KEY = "receipt_link_failures"  # bot_data: user id -> (window start, failures)
RECEIPTS_SHOWN = 10
DAY = "%Y-%m-%d"
_clock = time.monotonic  # tests move it forward


async def serve(update: Update, context: PosContext) -> bool:
    """Handle an update from someone who is not staff; False leaves it to the guard's refusal."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return False
    query = update.callback_query
    message = update.message
    if query is not None:
        return await _press(update, context, user.id, query.data or "")
    if message is None or not message.text:
        return await _linked_only(update, context, user.id, None)
    words = message.text.split()
    command = words[0].split("@")[0].lower() if words and words[0].startswith("/") else None
    if command == "/start" and len(words) == 2 and words[1].startswith(customer_links.PREFIX):
        await _open(update, context, user.id, words[1])
        return True
    if command == "/start" and len(words) == 2 and words[1].startswith(staff_invites.PREFIX):
        await _open_invite(update, context, user.id, words[1])
        return True
    return await _linked_only(update, context, user.id, command)


async def _linked_only(update: Update, context: PosContext, user_id: int, command: str | None) -> bool:
    """A linked customer's commands; for anyone else, False (the guard refuses them)."""
    async with context.reading() as session:
        customer = await customer_links.customer_for(session, telegram_id=user_id)
    if customer is None:
        return False
    if command == "/points":
        await _points(update, context, customer)
    elif command == "/receipts":
        await _receipts(update, context, customer)
    elif command == "/stop":
        await _stop(update, context, user_id)
    elif update.message is not None:
        await send(update, context, lines(f"Hello, {esc(customer.name)}!", CUSTOMER_HELP))
    return True


# --- a receipt link --------------------------------------------------------------------------------
def _exhausted(context: PosContext, user_id: int) -> bool:
    """Whether this person's bad links used up their answers for now (FAILED_TRIES per FAILED_WINDOW)."""
    start, count = context.bot_data.get(FAILED_KEY, {}).get(user_id, (0.0, 0))
    return count >= FAILED_TRIES and 0 <= _clock() - start < FAILED_WINDOW


def _count_failure(context: PosContext, user_id: int) -> None:
    now = _clock()
    failures: dict[int, tuple[float, int]] = context.bot_data.setdefault(FAILED_KEY, {})
    start, count = failures.get(user_id, (now, 0))
    if not 0 <= now - start < FAILED_WINDOW:
        start, count = now, 0
    failures[user_id] = (start, count + 1)


async def _open(update: Update, context: PosContext, user_id: int, payload: str) -> None:
    """`/start r_<token>`: the receipt, then the question; one answer for every bad link."""
    if _exhausted(context, user_id):  # nothing looked up, nothing answered
        _count_failure(context, user_id)
        log.info("ignored a receipt link from user %s: too many bad ones", user_id)
        return
    try:
        async with context.transaction() as session:
            sale = await customer_links.open_link(session, payload=payload, telegram_id=user_id)
            mine = await customer_links.customer_for(session, telegram_id=user_id)
            points = None
            if sale is not None and mine is not None and sale.customer_id == mine.id:
                points = await loyalty_db.receipt_points(session, sale)
    except PosError:
        sale = None
    if sale is None:
        _count_failure(context, user_id)
        await send(update, context, esc(BAD_LINK))
        return
    text = chat_receipt(sale, context, points)
    if mine is not None and sale.customer_id == mine.id:
        await send(update, context, lines(text, "", "This receipt is kept with your others: /receipts."))
        return
    rows = [[button("✅ Yes, keep them here", cb(NS, "yes", sale.id)), button("No, thanks", cb(NS, "no"))]]
    await send(update, context, lines(text, "", "<b>Keep your receipts and points here?</b>"), keyboard(rows))


async def _press(update: Update, context: PosContext, user_id: int, data: str) -> bool:
    """The customer's buttons; any other button from a non-staff person is refused by the guard."""
    if not data.startswith(f"{NS}:"):
        async with context.reading() as session:
            linked = await customer_links.customer_for(session, telegram_id=user_id)
        if linked is None:
            return False
        await answer(update, context, "That is not available here. /points and /receipts are.", alert=True)
        return True
    if data == cb(NS, "no"):
        await answer(update, context)
        await show(update, context, "All right: nothing is kept. The link still works until it expires.")
        return True
    if (args := cb_args(data, NS, "yes", 1)) is not None:
        await _link(update, context, user_id, args[0])
        return True
    if (args := cb_args(data, NS, "join", 1)) is not None:
        await _join(update, context, user_id, args[0])
        return True
    if (args := cb_args(data, NS, "r", 1)) is not None:
        await _show_receipt(update, context, user_id, args[0])
        return True
    await refuse(update, context, STALE_BUTTON)
    return True


async def _link(update: Update, context: PosContext, user_id: int, sale_id: int) -> None:
    user = update.effective_user
    name = " ".join(part for part in (user.first_name, user.last_name) if part) if user else ""
    try:
        async with context.transaction() as session:
            customer = await customer_links.link_customer(
                session,
                sale_id=sale_id,
                telegram_id=user_id,
                name=name,
                earn_bp=context.settings.loyalty_earn_bp,
            )
            balance = customer.points_balance if customer is not None else 0
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if customer is None:
        await refuse(update, context, BAD_LINK)
        return
    await answer(update, context, "Linked.")
    await show(
        update,
        context,
        lines(
            f"✅ Done, {esc(customer.name)}: your receipts will arrive in this chat.",
            f"Points: <b>{points_text(balance, context.currency)}</b>",
            "",
            CUSTOMER_HELP,
        ),
    )


# --- a staff invitation ------------------------------------------------------------------------------
def _telegram_name(update: Update) -> str:
    user = update.effective_user
    return " ".join(part for part in (user.first_name, user.last_name) if part)[:128] if user else ""


async def _open_invite(update: Update, context: PosContext, user_id: int, payload: str) -> None:
    """`/start i_<token>`: the role offered and the name they would join under, to confirm."""
    if _exhausted(context, user_id):
        _count_failure(context, user_id)
        return
    try:
        async with context.transaction() as session:
            invite = await staff_invites.open_invite(session, payload=payload, telegram_id=user_id)
    except PosError:
        invite = None
    if invite is None:
        _count_failure(context, user_id)
        await send(update, context, esc(BAD_INVITE))
        return
    name = _telegram_name(update) or "you"
    rows = [[button(clip(f"✅ Join as {name}", 40), cb(NS, "join", invite.id)), button("No, thanks", cb(NS, "no"))]]
    await send(
        update,
        context,
        lines(
            f"You are invited to join <b>{esc(context.settings.store_name)}</b> as <b>{invite.role.value}</b>.",
            f"Your name on the staff list will be <b>{esc(name)}</b>. Join?",
        ),
        keyboard(rows),
    )


async def _join(update: Update, context: PosContext, user_id: int, invite_id: int) -> None:
    try:
        async with context.transaction() as session:
            member = await staff_invites.accept_invite(
                session, invite_id=invite_id, telegram_id=user_id, name=_telegram_name(update)
            )
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if member is None:
        await refuse(update, context, BAD_INVITE)
        return
    await answer(update, context, "Welcome!")
    await publish_menu(context.bot, member.telegram_id, member.role)
    await show(
        update,
        context,
        f"✅ Welcome, {esc(member.name or 'new colleague')}: you are on the staff as <b>{member.role.value}</b>. "
        "/help lists your commands.",
    )


# --- a linked customer's commands --------------------------------------------------------------------
async def _points(update: Update, context: PosContext, customer: Customer) -> None:
    async with context.reading() as session:
        balance = await loyalty_db.balance(session, customer_id=customer.id)
        entries = await loyalty_db.points_history(session, customer_id=customer.id, limit=10)
    await send(
        update,
        context,
        lines(
            f"⭐ <b>Your points: {points_text(balance, context.currency)}</b>",
            *(["", "<b>Latest</b>", *points_history(entries, tz=context.tz)] if entries else ["No points yet."]),
        ),
    )


async def _receipts(update: Update, context: PosContext, customer: Customer) -> None:
    async with context.reading() as session:
        sales = await customer_links.customer_sales(session, customer_id=customer.id, limit=RECEIPTS_SHOWN)
    if not sales:
        await send(update, context, "No purchases yet.")
        return
    rows = [
        [
            button(
                f"#{s.number} · {local_time(s.created_at, context.tz, DAY)} · {money(s.total_minor, s.currency)}",
                cb(NS, "r", s.id),
            )
        ]
        for s in sales
    ]
    await send(update, context, "🧾 <b>Your purchases</b> (newest first): tap one to see it.", keyboard(rows))


async def _show_receipt(update: Update, context: PosContext, user_id: int, sale_id: int) -> None:
    async with context.reading() as session:
        customer = await customer_links.customer_for(session, telegram_id=user_id)
        sale = await customer_links.own_sale(session, customer_id=customer.id, sale_id=sale_id) if customer else None
        points = await loyalty_db.receipt_points(session, sale) if sale is not None else None
    if sale is None:
        await refuse(update, context, STALE_BUTTON)
        return
    await answer(update, context)
    await send(update, context, chat_receipt(sale, context, points))


async def _stop(update: Update, context: PosContext, user_id: int) -> None:
    async with context.transaction() as session:
        await customer_links.unlink(session, telegram_id=user_id)
    await send(
        update,
        context,
        "Done: your receipts and points are no longer kept in this chat (the shop keeps your points). "
        "Open a receipt link again to come back.",
    )
