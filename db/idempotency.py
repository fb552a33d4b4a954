"""Idempotency keys: a retried create finds the first response instead of writing again.

``claim`` runs in a transaction of its own and commits before the work starts, so a concurrent
twin sees the claim at once (409) instead of racing the work. The work and ``complete`` then run
in one transaction: the response is stored exactly when what it reports was written. A claim
whose request died (a crash between the two) is taken over after CLAIM_LEASE; ``complete`` is
conditional on the claim token, so the older request, if it was only slow, rolls back instead.
Records are kept for RETENTION and purged by the claims that come after.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import Conflict, InvalidInput
from db.models import IdempotencyRecord, utcnow

RETENTION = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


class InProgress(Conflict):
    """The first request with this key is still running."""


class Superseded(Conflict):
    """Our claim was taken over while we ran (we outlived the lease): nothing we did is kept."""


@dataclass(frozen=True)
class Claim:
    record_id: int
    token: str


@dataclass(frozen=True)
class Replay:
    status: int
    body: str  # JSON, exactly as first sent


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the body's JSON (key order ignored)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.upper().encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    if not KEY_RE.fullmatch(key):
        raise InvalidInput("The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces.")
    return key


async def claim(
    session: AsyncSession, *, api_key_id: int, key: str, fingerprint: str, now: datetime | None = None
) -> Claim | Replay:
    """Claim ``key`` for this request, or the stored response of the first request that used it."""
    key = check_key(key)
    now = now or utcnow()
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - RETENTION))
    token = secrets.token_hex(16)
    try:
        async with session.begin_nested():
            record = IdempotencyRecord(
                api_key_id=api_key_id, key=key, fingerprint=fingerprint, claim=token, claimed_at=now, created_at=now
            )
            session.add(record)
        return Claim(record_id=record.id, token=token)
    except IntegrityError:
        pass
    record = await session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if record is None:  # purged between our insert and this read: vanishingly rare; ask for a retry
        raise InProgress("That Idempotency-Key was just released; send the request again.")
    if record.fingerprint != fingerprint:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request: use a new key for a new request."
        )
    if record.response_status is not None:
        return Replay(status=record.response_status, body=record.response_body or "")
    if now - record.claimed_at < CLAIM_LEASE:
        raise InProgress("A request with this Idempotency-Key is still being processed: retry in a moment.")
    record.claim, record.claimed_at = token, now  # its request died: take over
    await session.flush()
    return Claim(record_id=record.id, token=token)


async def complete(session: AsyncSession, *, claim: Claim, status: int, body: str) -> None:
    """Store the response, in the transaction of the work it reports (see the module docstring)."""
    result = await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim.record_id, IdempotencyRecord.claim == claim.token)
        .values(response_status=status, response_body=body)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Superseded("This request took too long and was retried meanwhile: nothing was recorded by it.")


async def release(session: AsyncSession, *, claim: Claim) -> None:
    """Forget a claim whose request failed unexpectedly, so a retry runs it afresh."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == claim.record_id,
            IdempotencyRecord.claim == claim.token,
            IdempotencyRecord.response_status.is_(None),
        )
    )
