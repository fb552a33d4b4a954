"""Scheduled pushes to subscribed chats: the daily and weekly summaries and the low-stock digest.

Each push is claimed in the database per run (db/job_runs.py) before it is sent, so however many
bot processes run (a standby, an old one still up during an upgrade) and whatever restarts or
fails over in between, each run goes out once. A run that fell due while no process was up is
sent when one comes back, if it is at most LATE_LIMIT late; an older one is skipped (logged and
recorded as skipped). Each daily summary covers from where the previous one ended.

The job queue only ticks (`TICK_SECONDS`); `run_due(application, now)` does the work, so tests
and a restarted process use the same path with a clock of their choosing. The bodies
(`daily_summary`, ...) send one run's push, unclaimed.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import Application

from db import job_runs, reports
from db import stock as stock_db
from db.charts import chart_args, revenue_chart_from
from db.engine import transaction
from db.models import JobRunStatus
from db.periods import Period, parse_period
from handlers.context import PosContext, Services
from handlers.render import counted, esc, lines, local_time, low_stock_list, sales_summary_text
from handlers.subscriptions import MORNING_PUSH_TIME, broadcast, notify_low_stock, subscribed_chats

log = logging.getLogger(__name__)

DAILY_JOB = "daily-summary"
WEEKLY_JOB = "weekly-summary"
DIGEST_JOB = "low-stock-digest"
TICK_JOB = "pushes"
TICK_SECONDS = 20  # how late at most a push goes out while a process is up
LATE_LIMIT = timedelta(hours=4)  # a push found later than this (the bot was down) is skipped
MONDAY = 0  # datetime.weekday()
PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:64]  # who claimed a run, for the log and the table

JobBody = Callable[[Application, datetime], Awaitable[None]]

__all__ = ["daily_summary", "low_stock_digest", "notify_low_stock", "run_due", "schedule", "weekly_summary"]


def _services(application: Application) -> Services:
    return application.bot_data["services"]


@dataclass(frozen=True)
class Push:
    job: str
    at: time  # store time of day
    weekday: int | None  # only on this day of the week (Monday = 0); None: every day
    body: JobBody

    def latest(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The newest scheduled time at or before `now` (aware UTC)."""
        day = now.astimezone(tz).date()
        for _ in range(8):
            moment = datetime.combine(day, self.at, tzinfo=tz).astimezone(UTC)
            if moment <= now and (self.weekday is None or day.weekday() == self.weekday):
                return moment
            day -= timedelta(days=1)
        raise AssertionError("a week always holds a scheduled time")


def pushes(application: Application) -> tuple[Push, ...]:
    settings = _services(application).settings
    return (
        Push(DAILY_JOB, settings.daily_report_time.replace(tzinfo=None), None, daily_summary),
        Push(WEEKLY_JOB, MORNING_PUSH_TIME, MONDAY, weekly_summary),
        Push(DIGEST_JOB, MORNING_PUSH_TIME, None, low_stock_digest),
    )


async def run_due(application: Application, now: datetime) -> dict[str, JobRunStatus]:
    """Claim and send every push whose newest run is not claimed yet; what this call did, by job."""
    services = _services(application)
    done: dict[str, JobRunStatus] = {}
    for push in pushes(application):
        slot = push.latest(now, services.settings.tz)
        async with services.read_factory() as session:
            if await job_runs.is_claimed(session, job=push.job, scheduled_for=slot):
                continue
        late = now - slot
        status = JobRunStatus.SKIPPED if late > LATE_LIMIT else JobRunStatus.CLAIMED
        async with transaction(services.session_factory) as session:
            claimed = await job_runs.claim(session, job=push.job, scheduled_for=slot, by=PROCESS, status=status)
        if not claimed:
            continue  # another process got there first: it sends
        if status is JobRunStatus.SKIPPED:
            log.warning("skipped %s of %s: found %s late (more than %s)", push.job, slot, late, LATE_LIMIT)
            done[push.job] = status
            continue
        if late > timedelta(minutes=1):
            log.info("sending %s of %s late (%s): no process was up at the time", push.job, slot, late)
        await push.body(application, slot)
        async with transaction(services.session_factory) as session:
            await job_runs.finish(session, job=push.job, scheduled_for=slot)
        log.info("sent %s of %s (claimed by %s)", push.job, slot, PROCESS)
        done[push.job] = JobRunStatus.SENT
    return done


