"""One error handler, and the catch-alls for buttons and commands nothing else understood.

The error handler logs every exception with the update's context (who, which chat, which command
or button; never message contents) and tells the user plainly that something went wrong and
whether anything was recorded. Log lines are redacted of secrets by bot/logging_setup.py.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from db.errors import PosError
from db.models import Role
from handlers.access import ANSWERED_ATTR, COMMITTED_ATTR, addressed_to_bot, requires
from handlers.context import PosContext
from handlers.render import cb_pattern, esc
from handlers.reply import STALE_BUTTON, answer, send

log = logging.getLogger("pos.errors")

MAX_RECENT_ERRORS = 50

SAVED = "Your change was saved before the problem: check the result before trying again."
NOT_SAVED = "Nothing was recorded; please try again."


def describe_update(update: object, context: PosContext | None = None) -> str:
    """Who and what, without message contents that may hold personal data or secrets."""
    job = getattr(context, "job", None) if context is not None else None
    if job is not None:
        return f"job {job.name!r}"
    if not isinstance(update, Update):
        return f"{type(update).__name__} (not an update)"
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    if update.callback_query:
        what = f"button {update.callback_query.data!r}"
    elif update.effective_message and update.effective_message.text:
        word = update.effective_message.text.split()[0][:32] if update.effective_message.text.split() else ""
        what = f"command {word!r}" if word.startswith("/") else "text message"
    elif update.effective_message:
        what = "message without text"
    else:
        what = "update"
    return f"update {update.update_id} from user {user} in chat {chat}: {what}"


async def on_error(update: object, context: PosContext) -> None:
    """Log the exception; tell the user something went wrong and whether anything was saved."""
    error = context.error
    recent = context.application.bot_data.setdefault("recent_errors", [])
    recent.append(error)
    del recent[:-MAX_RECENT_ERRORS]
    if isinstance(error, BadRequest) and "not modified" in str(error).lower():
        log.debug("message not modified while handling %s", describe_update(update, context))
        return  # the screen already shows what we wanted: success
    if isinstance(error, (NetworkError, TimedOut)) and not isinstance(update, Update):
        log.warning("Telegram connection problem in %s: %s", describe_update(update, context), error)
        return
    saved = bool(getattr(error, COMMITTED_ATTR, False))
    if isinstance(error, PosError):  # a handler forgot to catch it; the message is still readable
        log.warning("uncaught %s while handling %s", type(error).__name__, describe_update(update, context))
        told = f"{error.message}\n{SAVED if saved else NOT_SAVED}"
    else:
        log.error(
            "error while handling %s (saved before the error: %s)",
            describe_update(update, context),
            "yes" if saved else "no",
            exc_info=error,
        )
        told = f"Sorry, something went wrong. {SAVED if saved else NOT_SAVED}"
    if not isinstance(update, Update) or update.effective_chat is None or isinstance(error, Forbidden):
        return  # a job, or a chat that blocked the bot: nobody to tell
    try:
        query = update.callback_query
        if query is not None and not getattr(error, ANSWERED_ATTR, False):
            await answer(update, context, told, alert=True)  # plain text
        else:
            await context.bot.send_message(update.effective_chat.id, esc(told))
    except Exception:  # the error may be Telegram itself being unreachable
        log.warning("could not tell the user about the error", exc_info=True)


# --- the catch-alls, registered after every other handler ---------------------------------------
@requires(Role.CASHIER)
async def noop_button(update: Update, context: PosContext) -> None:
    """A label-only button (the page number of a pager): nothing to do."""
    await answer(update, context)


@requires(Role.CASHIER)
async def unknown_button(update: Update, context: PosContext) -> None:
    """A payload no handler routes: from an old version, an ended dialog, or forged."""
    query = update.callback_query
    log.info("unrouted button %r from user %s", (query.data or "")[:64] if query else None, context.staff.telegram_id)
    await answer(update, context, STALE_BUTTON, alert=True)


@requires(Role.CASHIER)
async def unknown_command(update: Update, context: PosContext) -> None:
    """A command nobody handles (a typo, or one for another bot in a group)."""
    if not addressed_to_bot(update, context):
        return
    await send(update, context, "I don't know that command. /help lists yours.")


def fallback_handlers() -> list[BaseHandler]:
    """Registered last: only what no other handler took reaches these."""
    return [
        CallbackQueryHandler(noop_button, pattern=cb_pattern("nav", "noop")),
        CallbackQueryHandler(unknown_button),
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, unknown_command),
    ]
