"""Who may do what, and the small reply helpers every handler shares.

The guard runs before every other handler (group -1): a stranger or a deactivated staff member
gets one polite refusal showing their Telegram id, and nothing else runs for that update.
`requires(role)` then checks the minimum role of each command and button at the moment it is used.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from db import staff as staff_db
from db.models import Role
from handlers.context import PosContext
from handlers.render import esc

log = logging.getLogger(__name__)

Handler = Callable[[Update, PosContext], Awaitable[Any]]


async def guard(update: Update, context: PosContext) -> None:
    """Let staff through; refuse everyone else once and stop the update there."""
    user = update.effective_user
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    async with context.services.session_factory() as session:
        context.staff = await staff_db.get_active_staff(session, telegram_id=user.id)
    if context.staff is not None:
        return
    text = (
        "Sorry, this is a private shop bot and you are not on its staff list.\n"
        f"Your Telegram id is <code>{user.id}</code>: give it to the shop's admin, "
        "who can add you with <code>/staff add " + str(user.id) + " cashier</code>."
    )
    if update.callback_query:
        await update.callback_query.answer("You are not on this shop's staff list.", show_alert=True)
    elif update.effective_message and _addressed_to_bot(update):
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop


def _addressed_to_bot(update: Update) -> bool:
    """In groups only commands get an answer: a refusal for every chat message would be spam."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    return bool(message and message.text and message.text.startswith("/"))


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Refuse the update unless the staff member's role includes `role`; answer every button."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: PosContext) -> Any:
            staff = context.staff
            if staff is None or not staff.role.includes(role):
                have = staff.role.value if staff else "none"
                await refuse(update, context, f"That needs the {role.value} role; yours is {have}.")
                return None
            result = await handler(update, context)
            # Every press is answered; on an exception the error handler answers instead.
            if update.callback_query and not context.callback_answered:
                await answer(update, context)
            return result

        wrapper.min_role = role  # type: ignore[attr-defined]
        return wrapper

    return decorate


async def refuse(update: Update, context: PosContext, text: str) -> None:
    """Say no without changing anything: an alert on a button, a reply to a message."""
    if update.callback_query:
        await answer(update, context, text, alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(esc(text))


async def answer(update: Update, context: PosContext, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press (once): Telegram shows a spinner until we do."""
    query = update.callback_query
    if query is None or context.callback_answered:
        return
    context.callback_answered = True
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as exc:  # a query older than Telegram's timeout: nothing left to answer
        log.info("could not answer callback query: %s", exc)


async def send(update: Update, context: PosContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send a new message to the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=markup)


async def show(update: Update, context: PosContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the pressed message in place for a button; send a new message for a command."""
    query = update.callback_query
    if query is None or query.message is None:
        await send(update, context, text, markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return  # the screen already shows this: that is success
        if "there is no text" in str(exc).lower() or "not found" in str(exc).lower():
            await send(update, context, text, markup)
            return
        raise


def user_role(context: PosContext) -> Role | None:
    return context.staff.role if context.staff else None
