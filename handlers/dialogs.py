"""Dialogs that survive a crash: a step is stored before the screen that shows it goes out.

PTB's ConversationHandler learns a dialog's next step only when the step's callback returns,
after the callback has sent the screen, and PTB's persistence writes later still (on a timer). A
bot killed in between would show the cashier the payment screen and wake up at the customer
step. So every callback of a persistent dialog runs with its replies held (`PosContext.outbox`,
filled by handlers/reply.py): when the callback returns its next step, the step and the chat's
and user's drafts are written through the application's persistence, and only then do the held
replies go out, in order. A kill at any moment leaves either the old step with no new screen, or
the new step stored with its screen on the way.

Updates are delivered at least once (bot/inbox.py): an update whose step was stored but which was
not yet marked done when the bot died is handled again after the restart. By then the dialog is
one step further, and the same text would be read as the answer to the next question (a replayed
"skip" of the phone step would skip the e-mail too). So the id of the update that moved a chat's
dialog is stored with the step, in the same transaction, and that same update is not run again:
its step is stored and its screen already went out (or was about to). A chat's updates run one
after another and each is marked done before the next starts, so only the last one can be stored
and not yet done. (Equal, not "not newer": Telegram may restart its ids after a quiet week.)
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ConversationHandler

from handlers.context import PosContext

Callback = Callable[[Update, PosContext], Awaitable[Any]]

log = logging.getLogger(__name__)


def make_durable(conversation: ConversationHandler) -> ConversationHandler:
    """Hold the replies of every callback of a persistent `conversation` until its step is stored."""
    if not conversation.persistent:
        return conversation
    handlers: list[BaseHandler] = [
        *conversation.entry_points,
        *itertools.chain.from_iterable(conversation.states.values()),
        *conversation.fallbacks,
    ]
    for handler in handlers:
        if not getattr(handler.callback, "durable", False):
            handler.callback = _durable_step(conversation, handler.callback)
    return conversation


def _key(conversation: ConversationHandler, update: Update) -> tuple[int, ...]:
    """The conversation's key for this update, as PTB builds it (per chat and user here)."""
    key: list[int] = []
    if conversation.per_chat and update.effective_chat:
        key.append(update.effective_chat.id)
    if conversation.per_user and update.effective_user:
        key.append(update.effective_user.id)
    return tuple(key)


LAST_UPDATE = "dialog_update"  # chat_data: the id of the last update that moved this chat's dialog


def _replayed(update: Update, context: PosContext) -> bool:
    """Whether this update already moved this chat's dialog (the inbox delivered it again)."""
    last = context.chat_data.get(LAST_UPDATE) if context.chat_data is not None else None
    return last == update.update_id


def _drafts(context: PosContext) -> tuple[dict | None, dict | None]:
    """A copy of the chat's and user's data, to tell whether a step changed them."""
    return copy.deepcopy(context.chat_data), copy.deepcopy(context.user_data)


async def _store(
    conversation: ConversationHandler, update: Update, context: PosContext, state: object, drafts: tuple
) -> None:
    persistence = context.application.persistence
    if persistence is None:
        return
    moved = state not in (None, ConversationHandler.END) or _drafts(context) != drafts
    if moved and context.chat_data is not None:  # a step that changed nothing is harmless to run again
        context.chat_data[LAST_UPDATE] = update.update_id
    step = None
    if state is not None:  # None: the dialog stays where it is
        step = (conversation.name, _key(conversation, update), None if state == ConversationHandler.END else state)
    chat = user = None
    if update.effective_chat and context.chat_data is not None:
        chat = (update.effective_chat.id, context.chat_data)
    if update.effective_user and context.user_data is not None:
        user = (update.effective_user.id, context.user_data)
    store_step = getattr(persistence, "store_step", None)
    if store_step is not None:  # ours: the step, both drafts and the update's id in one transaction
        await store_step(step=step, chat=chat, user=user)
        return
    if step is not None:
        await persistence.update_conversation(*step)
    if chat is not None:
        await persistence.update_chat_data(*chat)
    if user is not None:
        await persistence.update_user_data(*user)


def _durable_step(conversation: ConversationHandler, callback: Callback) -> Callback:
    @functools.wraps(callback)
    async def step(update: Update, context: PosContext) -> Any:
        if _replayed(update, context):
            log.info("update %s already moved the dialog %s: not run again", update.update_id, conversation.name)
            return None  # the dialog stays at the step that update led to
        outbox: list[Callable[[], Awaitable[None]]] = []
        context.outbox = outbox
        drafts = _drafts(context)
        state: object = None
        try:
            state = await callback(update, context)
        except ApplicationHandlerStop as stop:
            state = stop.state
            raise
        finally:
            context.outbox = None
            # Stored even when the callback raised: its drafts may have changed; then the replies.
            await _store(conversation, update, context, state, drafts)
            for reply in outbox:
                await reply()
        return state

    step.durable = True  # type: ignore[attr-defined]
    return step
