"""The manager's reports: /report with its chart and exports, /sale, /refund and /history.

Charts and spreadsheets are CPU work: they run in the worker process (handlers/workers.py), which
neither holds the event loop nor takes the GIL from it, so other chats keep being served; the
per-chat processor keeps this chat's updates in order.
"""

from __future__ import annotations

import re
from datetime import date

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import checkout as checkout_db
from db import customers as customers_db
from db import exports, money_report
from db import reports as reports_db
from db.charts import chart_args, revenue_chart_from
from db.errors import InvalidInput, PosError
from db.models import Customer, Role, Sale, SaleStatus
from db.periods import Period, parse_period, period_for_days
from handlers import refunds
from handlers.access import requires
from handlers.context import PosContext
from handlers.receipts import refund_keyboard
from handlers.render import (
    MAX_CAPTION,
    button,
    cb,
    cb_args,
    cb_pattern,
    clip,
    counted,
    customer_line,
    esc,
    keyboard,
    lines,
    local_time,
    money,
    payment_label,
    points_text,
    quoted,
    sale_details,
    sales_summary_text,
    split_message,
)
from handlers.reply import STALE_BUTTON, answer, refuse, send, show

REPORT_NS, REFUND_NS, HISTORY_NS = "rep", "ref", "hist"
EXPORTS = {"csv": "CSV", "xlsx": "Excel"}  # callback action -> button label
HISTORY_MATCHES = 8
HISTORY_SALES = 10

SALE_USAGE = "Usage: /sale <number>, e.g. /sale 42"
REFUND_USAGE = "Usage: /refund <number> [reason], e.g. /refund 42 wrong size"
HISTORY_USAGE = "Usage: /history <customer name or phone>"


