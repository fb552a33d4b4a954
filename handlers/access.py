"""Who may do what.

The guard runs before every other handler (group -1): a stranger or a deactivated staff member
gets one polite refusal showing their Telegram id, and nothing else runs for that update. At most
one refusal per person every few minutes: the rest are ignored (a button press is answered
silently) and counted in the log, so a stranger spamming the bot costs us no messages and does not
fill the chat's send queue.
`requires(role)` then checks the minimum role of each command and button at the moment it is used.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ConversationHandler

from db import staff as staff_db
from db.engine import is_retryable
from db.models import Role
from handlers import customer_chat
from handlers.context import PosContext
from handlers.render import cb_args, esc
from handlers.reply import STALE_BUTTON, answer, refuse

log = logging.getLogger(__name__)

Handler = Callable[[Update, PosContext], Awaitable[Any]]

EDIT_IGNORED = "I don't act on edited messages: send the command again as a new message."

# Set on an exception leaving a decorated handler, because PTB gives the error handler a fresh
# context: whether the update had saved something, and whether its button press was answered.
COMMITTED_ATTR = "pos_committed"
DIALOG_KEY = "dialog_number"  # chat_data: the newest dialog started in the chat (open_dialog)
ANSWERED_ATTR = "pos_answered"

STRANGER_REFUSAL_INTERVAL = 180.0  # seconds between two refusals to the same person
STRANGERS_KEY = "stranger_refusals"  # bot_data: user id -> (when refused, updates ignored since)
STRANGERS_KEPT = 10_000  # forget people refused long ago beyond this many
_clock = time.monotonic  # tests move it forward


async def guard(update: Update, context: PosContext) -> None:
    """Let staff through; refuse everyone else once and stop the update there.

    Only new messages, button presses and inline queries reach the handlers. Edited messages (a fixed typo must
    not run a command twice), channel posts, membership changes and the like stop here.
    """
    user = update.effective_user
    if user is None or user.is_bot:  # channel posts, anonymous group admins, other bots
        raise ApplicationHandlerStop
    acted_on = update.message is not None or update.callback_query is not None or update.inline_query is not None
    if not acted_on and update.edited_message is None:
        raise ApplicationHandlerStop
    async with context.reading() as session:
        context.staff = await staff_db.get_active_staff(session, telegram_id=user.id)

    if context.staff is None:
        # A customer with a receipt link, or one whose account is linked: their own chat, and
        # nothing else (handlers/customer_chat.py). Everyone else is refused.
        if not await customer_chat.serve(update, context):
            await _refuse_stranger(update, context, user.id)
        raise ApplicationHandlerStop
    context.take_pending_quantity()
    if update.edited_message is not None:
        if addressed_to_bot(update, context):
            await update.edited_message.reply_text(esc(EDIT_IGNORED))
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None and query.message is None:  # a button on an inline message: not ours
        await answer(update, context, STALE_BUTTON, alert=True)
        raise ApplicationHandlerStop


async def _refuse_stranger(update: Update, context: PosContext, user_id: int) -> None:
    """One polite refusal with the user's id, in the form the update asks for (or none)."""
    chat = update.effective_chat
    if update.inline_query is not None:  # no products, no prices: an empty list, not cached
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        return
    if update.callback_query is None and (update.message is None or not addressed_to_bot(update, context)):
        return  # an edit of an already refused message, or chatter in a group
    if not _refusal_due(context, user_id, chat.id if chat else None):
        await answer(update, context)  # a press still stops its spinner, silently
        return
    log.info("refused user %s (not active staff) in chat %s", user_id, chat.id if chat else None)
    if update.callback_query is not None:
        await answer(
            update, context, f"You are not on this shop's staff list. Your Telegram id is {user_id}.", alert=True
        )
        return
    await update.message.reply_text(
        "Sorry, this is a private shop bot and you are not on its staff list.\n"
        f"Your Telegram id is <code>{user_id}</code>: give it to the shop's admin, "
        f"who can add you with <code>/staff add {user_id} cashier</code>."
    )


