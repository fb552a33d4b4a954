"""Staff and roles. The store always keeps at least one active admin.

The last-admin rule reads the active admins with ``FOR UPDATE`` in the same transaction as the
change: on PostgreSQL two admins demoting each other at once are serialised and the second sees
the first's change; on SQLite ``BEGIN IMMEDIATE`` already serialises writers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.catalog import clean_name, require_int
from db.errors import Conflict, Forbidden, InvalidInput, NotFound
from db.models import Role, Staff
from db.text import quoted

MAX_TELEGRAM_ID = 2**53  # Telegram's documented bound for user ids
# Ids no Telegram user can have, for staff who are not people on Telegram: the console's own user
# (bot/console.py) and the demo store's staff (db/demo.py). So neither the console nor demo data
# ever signs in as, or makes an admin of, a real person. They still fit BigInteger, JSON and
# callback data.
CONSOLE_TELEGRAM_ID = MAX_TELEGRAM_ID + 1
FIRST_DEMO_TELEGRAM_ID = MAX_TELEGRAM_ID + 2
RESERVED_TELEGRAM_IDS = range(CONSOLE_TELEGRAM_ID, FIRST_DEMO_TELEGRAM_ID + 16)
# Each REST API key acts through a staff row of its own (db/apikeys.py) whose Telegram id is this
# plus the row's id: above every id a person or the console can have. They are not people: the
# staff list and the command menus leave them out (/apikey lists the keys).
API_KEY_TELEGRAM_BASE = MAX_TELEGRAM_ID + 2**32


def parse_role(value: Any) -> Role:
    try:
        return Role(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise InvalidInput(f"{quoted(value)} is not a role: use {names}.") from None


def is_telegram_id(value: Any) -> bool:
    """Whether `value` is an id a staff row may have (a Telegram user's, or a reserved one)."""
    return type(value) is int and (0 < value <= MAX_TELEGRAM_ID or value in RESERVED_TELEGRAM_IDS)


def _check_telegram_id(telegram_id: Any) -> int:
    if type(telegram_id) is int and telegram_id in RESERVED_TELEGRAM_IDS:
        return telegram_id
    return require_int(telegram_id, "The Telegram id", lo=1, hi=MAX_TELEGRAM_ID)


def describe(staff: Staff) -> str:
    return f"{staff.name} ({staff.telegram_id})" if staff.name else f"user {staff.telegram_id}"


async def _row(session: AsyncSession, telegram_id: int) -> Staff | None:
    return await session.scalar(
        select(Staff).where(Staff.telegram_id == telegram_id).execution_options(populate_existing=True)
    )


async def _active_row(session: AsyncSession, telegram_id: Any) -> Staff:
    telegram_id = _check_telegram_id(telegram_id)
    staff = await _row(session, telegram_id)
    if staff is None or not staff.active:
        raise NotFound(f"No active staff member with Telegram id {telegram_id}.")
    return staff


async def _refuse_if_last_admin(session: AsyncSession, staff: Staff, doing: str) -> None:
    if not (staff.active and staff.role is Role.ADMIN):
        return
    admin_ids = (
        await session.scalars(
            select(Staff.id).where(Staff.role == Role.ADMIN, Staff.active.is_(True)).with_for_update()
        )
    ).all()
    if set(admin_ids) <= {staff.id}:
        raise Forbidden(f"{describe(staff)} is the last admin and cannot be {doing}: add another admin first.")


async def get_active_staff(session: AsyncSession, *, telegram_id: int) -> Staff | None:
    """The active staff member with this Telegram id, or None (a stranger or a removed member)."""
    if isinstance(telegram_id, bool) or not isinstance(telegram_id, int):
        return None
    staff = await _row(session, telegram_id)
    return staff if staff is not None and staff.active else None


async def add_staff(
    session: AsyncSession, *, telegram_id: int, role: Role | str, name: str = "", actor: Staff | None = None
) -> Staff:
    """Add a staff member, or re-activate / update an existing row (an empty name keeps the old one)."""
    telegram_id = _check_telegram_id(telegram_id)
    role = parse_role(role)
    name = clean_name(name, "The name", max_len=128, required=False)
    staff = await _row(session, telegram_id)
    if staff is None:
        staff = Staff(telegram_id=telegram_id, role=role, name=name, active=True)
        session.add(staff)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"Telegram id {telegram_id} was just added by someone else.") from None
    else:
        if role is not Role.ADMIN:
            await _refuse_if_last_admin(session, staff, "demoted")
        staff.role = role
        staff.active = True
        if name:
            staff.name = name
        await session.flush()
    await audit.record(session, actor=actor, action="staff_add", details=f"{describe(staff)} as {role.value}")
    return staff


async def remove_staff(session: AsyncSession, *, telegram_id: int, actor: Staff | None = None) -> Staff:
    """Deactivate a staff member (the row stays: their past sales still name them)."""
    staff = await _active_row(session, telegram_id)
    await _refuse_if_last_admin(session, staff, "removed")
    staff.active = False
    await session.flush()
    await audit.record(session, actor=actor, action="staff_remove", details=describe(staff))
    return staff


async def set_role(session: AsyncSession, *, telegram_id: int, role: Role | str, actor: Staff | None = None) -> Staff:
    """Change an active staff member's role."""
    role = parse_role(role)
    staff = await _active_row(session, telegram_id)
    if staff.role is role:
        return staff
    if role is not Role.ADMIN:
        await _refuse_if_last_admin(session, staff, "demoted")
    old = staff.role
    staff.role = role
    await session.flush()
    await audit.record(
        session, actor=actor, action="staff_role", details=f"{describe(staff)}: {old.value} → {role.value}"
    )
    return staff


async def list_staff(session: AsyncSession, *, include_inactive: bool = True) -> list[Staff]:
    """Staff (people, not API keys), active first; then by role (admins first), name and Telegram id."""
    rank = case({Role.ADMIN: 0, Role.MANAGER: 1}, value=Staff.role, else_=2)
    inactive_last = case((Staff.active.is_(True), 0), else_=1)
    query = (
        select(Staff)
        .where(Staff.telegram_id < API_KEY_TELEGRAM_BASE)
        .order_by(inactive_last, rank, Staff.name, Staff.telegram_id)
    )
    if not include_inactive:
        query = query.where(Staff.active.is_(True))
    return list((await session.scalars(query)).all())


async def bootstrap_admins(session: AsyncSession, *, ids: list[int]) -> list[Staff]:
    """While the shop has no active admin, make each Telegram id an active admin (ADMIN_IDS at start).

    Once it has one, the staff is managed with /staff and the CLI alone, and ADMIN_IDS changes
    nothing: an admin removed with /staff remove stays removed after a restart. Returns the staff
    made admins by this call (none on a re-run).
    """
    ids = [_check_telegram_id(telegram_id) for telegram_id in ids]
    # Read like the last-admin rule (FOR UPDATE), so a concurrent removal is seen as it commits.
    admins = (
        await session.scalars(
            select(Staff.id).where(Staff.role == Role.ADMIN, Staff.active.is_(True)).with_for_update()
        )
    ).all()
    if admins:
        return []
    made = []
    for telegram_id in dict.fromkeys(ids):
        staff = await _row(session, telegram_id)
        if staff is None:
            staff = Staff(telegram_id=telegram_id, role=Role.ADMIN, name="", active=True)
            session.add(staff)
        else:
            staff.role = Role.ADMIN
            staff.active = True
        await session.flush()
        await audit.record(session, actor=None, action="staff_add", details=f"{describe(staff)} as admin (bootstrap)")
        made.append(staff)
    return made