# --- /report -----------------------------------------------------------------------------------
def _day_arg(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def _period_from_args(args: list[int] | None, context: PosContext) -> Period | None:
    """The period a report button carries as two local dates (YYYYMMDD); None when malformed."""
    if args is None:
        return None
    try:
        first, last = (date(v // 10000, v // 100 % 100, v % 100) for v in args)
        return period_for_days(first, last, context.tz)
    except (ValueError, InvalidInput):
        return None


def _export_keyboard(period: Period) -> InlineKeyboardMarkup:
    first, last = _day_arg(period.first_day), _day_arg(period.last_day)
    return keyboard([[button(label, cb(REPORT_NS, kind, first, last)) for kind, label in EXPORTS.items()]])


@requires(Role.MANAGER)
async def report(update: Update, context: PosContext) -> None:
    """Figures of a period (this week by default), its revenue chart, CSV and Excel buttons."""
    chat = update.effective_chat
    assert chat is not None
    text = " ".join(context.args or []) or None
    try:
        period = parse_period(text, context.tz, default="week")
        async with context.reading() as session:
            summary = await reports_db.sales_summary(session, period=period, tz=context.tz)
            figures = await money_report.money_summary(session, period=period, tz=context.tz)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    text = sales_summary_text(summary, currency=context.currency, title="Sales report")
    if figures.sales_count or figures.refunds_minor:  # one message with the sales figures when it fits
        text = lines(
            text,
            "",
            f"💰 <b>Money {esc(period.label)}</b>",
            *(esc(line) for line in money_report.summary_lines(figures, currency=context.currency)),
        )
    for chunk in split_message(text):
        await send(update, context, chunk)
    if not summary.sales_count:
        return
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    title = f"Revenue per day, {period.label}"
    # In the worker process: matplotlib holds the GIL for most of a chart, a thread would still
    # make every other chat wait in turns with it.
    days, revenues = chart_args(summary.by_day)
    chart = await context.workers.run(revenue_chart_from, days, revenues, currency=context.currency, title=title)
    caption = lines(esc(clip(title, MAX_CAPTION - 100)), "Download the sales of the period:")
    await context.bot.send_photo(chat.id, chart, caption=caption, reply_markup=_export_keyboard(period))


@requires(Role.MANAGER)
async def export_button(update: Update, context: PosContext) -> None:
    """Send the period's sale lines as a CSV or Excel document."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    kind = next((k for k in EXPORTS if cb_args(query.data, REPORT_NS, k, 2)), None)
    period = _period_from_args(cb_args(query.data, REPORT_NS, kind, 2), context) if kind else None
    if period is None:
        await refuse(update, context, STALE_BUTTON)
        return
    label = EXPORTS[kind]
    await answer(update, context, f"Preparing the {label} file…")
    try:
        async with context.reading() as session:
            rows = await reports_db.sale_lines_for_export(session, period=period)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    if not rows:
        await send(update, context, f"No sales to export for {esc(period.label)}.")
        return
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_DOCUMENT)
    # In the worker process, as the chart: openpyxl and the csv writer are pure Python.
    content = await context.workers.run(
        exports.export_file, kind, exports.export_args(rows), tz=context.tz.key, currency=context.currency
    )
    span = period.first_day.isoformat() + ("" if period.first_day == period.last_day else f"_{period.last_day}")
    await context.bot.send_document(
        chat.id,
        content,
        filename=f"sales_{span}.{kind}",
        caption=esc(f"Sales {period.label}: {counted(len(rows), 'sale line')}"),
    )


# --- /sale and /refund -------------------------------------------------------------------------
async def _sale_from_command(update: Update, context: PosContext, usage: str) -> Sale | None:
    """The sale numbered in `/sale 42` or `/refund #42`; None (after telling why) otherwise."""
    args = context.args or []
    match = re.fullmatch(r"#?(\d{1,18})", args[0]) if len(args) == 1 or (args and usage == REFUND_USAGE) else None
    if match is None:
        await send(update, context, esc(usage))
        return None
    try:
        async with context.reading() as session:
            return await checkout_db.get_sale_by_number(session, number=int(match.group(1)))
    except PosError as error:
        await send(update, context, esc(error.message))
        return None


def _refund_keyboard(sale: Sale) -> InlineKeyboardMarkup:
    total = money(sale.total_minor - sale.refunded_minor, sale.currency)
    return keyboard(
        [
            [
                button(f"Refund {total}", cb(REFUND_NS, "do", sale.id)),
                button("Keep the sale", cb(REFUND_NS, "no", sale.id)),
            ],
            [button("Choose lines…", cb(refunds.NS, "show", sale.id))],
        ]
    )


def _sale_keyboard(sale: Sale) -> InlineKeyboardMarkup | None:
    if sale.status is SaleStatus.REFUNDED:
        return None
    return keyboard([[button("Refund…", cb(REFUND_NS, "ask", sale.id))]])


def _refund_question(sale: Sale, context: PosContext) -> str:
    return lines(
        sale_details(sale, tz=context.tz),
        "",
        f"Refund {'the rest of' if sale.refunded_minor else 'the whole'} sale "
        f"({money(sale.total_minor - sale.refunded_minor, sale.currency)})? Its goods go back into stock.",
    )


def _already_refunded(sale: Sale, context: PosContext) -> str:
    when = f" on {local_time(sale.refunded_at, context.tz)}" if sale.refunded_at else ""
    return f"Sale #{sale.number} was already refunded{when}."


@requires(Role.MANAGER)
async def sale(update: Update, context: PosContext) -> None:
    """One sale in full: lines, totals, payment, cashier, customer, status."""
    found = await _sale_from_command(update, context, SALE_USAGE)
    if found is None:
        return
    await send(update, context, sale_details(found, tz=context.tz), _sale_keyboard(found))


@requires(Role.CASHIER)
async def refund(update: Update, context: PosContext) -> None:
    """Ask to confirm the refund of a sale."""
    found = await _sale_from_command(update, context, REFUND_USAGE)
    if found is None:
        return
    if found.status is SaleStatus.REFUNDED:
        await send(update, context, esc(_already_refunded(found, context)))
        return
    # The line-by-line screen starts from here, with the reason typed after the number.
    context.chat_data[refunds.DRAFT_KEY] = refunds.new_draft(found, " ".join((context.args or [])[1:]))
    if not context.staff.role.includes(Role.MANAGER):  # a cashier: line by line (asks a manager unless allowed)
        await send(update, context, *refunds.refund_screen(found, context.chat_data[refunds.DRAFT_KEY]))
        return
    await send(update, context, _refund_question(found, context), _refund_keyboard(found))


@requires(Role.MANAGER)
async def refund_button(update: Update, context: PosContext) -> None:
    """ref:ask shows the question, ref:do refunds, ref:no leaves the sale as it is."""
    query = update.callback_query
    assert query is not None
    action = next((a for a in ("ask", "do", "no") if cb_args(query.data, REFUND_NS, a, 1)), None)
    if action is None:
        await refuse(update, context, STALE_BUTTON)
        return
    (sale_id,) = cb_args(query.data, REFUND_NS, action, 1) or [0]
    refunded = False
    try:
        async with context.transaction() as session:
            found = await checkout_db.get_sale(session, sale_id=sale_id)
            # A sale already refunded is answered below, with the time in the store's time zone.
            if action == "do" and found.status is not SaleStatus.REFUNDED:
                found = await checkout_db.refund_sale(
                    session,
                    sale_id=sale_id,
                    actor=context.staff,
                    default_threshold=context.settings.low_stock_threshold,
                    chat_id=update.effective_chat.id,
                    require_shift=context.settings.require_shift,
                )
                refunded = True
    except PosError as error:
        await refuse(update, context, error.message)
        return
    if refunded:
        await answer(update, context, f"Sale #{found.number} refunded.")
        await show(
            update,
            context,
            lines("✅ <b>Refunded.</b> The goods are back in stock.", "", sale_details(found, tz=context.tz)),
            refund_keyboard(found, found.refunds[-1].id),
        )
    elif found.status is SaleStatus.REFUNDED:
        await refuse(update, context, _already_refunded(found, context))
        await show(update, context, sale_details(found, tz=context.tz))
    elif action == "ask":
        await show(update, context, _refund_question(found, context), _refund_keyboard(found))
    else:
        await show(
            update, context, lines("Not refunded.", "", sale_details(found, tz=context.tz)), _sale_keyboard(found)
        )


# --- /history ----------------------------------------------------------------------------------
def _customer_label(customer: Customer) -> str:
    return f"{customer.name} ({customer.phone})" if customer.phone else customer.name


async def _show_history(update: Update, context: PosContext, customer_id: int) -> None:
    try:
        async with context.reading() as session:
            customer = await customers_db.get_customer(session, customer_id=customer_id)
            history = await customers_db.customer_history(session, customer_id=customer_id, limit=HISTORY_SALES)
    except PosError as error:
        await refuse(update, context, error.message)
        return
    currency = context.currency
    rows = [
        f"#{s.number} {local_time(s.created_at, context.tz)} — {money(s.total_minor, s.currency)}, "
        f"{payment_label(s.payment_method)}, {counted(sum(line.quantity for line in s.lines), 'item')}"
        + (" — <i>refunded</i>" if s.status is SaleStatus.REFUNDED else "")
        for s in history.sales
    ]
    text = lines(
        f"👤 <b>{customer_line(customer, width=None)}</b>",
        f"Purchases: {history.sale_count} · Total spent: {money(history.total_minor, currency)}",
        f"Points: {points_text(customer.points_balance, currency)}",
        "",
        (f"Latest {len(rows)}:" if history.sale_count > len(rows) else "Sales:") if rows else "No purchases yet.",
        *rows,
        "" if rows else None,
        "/sale &lt;number&gt; shows one in full." if rows else None,
    )
    await show(update, context, text)


@requires(Role.MANAGER)
async def history(update: Update, context: PosContext) -> None:
    """A customer's purchases and totals; several matches get a button each."""
    text = " ".join(context.args or [])
    if not text:
        await send(update, context, esc(HISTORY_USAGE))
        return
    try:
        async with context.reading() as session:
            found = await customers_db.find_customers(
                session, text=text, limit=HISTORY_MATCHES, default_region=context.settings.phone_region
            )
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    if not found:
        await send(update, context, f"No customer matches {esc(quoted(text))}.")
        return
    if len(found) == 1:
        await _show_history(update, context, found[0].id)
        return
    more = " (the first few: be more precise to see others)" if len(found) == HISTORY_MATCHES else ""
    await send(
        update,
        context,
        f"Several customers match {esc(quoted(text))}{more}. Whose history?",
        keyboard([[button(_customer_label(c), cb(HISTORY_NS, "c", c.id))] for c in found]),
    )


@requires(Role.MANAGER)
async def history_button(update: Update, context: PosContext) -> None:
    """One customer picked from the matches."""
    query = update.callback_query
    assert query is not None
    args = cb_args(query.data, HISTORY_NS, "c", 1)
    if args is None:
        await refuse(update, context, STALE_BUTTON)
        return
    await _show_history(update, context, args[0])


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("report", report),
        CommandHandler("sale", sale),
        CommandHandler("refund", refund),
        CommandHandler("history", history),
        CallbackQueryHandler(export_button, pattern=cb_pattern(REPORT_NS)),
        CallbackQueryHandler(refund_button, pattern=cb_pattern(REFUND_NS)),
        CallbackQueryHandler(history_button, pattern=cb_pattern(HISTORY_NS)),
    ]
