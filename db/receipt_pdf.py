"""A receipt as a PDF on a till roll: 80 mm wide (58 mm with RECEIPT_WIDTH=58), as long as it needs.

fpdf2 and segno are imported here, when a PDF is made, never at start-up (tests/test_startup.py).
The font is DejaVu Sans, which ships inside matplotlib (mpl-data/fonts/ttf): Latin with accents,
Greek, Cyrillic, Arabic, Hebrew, many symbols; nothing is downloaded. A character it has no glyph
for (most emoji, CJK) prints as □ rather than failing or vanishing. Arabic is drawn right to left
by fpdf2's bidi, its letters unjoined (joining needs HarfBuzz, which we do not ship).

The page is drawn twice: once on a very long page to learn how long the receipt is, then on a
page of exactly that length. Call it in a thread (`asyncio.to_thread`): it takes ~0.1 s.
"""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from db.receipts import Receipt

if TYPE_CHECKING:
    from fpdf import FPDF

MISSING = "□"  # U+25A1: DejaVu Sans has it
_INVISIBLE = {"Cc", "Cf", "Mn", "Me", "Zl", "Zp", "Cs", "Co", "Cn"}  # nothing to draw on their own
_FAMILY = "receipt"
_LAYOUT = {  # roll width (mm) -> margin (mm), font size (pt), QR code side (mm)
    80: (4.0, 8.5, 30.0),
    58: (3.0, 7.0, 26.0),
}


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, Path] | None:
    """DejaVu Sans (book and bold) from matplotlib's data, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "mpl-data" / "fonts" / "ttf"
        book, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if book.is_file() and bold.is_file():
            return book, bold
    return None


def receipt_pdf(receipt: Receipt, *, width_mm: int = 80) -> bytes:
    """The PDF of a receipt, `width_mm` (80 or 58) wide."""
    layout = _LAYOUT.get(width_mm, _LAYOUT[80])
    length = _draw(receipt, width_mm, 3000.0, layout).get_y()
    pdf = _draw(receipt, width_mm, length + layout[0], layout)
    return bytes(pdf.output())


def _fitter(pdf: FPDF) -> Callable[[str], str]:
    """A function that makes any text drawable in the current fonts: composed, unprintable
    characters dropped, characters without a glyph shown as □."""
    fonts = [f for f in pdf.fonts.values() if hasattr(f, "cmap")]
    if not fonts:  # the core Helvetica fallback: Latin-1 only
        return lambda text: _fit(text, lambda ch: ch.encode("latin-1", "ignore") != b"", "?")
    shared = set.intersection(*(set(f.cmap) for f in fonts))
    return lambda text: _fit(text, lambda ch: ord(ch) in shared, MISSING)


def _fit(text: str, has: Callable[[str], bool], missing: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if ch in "\n\t":
            out.append(" ")
        elif has(ch):
            out.append(ch)
        elif unicodedata.category(ch) not in _INVISIBLE:
            out.append(missing)
    return "".join(out)


def _draw(receipt: Receipt, width_mm: int, length_mm: float, layout: tuple[float, float, float]) -> FPDF:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    margin, size, qr_side = layout
    pdf = FPDF(unit="mm", format=(width_mm, length_mm))
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(False)
    pdf.set_creator("POS Bot")
    files = font_files()
    if files is not None:
        pdf.add_font(_FAMILY, "", files[0])
        pdf.add_font(_FAMILY, "B", files[1])
        family = _FAMILY
    else:
        family = "helvetica"
    fit = _fitter(pdf)
    pdf.set_title(fit(f"{receipt.store.name} — {receipt.title}"))
    pdf.add_page()
    width = pdf.epw
    height = size * 0.3528 * 1.4  # points to millimetres, with some leading
    money = receipt.money

    def text(value: str, *, bold: bool = False, grow: float = 0, align: str = "L") -> None:
        pdf.set_font(family, "B" if bold else "", size + grow)
        pdf.multi_cell(width, height + grow * 0.4, fit(value), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pair(left: str, right: str, *, bold: bool = False, grow: float = 0, indent: float = 0) -> None:
        """`left ..... right`: the figure on the first line, a long left wrapping below it."""
        pdf.set_font(family, "B" if bold else "", size + grow)
        right = fit(right)
        right_w = min(pdf.get_string_width(right) + 1.5, width / 2)
        top = pdf.get_y()
        line_h = height + grow * 0.4
        pdf.set_xy(pdf.l_margin + indent, top)
        pdf.multi_cell(width - right_w - indent, line_h, fit(left), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        below = max(pdf.get_y(), top + line_h)
        pdf.set_xy(pdf.l_margin, top)
        pdf.cell(width, line_h, right, align="R")
        pdf.set_xy(pdf.l_margin, below)

    def rule() -> None:
        y = pdf.get_y() + height * 0.35
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=0.8, gap=0.6)
        pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
        pdf.set_y(y + height * 0.35)

    text(receipt.store.name, bold=True, grow=3, align="C")
    if receipt.store.address:
        text(receipt.store.address, align="C")
    if receipt.store.tax_id:
        text(f"Tax ID: {receipt.store.tax_id}", align="C")
    rule()
    pair(receipt.title, receipt.when, bold=True)
    text(f"{'Refund by' if receipt.is_refund else 'Cashier'}: {receipt.staff}")
    if receipt.customer:
        text(f"Customer: {receipt.customer}")
    rule()
    for line in receipt.lines:
        text(line.name)
        figures = f"{line.quantity} × {money(line.unit_price_minor)}"
        if line.tax_label:
            figures += f"  {line.tax_label}"
        pair(figures, money(line.amount_minor), indent=2)
        if line.discount_minor:
            why = f"Discount ({line.discount_reason})" if line.discount_reason else "Discount"
            pair(why, "−" + money(line.discount_minor), indent=2)
        if line.returned:
            pair(f"{line.returned} returned", "", indent=2)
    rule()
    if receipt.discount_minor:
        pair("Gross", money(receipt.gross_minor))
    for reason, amount in receipt.cart_discounts:
        pair(f"Cart discount ({reason})" if reason else "Cart discount", "−" + money(amount))
    if receipt.taxes:
        for tax in receipt.taxes:
            pair(f"{tax.label} on {money(tax.net_minor)}", money(tax.tax_minor))
        pair("Tax added" if receipt.tax_added else "Tax included", money(receipt.tax_minor))
    pair(receipt.total_label.upper(), money(receipt.total_minor), bold=True, grow=2)
    for payment in receipt.payments:
        pair(payment.method, money(payment.amount_minor))
        if payment.tendered_minor is not None:
            pair("Tendered", money(payment.tendered_minor), indent=2)
            pair("Change", money(payment.change_minor or 0), indent=2)
    if receipt.points_earned is not None:
        pair("Points earned", str(receipt.points_earned))
    if receipt.points_balance is not None:
        pair("Points balance", str(receipt.points_balance))
    for note in receipt.notes:
        text(note)
    if receipt.store.footer:
        rule()
        text(receipt.store.footer, align="C")
    if receipt.link:
        pdf.set_y(pdf.get_y() + height * 0.5)
        pdf.image(_qr_png(receipt.link), x=pdf.l_margin + (width - qr_side) / 2, w=qr_side, h=qr_side)
        pdf.set_font(family, "", size - 1)
        pdf.multi_cell(width, height, fit(receipt.link_caption), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf


def qr_png(link: str) -> bytes:
    """A QR code of ``link`` as a PNG: what the customer scans from the cashier's screen."""
    return _qr_png(link).getvalue()


def _qr_png(link: str) -> io.BytesIO:
    import segno

    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="png", scale=8, border=2)
    out.seek(0)
    return out