def _span_label(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """Label a span: "Tue 21:00 – Wed 21:00", a whole calendar day "Tue 2026-11-24", dates when longer."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    midnight = local_start.time() == time(0) and local_end.time() == time(0)
    if midnight and local_end.date() - local_start.date() == timedelta(days=1):
        return local_start.strftime("%a %Y-%m-%d")
    fmt = "%a %H:%M" if end - start <= timedelta(days=1, hours=1) else "%a %d %b %H:%M"
    return f"{local_start.strftime(fmt)} – {local_end.strftime(fmt)}"


async def daily_span(application: Application, end: datetime) -> Period:
    """From where the previous daily summary ended (else one day) to `end`."""
    services = _services(application)
    tz = services.settings.tz
    async with services.read_factory() as session:
        start = await job_runs.previous_sent(session, job=DAILY_JOB, before=end)
    if start is None:
        start = pushes(application)[0].latest(end - timedelta(seconds=1), tz)
    last_day = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return Period(
        first_day=start.astimezone(tz).date(),
        last_day=last_day,
        start=start,
        end=end,
        label=_span_label(start, end, tz),
    )


async def _summary(application: Application, span: Period, *, title: str, chart: bool) -> None:
    """A report of `span` to every subscribed chat, with its chart if asked."""
    chat_ids = await subscribed_chats(application)
    if not chat_ids:
        return
    settings = _services(application).settings
    async with _services(application).read_factory() as session:
        summary = await reports.sales_summary(session, period=span, tz=settings.tz)
    text = sales_summary_text(summary, currency=settings.currency, title=title)
    png = caption = None
    if chart and summary.sales_count:
        caption = f"Revenue per day, {span.label}"
        # Matplotlib takes a noticeable moment: in the worker process, never where the chats are served.
        days, revenues = chart_args(summary.by_day)
        png = await _services(application).workers.run(
            revenue_chart_from, days, revenues, currency=settings.currency, title=caption
        )
    await broadcast(application, text, photo=png, caption=esc(caption) if caption else None, chat_ids=chat_ids)


async def daily_summary(application: Application, end: datetime) -> None:
    """The figures since the previous daily summary ended, up to `end` (this run's time)."""
    await _summary(application, await daily_span(application, end), title="Daily summary", chart=False)


async def weekly_summary(application: Application, now: datetime) -> None:
    """Last week's figures and its revenue chart (last week as seen at `now`, a Monday morning)."""
    span = parse_period("lastweek", _services(application).settings.tz, now=now)
    await _summary(application, span, title="Weekly summary", chart=True)


async def low_stock_digest(application: Application, now: datetime) -> None:
    """The morning list of products at or below their threshold; nothing is sent when none are."""
    chat_ids = await subscribed_chats(application)
    if not chat_ids:
        return
    settings = _services(application).settings
    async with _services(application).read_factory() as session:
        products = await stock_db.low_stock(session, default_threshold=settings.low_stock_threshold)
    if not products:
        return
    day = local_time(now, settings.tz, "%a %d %b")
    text = lines(
        f"🌅 <b>Running low</b> this morning ({day}): {counted(len(products), 'product')}",
        low_stock_list(products, default_threshold=settings.low_stock_threshold),
        "/restock &lt;sku&gt; &lt;qty&gt; when the goods arrive.",
    )
    await broadcast(application, text, chat_ids=chat_ids)


async def _tick(context: PosContext) -> None:
    await run_due(context.application, datetime.now(UTC))


def schedule(application: Application) -> None:
    """Tick on the application's JobQueue: the first tick sends what fell due while we were down.

    Called at every start; calling it again replaces the tick instead of doubling it.
    """
    job_queue = application.job_queue
    if job_queue is None:
        log.warning("no JobQueue (install python-telegram-bot[job-queue]): scheduled reports are off")
        return
    for job in job_queue.get_jobs_by_name(TICK_JOB):
        job.schedule_removal()
    job_queue.run_repeating(_tick, interval=TICK_SECONDS, first=1, name=TICK_JOB)
    settings = _services(application).settings
    log.info(
        "scheduled: daily summary %s, weekly summary Mondays %s, low-stock digest %s (%s); each claimed once",
        settings.daily_report_time.strftime("%H:%M"),
        MORNING_PUSH_TIME.strftime("%H:%M"),
        MORNING_PUSH_TIME.strftime("%H:%M"),
        settings.tz.key,
    )
