"""A receipt as plain data, and as plain text in the printer's columns.

`from_sale` and `from_refund` turn a recorded sale (or one of its refunds) into a `Receipt`: every
figure already decided, every label already worded, nothing of Telegram or HTTP. The chat, the
REST API, the PDF (`db.receipt_pdf`), the printer and the e-mail (`db.receipt_delivery`) all start
from it. Points and the customer link are optional inputs: the receipt shows them when given.
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import NotFound
from db.models import Refund, Sale, SaleStatus, Staff
from db.money import format_money
from db.taxes import format_rate, sale_taxes, tax_breakdown
from db.text import payment_label

if TYPE_CHECKING:
    from db.settings import Settings


@dataclass(frozen=True)
class Store:
    """What the receipt says about the shop (from the settings)."""

    name: str
    address: str = ""
    tax_id: str = ""
    footer: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(settings.store_name, settings.store_address, settings.store_tax_id, settings.receipt_footer)


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    quantity: int
    unit_price_minor: int
    amount_minor: int  # quantity × unit price (a sale) or what was paid back (a refund)
    discount_minor: int = 0
    discount_reason: str = ""
    tax_label: str = ""  # "VAT 16%"
    returned: int = 0  # units of a sale line returned since


@dataclass(frozen=True)
class ReceiptTax:
    label: str  # "VAT 16%", or "No tax"
    tax_minor: int
    net_minor: int


@dataclass(frozen=True)
class ReceiptPayment:
    method: str  # "Cash"
    amount_minor: int
    tendered_minor: int | None = None
    change_minor: int | None = None


@dataclass(frozen=True)
class Receipt:
    """Everything one receipt shows, in the order it shows it."""

    title: str  # "Sale #12", "Refund of sale #12"
    number: int  # the sale's receipt number
    filename: str  # "receipt-12.pdf"
    store: Store
    when: str  # local date and time in the store's zone
    staff: str  # the cashier (or who made the refund)
    currency: str
    lines: tuple[ReceiptLine, ...]
    total_minor: int
    taxes: tuple[ReceiptTax, ...] = ()
    tax_minor: int = 0
    tax_added: bool = False  # prices exclude tax: the tax is added on top
    cart_discounts: tuple[tuple[str, int], ...] = ()  # (reason, amount)
    gross_minor: int = 0
    discount_minor: int = 0
    payments: tuple[ReceiptPayment, ...] = ()
    total_label: str = "Total"
    customer: str | None = None
    customer_email: str | None = None
    notes: tuple[str, ...] = ()  # refunds since, status
    points_earned: int | None = None
    points_balance: int | None = None
    link: str | None = None  # shown as a QR code on the PDF
    link_caption: str = "Scan to keep this receipt in Telegram"
    is_refund: bool = False

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


def _tax_label(name: str, rate_bp: int) -> str:
    return f"{name} {format_rate(rate_bp)}" if name else "No tax"


def _customer(sale: Sale) -> str | None:
    if sale.customer is None:
        return None
    return sale.customer.name + (f" ({sale.customer.phone})" if sale.customer.phone else "")


def from_sale(
    sale: Sale,
    *,
    store: Store,
    tz: ZoneInfo,
    link: str | None = None,
    points_earned: int | None = None,
    points_balance: int | None = None,
) -> Receipt:
    """The receipt of a sale (lines, payments, discounts, refunds, cashier and customer loaded)."""
    currency = sale.currency
    reasons = {d.sale_line_id: d.reason for d in sale.discounts if d.sale_line_id is not None}
    lines = tuple(
        ReceiptLine(
            name=line.product_name,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            amount_minor=line.unit_price_minor * line.quantity,
            discount_minor=line.line_discount_minor,
            discount_reason=reasons.get(line.id, ""),
            tax_label=_tax_label(line.tax_name, line.tax_rate_bp) if line.tax_name else "",
            returned=line.refunded_quantity,
        )
        for line in sale.lines
    )
    taxes = sale_taxes(sale)
    notes = [
        f"Refund {_local(refund.created_at, tz)}: {format_money(refund.amount_minor, currency)} "
        f"by {payment_label(refund.method)}" + (f" ({refund.reason})" if refund.reason else "")
        for refund in sale.refunds
    ]
    if sale.status is SaleStatus.REFUNDED:
        notes.append("This sale was refunded.")
    return Receipt(
        title=f"Sale #{sale.number}",
        number=sale.number,
        filename=f"receipt-{sale.number}.pdf",
        store=store,
        when=_local(sale.created_at, tz),
        staff=sale.cashier.name or str(sale.cashier.telegram_id),
        currency=currency,
        lines=lines,
        total_minor=sale.total_minor,
        taxes=tuple(ReceiptTax(_tax_label(n, bp), tax, net) for n, bp, tax, net in taxes)
        if any(n for n, *_ in taxes)
        else (),
        tax_minor=sale.tax_minor,
        tax_added=not sale.prices_include_tax,
        cart_discounts=tuple(
            (d.reason, d.applied_minor) for d in sale.discounts if d.sale_line_id is None and d.applied_minor
        ),
        gross_minor=sale.gross_minor,
        discount_minor=sale.discount_minor,
        payments=tuple(
            ReceiptPayment(payment_label(p.method), p.amount_minor, p.tendered_minor, p.change_minor)
            for p in sale.payments
        ),
        customer=_customer(sale),
        customer_email=sale.customer.email if sale.customer is not None else None,
        notes=tuple(notes),
        points_earned=points_earned,
        points_balance=points_balance,
        link=link,
    )


def from_refund(sale: Sale, refund: Refund, *, staff: str, store: Store, tz: ZoneInfo) -> Receipt:
    """The receipt of one refund of a sale: the units returned, what each paid back, how."""
    by_id = {line.id: line for line in sale.lines}
    lines = []
    taxed = []
    for refund_line in refund.lines:
        line = by_id[refund_line.sale_line_id]
        lines.append(
            ReceiptLine(
                name=line.product_name,
                quantity=refund_line.quantity,
                unit_price_minor=line.unit_price_minor,
                amount_minor=refund_line.amount_minor,
                tax_label=_tax_label(line.tax_name, line.tax_rate_bp) if line.tax_name else "",
            )
        )
        taxed.append((line.tax_name, line.tax_rate_bp, refund_line.tax_minor, refund_line.amount_minor))
    taxes = tax_breakdown(taxed)
    return Receipt(
        title=f"Refund of sale #{sale.number}",
        number=sale.number,
        filename=f"refund-{sale.number}-{refund.id}.pdf",
        store=store,
        when=_local(refund.created_at, tz),
        staff=staff,
        currency=sale.currency,
        lines=tuple(lines),
        total_minor=refund.amount_minor,
        total_label="Paid back",
        taxes=tuple(ReceiptTax(_tax_label(n, bp), tax, net) for n, bp, tax, net in taxes)
        if any(n for n, *_ in taxes)
        else (),
        tax_minor=refund.tax_minor,
        payments=(ReceiptPayment(payment_label(refund.method), refund.amount_minor),),
        customer=_customer(sale),
        customer_email=sale.customer.email if sale.customer is not None else None,
        notes=(f"Reason: {refund.reason}",) if refund.reason else (),
        is_refund=True,
    )


async def refund_staff_name(session: AsyncSession, refund: Refund) -> str:
    """Who made the refund, as the receipt names them."""
    staff = await session.get(Staff, refund.staff_id) if refund.staff_id is not None else None
    return (staff.name or str(staff.telegram_id)) if staff is not None else "—"


def find_refund(sale: Sale, refund_id: int) -> Refund:
    """One refund of a sale (its refunds loaded)."""
    for refund in sale.refunds:
        if refund.id == refund_id:
            return refund
    raise NotFound("No such refund.")


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --- plain text in columns ----------------------------------------------------------------------
def _clean(text: str) -> str:
    """One line of printable text: composed, no control or line-breaking characters."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(_clean(text), width, break_long_words=True, break_on_hyphens=False) or [""]


