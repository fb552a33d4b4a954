"""/subscribe and /unsubscribe, and the pushes that reach subscribed chats.

A subscribed chat (a manager's private chat or a store group) gets the daily summary, the weekly
summary on Monday morning, the morning low-stock digest (scheduled in bot/jobs.py) and a low-stock
alert when a sale takes a product to or below its threshold (`notify_low_stock`, called by checkout).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import time

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, BaseHandler, CommandHandler

from db import subscriptions as subscriptions_db
from db.engine import transaction
from db.errors import PosError
from db.models import Product, Role
from handlers.access import requires
from handlers.context import PosContext, Services
from handlers.render import esc, lines, low_stock_list, split_message
from handlers.reply import send

log = logging.getLogger(__name__)

# Store time of the weekly summary (Mondays) and of the low-stock digest.
MORNING_PUSH_TIME = time(8, 0)


def schedule_text(services: Services) -> str:
    settings = services.settings
    return lines(
        f"• the day's summary every day at {settings.daily_report_time:%H:%M}",
        f"• last week's summary on Mondays at {MORNING_PUSH_TIME:%H:%M}",
        f"• products running low every morning at {MORNING_PUSH_TIME:%H:%M}",
        "• an alert when a sale takes a product to its low-stock threshold",
        f"(times in {esc(settings.store_timezone)})",
    )


@requires(Role.MANAGER)
async def subscribe(update: Update, context: PosContext) -> None:
    """Send the scheduled reports and low-stock alerts to this chat."""
    chat = update.effective_chat
    assert chat is not None
    try:
        async with context.transaction() as session:
            _, created = await subscriptions_db.subscribe(session, chat_id=chat.id, actor=context.staff)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    first = "This chat is subscribed. It will get:" if created else "This chat is already subscribed. It gets:"
    await send(update, context, lines(first, schedule_text(context.services), "", "/unsubscribe stops them."))


@requires(Role.MANAGER)
async def unsubscribe(update: Update, context: PosContext) -> None:
    """Stop the scheduled reports and alerts to this chat."""
    chat = update.effective_chat
    assert chat is not None
    try:
        async with context.transaction() as session:
            removed = await subscriptions_db.unsubscribe(session, chat_id=chat.id)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    if removed:
        await send(update, context, "This chat will no longer get reports or alerts. /subscribe brings them back.")
    else:
        await send(update, context, "This chat was not subscribed. /subscribe starts the reports and alerts.")


# --- pushes ------------------------------------------------------------------------------------
async def subscribed_chats(application: Application) -> list[int]:
    services: Services = application.bot_data["services"]
    async with services.read_factory() as session:
        return await subscriptions_db.list_chat_ids(session)


async def broadcast(
    application: Application,
    text: str,
    *,
    photo: bytes | None = None,
    caption: str | None = None,
    chat_ids: Sequence[int] | None = None,
) -> list[int]:
    """Send `text` (split when long), then an optional photo, to every subscribed chat.

    A chat that fails is logged and skipped: one dead chat must not keep the others from their
    report. A chat Telegram says is gone for the bot (blocked it, removed it from the group, the
    chat was deleted) is unsubscribed, so it is not tried again. Returns the chats that got everything.
    """
    if chat_ids is None:
        chat_ids = await subscribed_chats(application)
    reached = []
    for chat_id in chat_ids:
        try:
            for chunk in split_message(text):
                await application.bot.send_message(chat_id, chunk)
            if photo is not None:
                await application.bot.send_photo(chat_id, photo, caption=caption)
        except (Forbidden, BadRequest) as error:
            if isinstance(error, Forbidden) or "chat not found" in str(error).lower():
                await _drop_dead_chat(application, chat_id, error)
            else:
                log.warning("could not push to subscribed chat %s: %s", chat_id, error)
            continue
        except TelegramError as error:  # network trouble: the other chats may still work
            log.warning("push to chat %s failed: %s", chat_id, error)
            continue
        reached.append(chat_id)
    return reached


async def _drop_dead_chat(application: Application, chat_id: int, error: TelegramError) -> None:
    services: Services = application.bot_data["services"]
    try:
        async with transaction(services.session_factory) as session:
            await subscriptions_db.unsubscribe(session, chat_id=chat_id)
    except PosError as failure:  # a chat id the database refuses: nothing to unsubscribe
        log.warning("could not unsubscribe chat %s: %s", chat_id, failure.message)
        return
    log.warning("unsubscribed chat %s: Telegram says it is gone for the bot (%s)", chat_id, error)


async def notify_low_stock(application: Application, products: Sequence[Product]) -> None:
    """One alert listing the products a sale just took to or below their threshold.

    db.checkout marks each crossing once (product.low_stock_alerted), so this is called once per
    crossing; restocking above the threshold re-arms it.
    """
    if not products:
        return
    services: Services = application.bot_data["services"]
    default = services.settings.low_stock_threshold
    text = lines("⚠️ <b>Running low</b> after a sale:", low_stock_list(products, default_threshold=default), "/lowstock")
    await broadcast(application, text)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("subscribe", subscribe),
        CommandHandler("unsubscribe", unsubscribe),
    ]