def _refusal_due(context: PosContext, user_id: int, chat_id: int | None) -> bool:
    """True at most once per STRANGER_REFUSAL_INTERVAL per person; the rest are counted in the log."""
    now = _clock()
    refused: dict[int, tuple[float, int]] = context.bot_data.setdefault(STRANGERS_KEY, {})
    last = refused.get(user_id)
    if last is not None and 0 <= now - last[0] < STRANGER_REFUSAL_INTERVAL:
        ignored = last[1] + 1
        refused[user_id] = (last[0], ignored)
        log.info("ignored user %s (not active staff) in chat %s: %d since the last refusal", user_id, chat_id, ignored)
        return False
    if len(refused) >= STRANGERS_KEPT:
        for old in [uid for uid, (when, _) in refused.items() if not 0 <= now - when < STRANGER_REFUSAL_INTERVAL]:
            del refused[old]
    refused[user_id] = (now, 0)
    return True


def addressed_to_bot(update: Update, context: PosContext) -> bool:
    """Private chats: always. Groups: only a command for this bot (a reply to chatter is spam)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    entity = next(
        (e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0),
        None,
    )
    if entity is None or not message.text:
        return False
    command = message.text[: entity.length]
    _, _, addressee = command.partition("@")
    return not addressee or addressee.lower() == (context.bot.username or "").lower()


def requires(role: Role) -> Callable[[Handler], Handler]:
    """Refuse the update unless the staff member's role includes `role`; answer every button."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: PosContext) -> Any:
            staff = context.staff
            if staff is None or not staff.role.includes(role):
                have = staff.role.value if staff else "none"
                log.info(
                    "refused %s (%s) for %s: needs %s",
                    staff.telegram_id if staff else None,
                    have,
                    handler.__qualname__,
                    role.value,
                )
                await refuse(update, context, f"That needs the {role.value} role; yours is {have}.")
                # Inside a dialog this ends it: someone who lost the role could never finish it,
                # and would be stuck (even /cancel needs the role). Elsewhere the value is ignored.
                return ConversationHandler.END
            try:
                result = await _once_more_on_deadlock(handler, update, context)
            except Exception as error:
                _tag(error, context)
                raise
            # Every press is answered; on an exception the error handler answers instead.
            if update.callback_query and not context.callback_answered:
                await answer(update, context)
            return result

        wrapper.min_role = role  # type: ignore[attr-defined]
        return wrapper

    return decorate


async def _once_more_on_deadlock(handler: Handler, update: Update, context: PosContext) -> Any:
    """Run the handler; once more if PostgreSQL rolled its transaction back for a deadlock or a
    serialization failure before anything of this update was committed.

    Nothing of the failed run was saved, and every handler is safe to run twice (an update can be
    replayed from the inbox), so the user gets the answer instead of "something went wrong".
    """
    try:
        return await handler(update, context)
    except Exception as error:
        if context.committed or not is_retryable(error):
            raise
        log.warning(
            "%s: transaction rolled back by the database (%s), running it once more", handler.__qualname__, error
        )
        return await handler(update, context)


def open_dialog(context: PosContext) -> int:
    """Note that a dialog starts in this chat and return its number.

    One dialog at a time per chat: a dialog that may still be waiting (say /edit, when /checkout
    was started over it) compares its number with `dialog_is_current` before it writes, and ends
    instead of taking text that was meant for something else.
    """
    number = context.chat_data.get(DIALOG_KEY, 0) + 1
    context.chat_data[DIALOG_KEY] = number
    return number


def dialog_is_current(context: PosContext, number: int | None) -> bool:
    return number is not None and context.chat_data.get(DIALOG_KEY) == number


def _tag(error: Exception, context: PosContext) -> None:
    """Carry what this update did over to the error handler, which gets a new context."""
    try:
        setattr(error, COMMITTED_ATTR, getattr(error, COMMITTED_ATTR, False) or context.committed)
        setattr(error, ANSWERED_ATTR, getattr(error, ANSWERED_ATTR, False) or context.callback_answered)
    except AttributeError:  # an exception class with __slots__: the error handler assumes nothing saved
        pass


async def pressed(
    update: Update, context: PosContext, ns: str, action: str, count: int, *, telegram_ids: Collection[int] = ()
) -> list[int] | None:
    """The integer arguments of the pressed button's `ns:action:...` payload (see `cb_args`); None,
    after telling the user the button is no longer valid, when the payload is malformed or forged."""
    query = update.callback_query
    args = cb_args(query.data if query else None, ns, action, count, telegram_ids=telegram_ids)
    if args is None:
        await refuse(update, context, STALE_BUTTON)
    return args
