"""REST API keys: created by an admin, shown once, stored as a hash, revocable, rate limited.

A key is ``pos_`` and 43 random URL-safe characters (256 bits): so much entropy that one SHA-256
is a safe way to store it (a slow password hash protects guessable secrets, not random ones).
``authenticate`` runs for every request: it refuses unknown and revoked keys, counts the request
in the key's one-minute window (a row lock, so every worker shares one count) and records when
the key was last used.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.catalog import clean_text, is_row_id
from db.errors import Conflict, NotFound
from db.models import ApiKey, Role, Staff, utcnow
from db.staff import API_KEY_TELEGRAM_BASE, parse_role

PREFIX = "pos_"
KEY_RE = re.compile(r"pos_[A-Za-z0-9_-]{43}")  # what create_key makes: for redacting logs
RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who an API request comes from."""

    key_id: int
    name: str
    role: Role
    staff: Staff  # the key's own staff row: the cashier of its sales, the actor in the audit log


@dataclass(frozen=True)
class Refused:
    """Over the rate limit: try again in ``retry_after`` seconds."""

    retry_after: int


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def describe(key: ApiKey) -> str:
    return f"#{key.id} “{key.name}” ({key.role.value})"


def _query():
    return select(ApiKey).options(selectinload(ApiKey.staff), selectinload(ApiKey.created_by))


async def create_key(session: AsyncSession, *, role: Role | str, name: str, actor: Staff | None) -> tuple[ApiKey, str]:
    """A new key: (the row, the key itself, which nothing stores)."""
    role = parse_role(role)
    name = clean_text(name, "The key's name", max_len=64)
    # A placeholder id until the row's own id is known; never visible outside this transaction.
    staff = Staff(telegram_id=-secrets.randbelow(2**62) - 1, role=Role.CASHIER, name=f"API key “{name}”"[:128])
    session.add(staff)
    await session.flush()
    # Above every id a person can have (see db/staff.py): no one can sign in to the chat as a key.
    staff.telegram_id = API_KEY_TELEGRAM_BASE + staff.id
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, role=role, key_hash=hash_key(key), staff_id=staff.id, created_by_id=actor.id if actor else None
    )
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor, action="apikey_new", details=describe(row))
    return row, key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, the ones in use first, then newest first."""
    query = _query().order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
    return list((await session.scalars(query)).all())


async def revoke_key(session: AsyncSession, *, key_id: int, actor: Staff | None) -> ApiKey:
    """Revoke a key: its next request is refused (401)."""
    row = await session.scalar(_query().where(ApiKey.id == key_id)) if is_row_id(key_id) else None
    if row is None:
        raise NotFound(f"No API key #{key_id}.")
    if row.revoked_at is not None:
        raise Conflict(f"API key {describe(row)} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC.")
    row.revoked_at = utcnow()
    row.revoked_by_id = actor.id if actor else None
    row.staff.active = False  # its sales stay; nothing more can be done in its name
    await session.flush()
    await audit.record(session, actor=actor, action="apikey_revoke", details=describe(row))
    return row


async def authenticate(
    session: AsyncSession, *, key: str, rate_limit: int, now: datetime | None = None
) -> Caller | Refused | None:
    """The caller a key belongs to; Refused over the rate limit; None for an unknown or revoked key."""
    if not isinstance(key, str) or not key.startswith(PREFIX) or len(key) > 128:
        return None
    row = await session.scalar(
        _query().where(ApiKey.key_hash == hash_key(key)).with_for_update().execution_options(populate_existing=True)
    )
    if row is None or row.revoked_at is not None or not row.staff.active:
        return None
    now = now or utcnow()
    if row.window_started_at is None or now - row.window_started_at >= RATE_WINDOW or now < row.window_started_at:
        row.window_started_at, row.window_count = now, 0
    if row.window_count >= rate_limit:
        left = (row.window_started_at + RATE_WINDOW - now).total_seconds()
        return Refused(retry_after=max(1, math.ceil(left)))
    row.window_count += 1
    row.last_used_at = now
    await session.flush()
    return Caller(key_id=row.id, name=row.name, role=row.role, staff=row.staff)
