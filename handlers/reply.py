"""How a handler replies: answer a button press, edit the pressed screen, send a new message, say no.

Every handler replies through these four, so a press is answered once, an unchanged screen is not an
error, and a refusal looks the same everywhere.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from handlers.context import PosContext
from handlers.render import esc, split_message

log = logging.getLogger(__name__)

STALE_BUTTON = "This button is no longer valid."


def _held(context: PosContext, reply: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> bool:
    """Inside a persistent dialog's step, queue the reply until the step is stored (handlers/dialogs.py)."""
    if context.outbox is None:
        return False
    context.outbox.append(functools.partial(reply, *args, **kwargs))
    return True


async def refuse(update: Update, context: PosContext, text: str) -> None:
    """Say no without changing anything: an alert on a button, a reply to a message."""
    if _held(context, refuse, update, context, text):
        return
    if update.callback_query:
        await answer(update, context, text, alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(esc(text))


async def answer(update: Update, context: PosContext, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press (once): Telegram shows a spinner until we do."""
    if _held(context, answer, update, context, text, alert=alert):
        return
    query = update.callback_query
    if query is None or context.callback_answered:
        return
    context.callback_answered = True
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as exc:  # a query older than Telegram's timeout: nothing left to answer
        log.info("could not answer callback query: %s", exc)


async def send(update: Update, context: PosContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send a new message to the chat the update came from; a text too long for one message goes
    in several, with the buttons on the last."""
    if _held(context, send, update, context, text, markup):
        return
    chat = update.effective_chat
    assert chat is not None
    *head, last = split_message(text)
    for part in head:
        await context.bot.send_message(chat.id, part)
    await context.bot.send_message(chat.id, last, reply_markup=markup)


async def show(update: Update, context: PosContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the pressed message in place for a button; send a new message for a command."""
    if _held(context, show, update, context, text, markup):
        return
    query = update.callback_query
    # No message, or one too old for the bot to see (InaccessibleMessage): draw a new screen.
    if query is None or not isinstance(query.message, Message):
        await send(update, context, text, markup)
        return
    first, *rest = split_message(text)
    if rest:  # too long for one message: the first part in place, the rest (and the buttons) below
        await show(update, context, first)
        await send(update, context, "\n".join(rest), markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" in reason:
            return  # the screen already shows this: that is success
        if "there is no text" in reason or "not found" in reason or "can't be edited" in reason:
            await send(update, context, text, markup)
            return
        raise
