"""Everything about how things look in the chat, in one place.

Escaped HTML, money and time formatting, the callback-data codec, keyboards and pagination.
Handlers build text with these helpers and never format by hand.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import Customer, PointsEntry, PointsKind, Product, Sale, SaleStatus
from db.money import format_money
from db.reports import ProductStat, SalesSummary
from db.shifts import ShiftReport, report_lines
from db.stock import effective_threshold
from db.taxes import format_rate, sale_taxes
from db.text import clip, counted, payment_label
from db.text import quoted as quoted  # handlers import it (and counted) from here, with the rest of their wording

if TYPE_CHECKING:  # the per-update context, for its settings and time zone (no import at run time)
    from handlers.context import PosContext

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK = 64
MAX_BUTTON_LABEL = 40

_CB_PART = re.compile(r"^[A-Za-z0-9_.\-+]*$")


def esc(value: object) -> str:
    """HTML-escape any value for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=False)


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency)


def local_time(moment: datetime, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(tz).strftime(fmt)


# --- callback data: "ns:action:arg[:arg]", ASCII, ids only -----------------------------------
def cb(ns: str, action: str, *args: object) -> str:
    parts = [ns, action, *(str(a) for a in args)]
    for part in parts:
        if ":" in part or not _CB_PART.match(part):
            raise ValueError(f"callback part {part!r} is not plain ASCII without ':'")
    data = ":".join(parts)
    if len(data.encode()) > MAX_CALLBACK:
        raise ValueError(f"callback data {data!r} is over {MAX_CALLBACK} bytes")
    return data


# Row ids, versions, pages and counts are INTEGER columns or fit one: PostgreSQL refuses a larger
# parameter with a driver error, so a forged `cat:add:1099511627776:1` is malformed right here.
CB_INT_MAX = 2**31 - 1
CB_TELEGRAM_ID_MAX = 2**63 - 1  # Telegram ids are BIGINT columns


def cb_args(
    data: str | None, ns: str, action: str, count: int, *, telegram_ids: Collection[int] = ()
) -> list[int] | None:
    """Parse `ns:action:<int>...` into its integer args; None when the payload is malformed.

    Every argument must fit a 32-bit INTEGER, except those at the positions in `telegram_ids`
    (0-based), which may be any 64-bit Telegram id.
    """
    if not data:
        return None
    parts = data.split(":")
    if len(parts) != 2 + count or parts[0] != ns or parts[1] != action:
        return None
    try:
        values = [int(p) for p in parts[2:]]
    except ValueError:
        return None
    for position, value in enumerate(values):
        bound = CB_TELEGRAM_ID_MAX if position in telegram_ids else CB_INT_MAX
        if not -bound <= value <= bound:
            return None
    return values


def cb_pattern(ns: str, action: str | None = None) -> str:
    """An anchored pattern for CallbackQueryHandler."""
    return rf"^{re.escape(ns)}:{re.escape(action)}(:|$)" if action else rf"^{re.escape(ns)}:"


# --- keyboards ---------------------------------------------------------------------------------
def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(label, MAX_BUTTON_LABEL), callback_data=data)


def keyboard(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    rows = [list(r) for r in rows if r]
    return InlineKeyboardMarkup(rows)


def pager_row(ns: str, action: str, page: int, pages: int, *args: object) -> list[InlineKeyboardButton]:
    """‹ page/pages › navigation; empty when everything fits on one page."""
    if pages <= 1:
        return []
    row = []
    if page > 1:
        row.append(button("‹", cb(ns, action, *args, page - 1)))
    row.append(button(f"{page}/{pages}", cb("nav", "noop")))
    if page < pages:
        row.append(button("›", cb(ns, action, *args, page + 1)))
    return row


# --- long messages ---------------------------------------------------------------------------
def split_message(html_text: str, limit: int = MAX_MESSAGE - 96) -> list[str]:
    """Split on line boundaries so no chunk exceeds the limit (tags never span lines here)."""
    chunks: list[str] = []
    current = ""
    for line in html_text.split("\n"):
        while len(line) > limit:  # a single monster line: cut it (only plain text gets this long)
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks or [""]


def lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p is not None)


