"""The context every handler receives: settings, the database, and who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from db.engine import SessionFactory
from db.models import Staff
from db.settings import Settings
from handlers.workers import Workers


def update_key(update: Update) -> str:
    """A key for what this update writes, so a replayed update (the inbox redelivers after a crash)
    finds its first effect instead of applying it twice."""
    chat = update.effective_chat
    return f"tg:{chat.id if chat else 0}:{update.update_id}"


@dataclass
class Services:
    """Shared services, created with the Application and closed with it."""

    settings: Settings
    engine: AsyncEngine
    session_factory: SessionFactory
    read_factory: SessionFactory  # sessions that only read: see db.engine.make_read_session_factory
    owns_engine: bool = True
    # CPU work (charts, spreadsheets) in a worker process: see handlers/workers.py.
    workers: Workers = field(default_factory=Workers)


PENDING_QUANTITY = "pending_quantity"  # chat_data: what a number typed as the very next message sets


class PosContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext plus the POS services. One context lives for one update."""

    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.staff: Staff | None = None  # set by the access guard
        self.committed = False  # whether this update saved anything (for error messages)
        self.callback_answered = False
        # Replies held until a persistent dialog's step is stored (handlers/dialogs.py); None: send at once.
        self.outbox: list[Callable[[], Awaitable[None]]] | None = None
        self.pending_quantity: dict | None = None  # see take_pending_quantity

    def take_pending_quantity(self) -> None:
        """Called once per update (by the guard): what the previous update said a typed number
        would set (a product card's quantity, a cart line's), for this user. Any other update in
        between drops it, so "12" only ever means a quantity right after the screen that asked."""
        pending = self.chat_data.pop(PENDING_QUANTITY, None) if self.chat_data is not None else None
        if isinstance(pending, dict) and pending.get("user") == self._user_id:
            self.pending_quantity = pending

    def expect_quantity(self, kind: str, product_id: int, **extra: int) -> None:
        """A number typed next sets this: kind "card" (the card's quantity) or "line" (the cart line)."""
        if self.chat_data is not None:
            self.chat_data[PENDING_QUANTITY] = {"kind": kind, "product_id": product_id, "user": self._user_id, **extra}

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def workers(self) -> Workers:
        return self.services.workers

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def currency(self) -> str:
        return self.settings.currency

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit at the end of the block, roll back everything on error."""
        async with self.services.session_factory() as session:
            async with session.begin():
                yield session
            self.committed = True

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads (reports, lists): it never takes SQLite's write lock."""
        async with self.services.read_factory() as session:
            yield session
