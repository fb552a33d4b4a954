"""The composition root: build the production Application from settings.

Tests and the console pass a `request` (the fake Telegram) and a session factory; polling and
webhook modes pass nothing and get Telegram over HTTP with a rate limiter.
"""

from __future__ import annotations

import logging

import httpx
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

import handlers
from bot import jobs
from bot.inbox import InboxRequest, drain
from bot.persistence import DbPersistence
from bot.processor import PerChatUpdateProcessor
from db import staff as staff_db
from db.engine import SessionFactory, make_engine, make_read_session_factory, make_session_factory, transaction
from db.settings import Settings
from handlers.context import PosContext, Services
from handlers.menu import publish_default_menu, publish_menu

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    session_factory: SessionFactory | None = None,
    token: str | None = None,
) -> Application:
    """The one Application every run mode uses: real handlers, real database."""
    owns_engine = session_factory is None
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    processor = PerChatUpdateProcessor(64, session_factory)
    builder = (
        ApplicationBuilder()
        .token(token or settings.token())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .context_types(ContextTypes(context=PosContext))
        # Per-chat order, and each update once in effect (the inbox: bot/inbox.py).
        .concurrent_updates(processor)
        # Dialog steps and drafts live in the database: a restart or a failover resumes them.
        .persistence(DbPersistence(session_factory))
        .post_init(startup)
        .post_shutdown(shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # One TLS context for both connections to Telegram: each HTTPXRequest would load the CA
        # bundle into its own (~15 ms apiece at every start). Otherwise PTB's default requests.
        tls = httpx.create_ssl_context()
        api_request = HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": tls})
        poll_request = HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls})
        # Each fetched batch goes into the inbox before the poller can acknowledge it.
        inbox_request = InboxRequest(poll_request, session_factory, processor.received)
        builder = (
            builder.rate_limiter(AIORateLimiter(max_retries=3)).request(api_request).get_updates_request(inbox_request)
        )
    application = builder.build()

    engine = session_factory.kw["bind"]
    services = Services(settings, engine, session_factory, make_read_session_factory(engine), owns_engine)
    application.bot_data["services"] = services
    handlers.register(application)
    return application


async def startup(application: Application) -> None:
    """Bootstrap the admins from ADMIN_IDS, publish the menus, schedule the pushes.

    Run by run_polling/run_webhook as post_init; the console and tests call it after initialize().
    """
    services: Services = application.bot_data["services"]
    async with transaction(services.session_factory) as session:
        await staff_db.bootstrap_admins(session, ids=services.settings.admin_ids)
    async with services.read_factory() as session:
        members = await staff_db.list_staff(session)
    await publish_default_menu(application.bot)
    for member in members:
        if member.active:
            await publish_menu(application.bot, member.telegram_id, member.role)
    jobs.schedule(application)
    await drain(application, services.session_factory)


async def shutdown(application: Application) -> None:
    services: Services = application.bot_data["services"]
    await services.workers.shutdown()
    if services.owns_engine:
        await services.engine.dispose()