# --- the manager's office: product cards, stock lists, reports, sales --------------------------
def product_card(product: Product, *, currency: str, default_threshold: int) -> str:
    """Everything a manager edits about a product (its category must be loaded)."""
    threshold = effective_threshold(product, default_threshold)
    own = "" if product.low_stock_threshold is not None else " (store default)"
    low = " ⚠️ low" if product.stock <= threshold else ""
    return lines(
        f"<b>{esc(product.name)}</b>" + (" — <i>archived</i>" if product.archived else ""),
        f"SKU: <code>{esc(product.sku)}</code>"
        + (f" · barcode <code>{esc(product.barcode)}</code>" if product.barcode else ""),
        f"Price: {money(product.price_minor, currency)}",
        f"Stock: {product.stock}{low}",
        f"Low-stock threshold: {threshold}{own}",
        f"Category: {esc(product.category.name) if product.category else '—'}",
    )


def stock_line(product: Product, *, threshold: int) -> str:
    """One line of a stock list: low products are marked."""
    mark = "⚠️ " if product.stock <= threshold else ""
    return f"{mark}{esc(clip(product.name, 48))} (<code>{esc(product.sku)}</code>): <b>{product.stock}</b>"


def low_stock_list(products: Sequence[Product], *, default_threshold: int) -> str:
    """Products at or below their threshold, one per line."""
    return "\n".join(
        f"• {esc(clip(p.name, 48))} (<code>{esc(p.sku)}</code>): {p.stock} left, "
        f"threshold {effective_threshold(p, default_threshold)}"
        for p in products
    )


def sales_summary_text(summary: SalesSummary, *, currency: str, title: str) -> str:
    """The figures of a period: totals, best and worst products, payment methods, cashiers, refunds."""
    period = summary.period
    head = f"📊 <b>{esc(title)}</b> — {esc(period.label)}"
    refunds = (
        f"Refunds: {summary.refunded_count} ({money(summary.refunded_minor, currency)})"
        if summary.refunded_count
        else None
    )
    if not summary.sales_count:
        return lines(head, "No sales in this period.", refunds)

    def product_rows(stats: Sequence[ProductStat]) -> str:
        return "\n".join(
            f"{i}. {esc(clip(p.name, 40))} — {counted(p.sales_count, 'sale')}, "
            f"{counted(p.quantity, 'unit')}, {money(p.revenue_minor, currency)}"
            for i, p in enumerate(stats, start=1)
        )

    parts = [
        head,
        f"Sales: <b>{summary.sales_count}</b> · Revenue: <b>{money(summary.revenue_minor, currency)}</b>",
        f"Average basket: {money(summary.average_basket_minor, currency)} · Units sold: {summary.units_sold}",
        "",
        "<b>Best sellers</b> (by number of sales)",
        product_rows(summary.best),
    ]
    if summary.worst:
        parts += ["", "<b>Slowest sellers</b>", product_rows(summary.worst)]
    parts += [
        "",
        f"Products on sale that did not sell: {summary.unsold_active_count}",
        "",
        "<b>By payment</b>",
        *(
            f"{esc(payment_label(p.method))}: {counted(p.count, 'sale')}, {money(p.revenue_minor, currency)}"
            for p in summary.by_payment
        ),
        "",
        "<b>By cashier</b>",
        *(
            f"{esc(clip(c.name or f'staff #{c.staff_id}', 40))}: {counted(c.count, 'sale')}, "
            f"{money(c.revenue_minor, currency)}"
            for c in summary.by_cashier
        ),
    ]
    if refunds:
        parts += ["", refunds]
    return lines(*parts)


def customer_label(customer: Customer) -> str:
    """A customer on a button: name and phone (plain text; buttons are not HTML)."""
    return clip(customer.name, 24) + (f" · {customer.phone}" if customer.phone else "")


def customer_line(customer: Customer, *, width: int | None = 64) -> str:
    """A customer in a message (HTML): name, clipped to `width` (None: whole), and phone."""
    name = clip(customer.name, width) if width is not None else customer.name
    return esc(name) + (f" ({esc(customer.phone)})" if customer.phone else "")


def sale_status_text(sale: Sale, tz: ZoneInfo) -> str:
    """'completed', 'partially refunded (2.85 back)', 'refunded 2026-12-01 10:00'."""
    if sale.status is SaleStatus.REFUNDED:
        return f"⚠️ refunded {local_time(sale.refunded_at, tz)}" if sale.refunded_at else "⚠️ refunded"
    if sale.status is SaleStatus.PARTLY_REFUNDED:
        return f"⚠️ partially refunded ({money(sale.refunded_minor, sale.currency)} paid back)"
    return sale.status.label


