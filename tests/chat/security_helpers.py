"""Helpers for the security tests: a checksum of the whole database, raw updates, staff lookups."""

from __future__ import annotations

import hashlib
import itertools
import time
from typing import Any

from sqlalchemy import select
from telegram import Update

from bot.testing.chat import ChatClient
from db.engine import SessionFactory
from db.models import AuditEntry, Base, Staff

_ids = itertools.count(10_000_000)


# The bot's own bookkeeping, not the shop's data: where a dialog is, updates seen, pushes sent.
BOOKKEEPING = {"dialog_conversations", "dialog_data", "update_inbox", "job_runs"}


async def db_checksum(session_factory: SessionFactory, *, shop_only: bool = False) -> str:
    """A digest of every row of every table (with shop_only, of the shop's data only): equal before
    and after means nothing changed."""
    digest = hashlib.sha256()
    async with session_factory() as session:
        for table in Base.metadata.sorted_tables:
            if shop_only and table.name in BOOKKEEPING:
                continue
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            digest.update(f"{table.name}:{len(rows)}:{[tuple(r) for r in rows]!r}\n".encode())
    return digest.hexdigest()


async def staff_row(session_factory: SessionFactory, telegram_id: int) -> Staff | None:
    async with session_factory() as session:
        return await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))


async def audit_entries(session_factory: SessionFactory) -> list[AuditEntry]:
    async with session_factory() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


def user(user_id: int, first_name: str = "Ann", *, is_bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "is_bot": is_bot, "first_name": first_name}


def chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Shop group"}
    return {"id": chat_id, "type": "private", "first_name": "Ann"}


def message(chat_id: int, from_id: int | None, text: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": chat(chat_id), "text": text}
    if from_id is not None:
        msg["from"] = user(from_id)
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return msg


async def process(client: ChatClient, payload: dict[str, Any]) -> None:
    """Run a raw update (any kind the chat client cannot make) through the application."""
    payload = {"update_id": next(_ids), **payload}
    await client.application.process_update(Update.de_json(payload, client.application.bot))
