"""/sales [period]: the sales of a period (today by default), each with its number, time and total.

Cashiers see their own sales, managers and admins everyone's. Long lists are paged with ‹ ›;
the page buttons carry the period as two day numbers, and who sees what is decided again at
every press.
"""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import checkout as checkout_db
from db.errors import PosError
from db.models import Role, Sale, SaleStatus
from db.periods import Period, parse_period, period_for_days
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.render import cb_pattern, clip, counted, esc, keyboard, lines, local_time, money, pager_row
from handlers.reply import STALE_BUTTON, refuse, show

NS = "sales"
PER_PAGE = 40  # ~70 characters a line: far below 4096


def _sale_line(sale: Sale, context: PosContext, *, one_day: bool, everyone: bool) -> str:
    when = local_time(sale.created_at, context.tz, "%H:%M" if one_day else "%Y-%m-%d %H:%M")
    parts = [f"#{sale.number}", when, money(sale.total_minor, sale.currency)]
    if everyone:
        parts.append(esc(clip(sale.cashier.name or str(sale.cashier.telegram_id), 24)))
    line = " · ".join(parts)
    return f"<s>{line}</s> refunded" if sale.status is SaleStatus.REFUNDED else line


async def _show_sales(update: Update, context: PosContext, period: Period, page: int) -> None:
    staff = context.staff
    everyone = staff.role.includes(Role.MANAGER)
    try:
        async with context.reading() as session:
            sales = await checkout_db.list_sales(
                session, start=period.start, end=period.end, cashier_id=None if everyone else staff.id
            )
    except PosError as err:
        await refuse(update, context, err.message)
        return
    whose = "All sales" if everyone else "Your sales"
    title = f"🧾 <b>{whose}</b> · {esc(period.label)}"
    if not sales:
        await show(update, context, lines(title, "No sales in this period."))
        return
    completed = [s for s in sales if s.status is not SaleStatus.REFUNDED]
    total = sum(s.total_minor for s in completed)
    pages = -(-len(sales) // PER_PAGE)
    page = min(max(page, 1), pages)
    one_day = period.first_day == period.last_day
    shown = sales[(page - 1) * PER_PAGE : page * PER_PAGE]
    summary = f"{counted(len(completed), 'sale')} · {money(total, context.currency)}"
    refunded = len(sales) - len(completed)
    if refunded:
        summary += f" ({refunded} refunded, not counted)"
    text = lines(
        title,
        summary,
        f"Page {page} of {pages}, newest first." if pages > 1 else None,
        "",
        *(_sale_line(s, context, one_day=one_day, everyone=everyone) for s in shown),
    )
    pager = pager_row(NS, "pg", page, pages, period.first_day.toordinal(), period.last_day.toordinal())
    await show(update, context, text, keyboard([pager]) if pager else None)


@requires(Role.CASHIER)
async def sales(update: Update, context: PosContext) -> None:
    """/sales [today|yesterday|week|lastweek|month|YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD]."""
    try:
        period = parse_period(" ".join(context.args or []) or None, context.tz)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    await _show_sales(update, context, period, 1)


@requires(Role.CASHIER)
async def sales_page(update: Update, context: PosContext) -> None:
    """‹ › on a sales list."""
    args = await pressed(update, context, NS, "pg", 3)
    if args is None:
        return
    try:
        first, last = date.fromordinal(args[0]), date.fromordinal(args[1])
        period = period_for_days(first, last, context.tz)
    except (ValueError, OverflowError, PosError):
        await refuse(update, context, STALE_BUTTON)
        return
    await _show_sales(update, context, period, args[2])


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("sales", sales),
        CallbackQueryHandler(sales_page, pattern=cb_pattern(NS, "pg")),
    ]