def sale_lines(sale: Sale, *, name_width: int = 40, codes: bool = False) -> list[str]:
    """Each line: name, quantity × shelf price = gross, then its discounts and what it came to."""
    currency = sale.currency
    reasons = {d.sale_line_id: d.reason for d in sale.discounts if d.sale_line_id is not None}
    out = []
    for line in sale.lines:
        code = f" (<code>{esc(line.sku)}</code>)" if codes else ""
        gross = line.unit_price_minor * line.quantity
        rate = f" · {esc(clip(line.tax_name, 16))} {format_rate(line.tax_rate_bp)}" if line.tax_name else ""
        sep = " " if codes else "\n   "  # /sale: one row a line; the receipt: the figures below the name
        out.append(
            f"{esc(clip(line.product_name, name_width))}{code}{sep}"
            f"{line.quantity} × {money(line.unit_price_minor, currency)} = {money(gross, currency)}{rate}"
        )
        if line.line_discount_minor:
            why = reasons.get(line.id, "")
            out.append(
                f"   − {money(line.line_discount_minor, currency)} discount"
                + (f" ({esc(clip(why, 40))})" if why else "")
            )
        if line.refunded_quantity:
            out.append(f"   ↩ {line.refunded_quantity} returned")
    return out


def _payments(sale: Sale, *, receipt_style: bool) -> list[str]:
    """'Payment: Cash' (one payment) or one 'Payment: Card $10.00' per part; cash with its change."""
    currency = sale.currency
    out = []
    split = len(sale.payments) > 1
    for payment in sale.payments:
        text = f"Payment: {esc(payment_label(payment.method))}"
        if split:
            text += f" {money(payment.amount_minor, currency)}"
        tendered, change = payment.tendered_minor, money(payment.change_minor or 0, currency)
        if tendered is not None and receipt_style:
            out += [text, f"Tendered: {money(tendered, currency)} · Change: <b>{change}</b>"]
            continue
        if tendered is not None:
            text += f" — tendered {money(tendered, currency)}, change {change}"
        out.append(text)
    return out


def sale_money(sale: Sale, *, tz: ZoneInfo, receipt_style: bool = False) -> list[str]:
    """Discounts, tax by rate, total, payments and refunds: every figure adds up to the cent."""
    currency = sale.currency
    out = []
    cart_discount = next((d for d in sale.discounts if d.sale_line_id is None), None)
    if cart_discount is not None and cart_discount.applied_minor:
        out.append(
            f"Cart discount: − {money(cart_discount.applied_minor, currency)} ({esc(clip(cart_discount.reason, 40))})"
        )
    if sale.discount_minor:
        out.append(f"Gross {money(sale.gross_minor, currency)} · discounts − {money(sale.discount_minor, currency)}")
    taxes = sale_taxes(sale)
    if any(name for name, *_ in taxes):
        out.append(f"Net of tax: {money(sale.total_minor - sale.tax_minor, currency)}")
        for name, rate_bp, tax, net in taxes:
            label = f"{esc(clip(name, 16))} {format_rate(rate_bp)}" if name else "No tax"
            out.append(f"   {label}: {money(tax, currency)} on {money(net, currency)}")
        out.append(
            f"Tax: {money(sale.tax_minor, currency)}" + ("" if sale.prices_include_tax else " (added to prices)")
        )
    out.append(f"<b>Total: {money(sale.total_minor, currency)}</b>")
    out += _payments(sale, receipt_style=receipt_style)
    for refund in sale.refunds:
        why = f" — {esc(clip(refund.reason, 40))}" if refund.reason else ""
        points = refund.points_minor or 0
        how = esc(payment_label(refund.method)) if refund.amount_minor > points else ""
        back = " + ".join(part for part in (how, f"{points:,} points" if points else "") if part)
        back = back or esc(payment_label(refund.method))
        out.append(
            f"↩ Refund {local_time(refund.created_at, tz)}: {money(refund.amount_minor, currency)} by {back}{why}"
        )
    return out


