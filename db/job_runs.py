"""Runs of the scheduled pushes: each (job, scheduled time) is claimed once, by one process.

A claim is the insert of the run's unique row: two processes that reach the same run at once
both try, the database lets one in, and only that one sends. The row stays, so a restart or a
failover finds it and sends nothing; the daily summary reads the previous run's time to start
where it ended.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import get_or_add
from db.models import JobRun, JobRunStatus, utcnow


def _run(job: str, scheduled_for: datetime):
    return select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)


async def is_claimed(session: AsyncSession, *, job: str, scheduled_for: datetime) -> bool:
    return await session.scalar(_run(job, scheduled_for)) is not None


async def claim(
    session: AsyncSession, *, job: str, scheduled_for: datetime, by: str, status: JobRunStatus = JobRunStatus.CLAIMED
) -> bool:
    """Claim the run; False when another process (or an earlier start) already has it."""
    row = JobRun(job=job, scheduled_for=scheduled_for, claimed_by=by[:64], status=status)
    if status is not JobRunStatus.CLAIMED:
        row.finished_at = utcnow()
    _, created = await get_or_add(session, _run(job, scheduled_for), lambda: row)
    return created


async def finish(session: AsyncSession, *, job: str, scheduled_for: datetime) -> None:
    """Mark a claimed run as sent."""
    run = await session.scalar(_run(job, scheduled_for))
    if run is not None:
        run.status, run.finished_at = JobRunStatus.SENT, utcnow()


async def previous_sent(session: AsyncSession, *, job: str, before: datetime) -> datetime | None:
    """The scheduled time of the newest run of `job` before `before` that was sent.

    A run skipped, or claimed by a process that died before it finished, does not count: the next
    summary then covers its time too, so no sale falls between two summaries.
    """
    return await session.scalar(
        select(JobRun.scheduled_for)
        .where(JobRun.job == job, JobRun.scheduled_for < before, JobRun.status == JobRunStatus.SENT)
        .order_by(JobRun.scheduled_for.desc())
        .limit(1)
    )
