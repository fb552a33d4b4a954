"""One error handler: log every exception with the update's context, tell the user plainly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TimedOut

from handlers.context import PosContext

log = logging.getLogger("pos.errors")

MAX_RECENT_ERRORS = 50


def describe_update(update: object) -> str:
    """Who and what, without message contents that may hold personal data or secrets."""
    if not isinstance(update, Update):
        return repr(type(update).__name__)
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if update.callback_query:
        what = f"button {update.callback_query.data!r}"
    elif update.effective_message and update.effective_message.text:
        what = f"message {update.effective_message.text.split()[0][:32]!r}"
    else:
        what = "update"
    return f"update {update.update_id} from user {user} in chat {chat}: {what}"


async def on_error(update: object, context: PosContext) -> None:
    """Log the exception; tell the user something went wrong and whether anything was saved."""
    error = context.error
    recent = context.application.bot_data.setdefault("recent_errors", [])
    recent.append(error)
    del recent[:-MAX_RECENT_ERRORS]
    if isinstance(error, (NetworkError, TimedOut, Forbidden)) and not isinstance(update, Update):
        log.warning("Telegram connection problem: %s", error)
        return
    log.error("error while handling %s", describe_update(update), exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    saved = getattr(context, "committed", False)
    text = (
        "Sorry, something went wrong after your change was saved. Check the result before trying again."
        if saved
        else "Sorry, something went wrong. Nothing was recorded; please try again."
    )
    try:
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:  # the error may be Telegram itself being unreachable
        log.warning("could not tell the user about the error", exc_info=True)