def _center(text: str, width: int) -> list[str]:
    return [part.center(width).rstrip() for part in _wrap(text, width)]


def _pair(left: str, right: str, width: int, indent: int = 0) -> list[str]:
    """`left ....... right` in `width` columns; a long left wraps, the figure on its last line."""
    right = _clean(right)[:width]
    pad = " " * indent
    parts = _wrap(left, width - indent)
    out = [pad + p for p in parts[:-1]]
    last = pad + parts[-1]
    if len(last) + 1 + len(right) <= width:
        out.append(last + " " * (width - len(last) - len(right)) + right)
    else:
        out += [last, right.rjust(width)]
    return out


def text_lines(receipt: Receipt, columns: int) -> list[str]:
    """The receipt as lines of at most `columns` characters (32 or 48), whatever the data."""
    width = max(columns, 16)
    money = receipt.money
    rule = "-" * width
    out: list[str] = []
    out += _center(receipt.store.name, width)
    if receipt.store.address:
        out += _center(receipt.store.address, width)
    if receipt.store.tax_id:
        out += _center(f"Tax ID: {receipt.store.tax_id}", width)
    out.append(rule)
    out += _pair(receipt.title, receipt.when, width)
    out += _wrap(f"{'Refund by' if receipt.is_refund else 'Cashier'}: {receipt.staff}", width)
    if receipt.customer:
        out += _wrap(f"Customer: {receipt.customer}", width)
    out.append(rule)
    for line in receipt.lines:
        out += _wrap(line.name, width)
        figures = f"{line.quantity} x {money(line.unit_price_minor)}"
        if line.tax_label:
            figures += f" {line.tax_label}"
        out += _pair(figures, money(line.amount_minor), width, indent=2)
        if line.discount_minor:
            why = f"Discount ({line.discount_reason})" if line.discount_reason else "Discount"
            out += _pair(why, "-" + money(line.discount_minor), width, indent=2)
        if line.returned:
            out += _wrap(f"  {line.returned} returned", width)
    out.append(rule)
    if receipt.discount_minor:
        out += _pair("Gross", money(receipt.gross_minor), width)
    for reason, amount in receipt.cart_discounts:
        out += _pair(f"Cart discount ({reason})" if reason else "Cart discount", "-" + money(amount), width)
    if receipt.taxes:
        for tax in receipt.taxes:
            out += _pair(f"{tax.label} on {money(tax.net_minor)}", money(tax.tax_minor), width)
        out += _pair("Tax added" if receipt.tax_added else "Tax included", money(receipt.tax_minor), width)
    out += _pair(receipt.total_label.upper(), money(receipt.total_minor), width)
    for payment in receipt.payments:
        out += _pair(payment.method, money(payment.amount_minor), width)
        if payment.tendered_minor is not None:
            out += _pair("Tendered", money(payment.tendered_minor), width, indent=2)
            out += _pair("Change", money(payment.change_minor or 0), width, indent=2)
    if receipt.points_earned is not None:
        out += _pair("Points earned", str(receipt.points_earned), width)
    if receipt.points_balance is not None:
        out += _pair("Points balance", str(receipt.points_balance), width)
    for note in receipt.notes:
        out += _wrap(note, width)
    if receipt.store.footer:
        out.append(rule)
        out += _center(receipt.store.footer, width)
    return out
