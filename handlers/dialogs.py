"""Dialogs that survive a crash: a step is stored before the screen that shows it goes out.

PTB's ConversationHandler learns a dialog's next step only when the step's callback returns,
after the callback has sent the screen, and PTB's persistence writes later still (on a timer). A
bot killed in between would show the cashier the payment screen and wake up at the customer
step. So every callback of a persistent dialog runs with its replies held (`PosContext.outbox`,
filled by handlers/reply.py): when the callback returns its next step, the step and the chat's
and user's drafts are written through the application's persistence, and only then do the held
replies go out, in order. A kill at any moment leaves either the old step with no new screen, or
the new step stored with its screen on the way.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ConversationHandler

from handlers.context import PosContext

Callback = Callable[[Update, PosContext], Awaitable[Any]]


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


async def _store(conversation: ConversationHandler, update: Update, context: PosContext, state: object) -> None:
    persistence = context.application.persistence
    if persistence is None:
        return
    if state is not None:  # None: the dialog stays where it is
        ended = state == ConversationHandler.END
        await persistence.update_conversation(conversation.name, _key(conversation, update), None if ended else state)
    if update.effective_chat and context.chat_data is not None:
        await persistence.update_chat_data(update.effective_chat.id, context.chat_data)
    if update.effective_user and context.user_data is not None:
        await persistence.update_user_data(update.effective_user.id, context.user_data)


def _durable_step(conversation: ConversationHandler, callback: Callback) -> Callback:
    @functools.wraps(callback)
    async def step(update: Update, context: PosContext) -> Any:
        outbox: list[Callable[[], Awaitable[None]]] = []
        context.outbox = outbox
        state: object = None
        try:
            state = await callback(update, context)
        except ApplicationHandlerStop as stop:
            state = stop.state
            raise
        finally:
            context.outbox = None
            # Stored even when the callback raised: its drafts may have changed; then the replies.
            await _store(conversation, update, context, state)
            for reply in outbox:
                await reply()
        return state

    step.durable = True  # type: ignore[attr-defined]
    return step
