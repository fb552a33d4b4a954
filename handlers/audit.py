"""/audit [period]: the privileged actions (prices, stock, archive, refunds, staff), newest first.

Without a period it shows the most recent entries. Pages are buttons that edit the message in
place; the payload carries the period as two day numbers (ordinals) and the page.
"""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import audit as audit_db
from db.errors import PosError
from db.models import AuditEntry, Role
from db.periods import Period, parse_period, period_for_days
from handlers.access import requires
from handlers.context import PosContext
from handlers.render import MAX_MESSAGE, cb_args, cb_pattern, clip, esc, keyboard, lines, local_time, pager_row
from handlers.reply import STALE_BUTTON, refuse, send, show

NS = "audit"
PER_PAGE = 10
MAX_DETAILS = 280  # ten entries at most this long still fit in one message
RECENT = 0  # the "no period" marker in button payloads


def _entry(entry: AuditEntry, context: PosContext) -> str:
    who = "system"
    if entry.actor_telegram_id is not None:
        who = f"{entry.actor_name or 'no name'} ({entry.actor_telegram_id})"
    return lines(
        f"<b>{esc(local_time(entry.created_at, context.tz))}</b> · {esc(clip(who, 60))} · <i>{esc(entry.action)}</i>",
        f"   {esc(clip(entry.details, MAX_DETAILS))}" if entry.details else None,
    )


async def _screen(context: PosContext, period: Period | None, page: int):
    async with context.reading() as session:
        entries = await audit_db.list_entries(
            session,
            start=period.start if period else None,
            end=period.end if period else None,
            limit=audit_db.MAX_LIST,
        )
    label = period.label if period else "most recent"
    if not entries:
        return f"<b>Audit log</b> — {esc(label)}\nNothing recorded.", None
    pages = -(-len(entries) // PER_PAGE)
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * PER_PAGE : page * PER_PAGE]
    capped = f" (the newest {audit_db.MAX_LIST})" if len(entries) == audit_db.MAX_LIST else ""
    text = lines(
        f"<b>Audit log</b> — {esc(label)}: {len(entries)} entries{capped}, newest first",
        "",
        "\n\n".join(_entry(e, context) for e in shown),
    )
    if len(text) > MAX_MESSAGE:  # cannot happen with the clipping above, but never send a too-long text
        text = text[: MAX_MESSAGE - 1]
    first, last = (period.first_day.toordinal(), period.last_day.toordinal()) if period else (RECENT, RECENT)
    return text, keyboard([pager_row(NS, "page", page, pages, first, last)])


@requires(Role.ADMIN)
async def audit_command(update: Update, context: PosContext) -> None:
    """/audit [period]: privileged actions of the period, or the most recent ones."""
    words = context.args or []
    try:
        period = parse_period(" ".join(words), context.tz) if words else None
        text, markup = await _screen(context, period, 1)
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    await send(update, context, text, markup)


@requires(Role.ADMIN)
async def page_button(update: Update, context: PosContext) -> None:
    """‹ › through the audit log."""
    args = cb_args(update.callback_query.data, NS, "page", 3)
    try:
        if args is None:
            raise ValueError("malformed")
        first, last, page = args
        period = None
        if (first, last) != (RECENT, RECENT):
            period = period_for_days(date.fromordinal(first), date.fromordinal(last), context.tz)
        text, markup = await _screen(context, period, page)
    except (ValueError, OverflowError, PosError):  # forged: not a real day, or a range we refuse
        await refuse(update, context, STALE_BUTTON)
        return
    await show(update, context, text, markup)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("audit", audit_command),
        CallbackQueryHandler(page_button, pattern=cb_pattern(NS, "page")),
    ]
