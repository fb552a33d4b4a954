"""Approval requests: a cashier's action beyond their limit waits for a manager.

The first answer wins: ``decide`` moves a request out of ``pending`` with a conditional UPDATE, so
of two managers answering at once exactly one decides; the other is told who did and what. A
request expires after APPROVAL_MINUTES; a discount request is void when the cart changed since it
was asked for. Every request and answer goes to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit
from db.catalog import is_row_id
from db.errors import NotFound
from db.models import (
    ApprovalKind,
    ApprovalMessage,
    ApprovalRequest,
    ApprovalStatus,
    Role,
    Staff,
    utcnow,
)


@dataclass(frozen=True)
class Decision:
    request: ApprovalRequest  # messages and decider loaded
    decided_now: bool  # False: someone else had decided, or it had expired
    decided_by: Staff | None
    payload: dict[str, Any]


async def create(
    session: AsyncSession,
    *,
    kind: ApprovalKind,
    requested_by: Staff,
    chat_id: int,
    summary: str,
    payload: dict[str, Any],
    minutes: int,
    cart_id: int | None = None,
    cart_version: int | None = None,
    sale_id: int | None = None,
) -> ApprovalRequest:
    now = utcnow()
    request = ApprovalRequest(
        kind=kind,
        requested_by_id=requested_by.id,
        chat_id=chat_id,
        cart_id=cart_id,
        cart_version=cart_version,
        sale_id=sale_id,
        payload=json.dumps(payload, sort_keys=True),
        summary=summary[:255],
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(request)
    await session.flush()
    await audit.record(session, actor=requested_by, action="approval_ask", details=f"#{request.id} {summary}"[:500])
    return request


async def remember_messages(
    session: AsyncSession, *, request_id: int, cashier_message_id: int | None, sent: list[tuple[int, int]]
) -> None:
    """Where the request was shown: the cashier's waiting screen and each manager's copy."""
    request = await session.get(ApprovalRequest, request_id)
    if request is None:
        return
    request.message_id = cashier_message_id
    for chat_id, message_id in sent:
        session.add(ApprovalMessage(request_id=request_id, chat_id=chat_id, message_id=message_id))
    await session.flush()


async def get(session: AsyncSession, *, request_id: int) -> ApprovalRequest:
    if not is_row_id(request_id):
        raise NotFound(f"No approval request #{request_id}.")
    request = await session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .options(selectinload(ApprovalRequest.messages))
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    return request


async def decide(session: AsyncSession, *, request_id: int, manager: Staff, approve: bool) -> Decision:
    """Answer a request. Only one answer ever takes effect (see the module docstring).

    Approving does not apply the action itself: the caller applies it in the same transaction
    (and calls ``void`` if it no longer fits, e.g. the cart changed).
    """
    if not manager.role.includes(Role.MANAGER):
        raise NotFound("Only a manager can answer an approval request.")
    request = await get(session, request_id=request_id)
    now = utcnow()
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
    claim = await session.execute(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request.id,
            ApprovalRequest.status == ApprovalStatus.PENDING,
            ApprovalRequest.expires_at > now,
        )
        .values(status=status, decided_by_id=manager.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    decided_now = claim.rowcount == 1
    if not decided_now:
        await session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request.id, ApprovalRequest.status == ApprovalStatus.PENDING)
            .values(status=ApprovalStatus.EXPIRED, decided_at=now)
            .execution_options(synchronize_session=False)
        )
    request = await get(session, request_id=request.id)
    decider = await session.get(Staff, request.decided_by_id) if request.decided_by_id else None
    if decided_now:
        await audit.record(
            session, actor=manager, action=f"approval_{status.value}", details=f"#{request.id} {request.summary}"[:500]
        )
    return Decision(request=request, decided_now=decided_now, decided_by=decider, payload=json.loads(request.payload))


async def void(session: AsyncSession, *, request: ApprovalRequest, why: str) -> None:
    """An approved request whose action no longer fits (the cart changed): it is void."""
    request.status = ApprovalStatus.VOID
    await session.flush()
    await audit.record(session, actor=None, action="approval_void", details=f"#{request.id} {why}"[:500])


async def pending_for_cart(session: AsyncSession, *, cart_id: int) -> list[ApprovalRequest]:
    rows = await session.scalars(
        select(ApprovalRequest).where(
            ApprovalRequest.cart_id == cart_id, ApprovalRequest.status == ApprovalStatus.PENDING
        )
    )
    return list(rows.all())