def sale_details(sale: Sale, *, tz: ZoneInfo) -> str:
    """One sale in full (lines, payments, discounts, refunds, cashier and customer loaded)."""
    who = customer_line(sale.customer, width=None) if sale.customer else "—"
    return lines(
        f"🧾 <b>Sale #{sale.number}</b> — {local_time(sale.created_at, tz)}",
        *sale_lines(sale, codes=True),
        *sale_money(sale, tz=tz),
        f"Cashier: {esc(sale.cashier.name or sale.cashier.telegram_id)}",
        f"Customer: {who}",
        f"Status: {esc(sale_status_text(sale, tz))}",
    )


# --- the cashier's counter: product buttons, payment methods, receipts -------------------------
def product_button_label(name: str, price: str, stock: int) -> str:
    """'Name · price · stock' within a button's width: the name gives way, never the figures."""
    tail = f" · {price} · {stock if stock > 0 else 'out'}"
    return clip(name, max(MAX_BUTTON_LABEL - len(tail), 8)) + tail


def receipt(
    sale: Sale,
    *,
    store_name: str,
    tz: ZoneInfo,
    name_width: int = 64,
    store_address: str = "",
    store_tax_id: str = "",
    footer: str = "",
    points: tuple[int, int] | None = None,
) -> str:
    """The customer's receipt for a sale (lines, payments, cashier and customer loaded); ``points``
    (earned, balance after) for a sale with a customer."""
    who = customer_line(sale.customer, width=name_width) if sale.customer else "—"
    cashier = sale.cashier.name or str(sale.cashier.telegram_id)
    return lines(
        f"🧾 <b>{esc(clip(store_name, name_width))}</b>",
        esc(clip(store_address, 200)) if store_address else None,
        f"Tax ID: {esc(clip(store_tax_id, 64))}" if store_tax_id else None,
        f"Sale <b>#{sale.number}</b> · {local_time(sale.created_at, tz)}",
        "",
        *sale_lines(sale, name_width=name_width),
        "",
        *sale_money(sale, tz=tz, receipt_style=True),
        f"Customer: {who}",
        f"Cashier: {esc(clip(cashier, name_width))}",
        points_receipt_line(*points, sale.currency) if points is not None else None,
        esc(sale_status_text(sale, tz)) if sale.status is not SaleStatus.COMPLETED else None,
        f"\n<i>{esc(clip(footer, 200))}</i>" if footer else None,
    )


def chat_receipt(sale: Sale, context: PosContext, points: tuple[int, int] | None = None) -> str:
    """The receipt as a chat message (HTML); ``points``: (earned, balance now), for a sale with a
    customer (db.loyalty.receipt_points)."""
    settings = context.settings
    return receipt(
        sale,
        store_name=settings.store_name,
        tz=context.tz,
        store_address=settings.store_address,
        store_tax_id=settings.store_tax_id,
        footer=settings.receipt_footer,
        points=points,
    )


def shift_report_text(report: ShiftReport, *, tz: ZoneInfo) -> str:
    """A shift's X (open) or Z (closed) report: the drawer, the count, the shift's sales."""
    title, *rest = report_lines(report, tz=tz)
    icon = "🧾" if report.closed else "📊"
    return lines(f"{icon} <b>{esc(title)}</b>", *(esc(line) for line in rest))


# --- loyalty points ----------------------------------------------------------------------------
POINTS_KINDS = {
    PointsKind.EARN: "earned",
    PointsKind.REDEEM: "spent",
    PointsKind.REFUND: "return",
    PointsKind.ADJUST: "adjusted",
}


def points_text(points: int, currency: str) -> str:
    """'1,250 points (worth $12.50)': one point is one minor unit."""
    return f"{counted(points, 'point')} (worth {money(points, currency)})"


def points_receipt_line(earned: int, balance: int, currency: str) -> str:
    """The receipt's points: what this sale earned and the balance after it."""
    return f"⭐ Points earned: {earned:,} · balance: {points_text(balance, currency)}"


def points_history(entries: Sequence[PointsEntry], *, tz: ZoneInfo) -> list[str]:
    """One line per entry, newest first: when, ±points, what for."""
    out = []
    for entry in entries:
        what = POINTS_KINDS.get(entry.kind, str(entry.kind))
        why = f" — {esc(clip(entry.reason, 48))}" if entry.reason else ""
        out.append(f"{local_time(entry.created_at, tz)} · <b>{entry.points:+,}</b> {what}{why}")
    return out
