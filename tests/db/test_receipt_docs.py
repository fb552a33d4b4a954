"""Receipt documents: a recorded sale (and its refund) as a PDF read back, and as text in columns."""

from __future__ import annotations

import io
import unicodedata
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from db import checkout, customers, pricing, receipts, refunds, taxes
from db.receipt_pdf import receipt_pdf
from db.receipts import Receipt, ReceiptLine, ReceiptPayment, ReceiptTax, Store, text_lines
from tests.factories import CURRENCY, THRESHOLD, fill_cart, make_product, make_staff, run

BERLIN = ZoneInfo("Europe/Berlin")
STORE = Store("Corner Shop", "1 Main Street, Springfield", "DE123456789", "Thank you! Returns within 14 days.")
NASTY = [
    "Молоко цельное",
    "Crème brûlée",
    "حليب طازج",
    "Apple 🍎🍏 with 😀 emoji",
    "中文 テスト 한국어",
    "zero\u200bwidth\u0000nul\ttab\nnewline",
    "e\u0301 combining",
    "W" * 130,
]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_width_mm(content: bytes) -> float:
    return float(PdfReader(io.BytesIO(content)).pages[0].mediabox.width) * 25.4 / 72


async def _sale(session_factory, *, names=("Молоко цельное", "Crème brûlée")):
    cashier = await run(session_factory, make_staff, name="Cal Cashier")
    items = [
        await run(session_factory, make_product, name=name, price_minor=150 + 100 * i) for i, name in enumerate(names)
    ]
    async with session_factory() as session, session.begin():
        await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)
        await taxes.set_default(session, name="VAT", actor=None)
        ann = await customers.register_customer(session, name="Ann Example", phone=None, email="ann@example.com")
    view = await run(session_factory, fill_cart, chat_id=77, items=[(p, 2) for p in items])
    result = await run(
        session_factory,
        checkout.checkout,
        chat_id=77,
        expected_version=view.version,
        cashier=cashier,
        payments=[
            pricing.PaymentIn(method="cash", amount_minor=view.total_minor, tendered_minor=max(2000, view.total_minor))
        ],
        currency=CURRENCY,
        default_low_stock_threshold=THRESHOLD,
        customer_id=ann.id,
    )
    return result.sale, cashier


async def test_a_sale_as_pdf_read_back(session_factory):
    sale, _ = await _sale(session_factory)
    receipt = receipts.from_sale(sale, store=STORE, tz=BERLIN, link="https://t.me/posbot?start=x", points_earned=4)
    content = receipt_pdf(receipt)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        "Corner Shop",
        "1 Main Street, Springfield",
        "Tax ID: DE123456789",
        f"Sale #{sale.number}",
        sale.created_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M"),
        "Cashier: Cal Cashier",
        "Customer: Ann Example",
        "Молоко цельное",
        "Crème brûlée",
        "2 × $1.50",
        "VAT 16% on",
        "Tax included",
        "TOTAL $8.00",
        "Cash $8.00",
        "Tendered $20.00",
        "Change $12.00",
        "Points earned 4",
        "Thank you! Returns within 14 days.",
        "Scan to keep this receipt",
    ):
        assert expected in text, (expected, text)
    assert abs(pdf_width_mm(content) - 80) < 0.1
    assert receipt.filename == f"receipt-{sale.number}.pdf" and receipt.customer_email == "ann@example.com"


async def test_58_mm_is_narrower_and_any_name_draws(session_factory):
    sale, _ = await _sale(session_factory, names=[n for n in NASTY if n.isprintable() and len(n) <= 128])
    receipt = receipts.from_sale(sale, store=STORE, tz=BERLIN)
    wide, narrow = receipt_pdf(receipt, width_mm=80), receipt_pdf(receipt, width_mm=58)
    assert abs(pdf_width_mm(narrow) - 58) < 0.1 and pdf_width_mm(narrow) < pdf_width_mm(wide)
    text = pdf_text(narrow)
    assert "Молоко цельное" in text and "Crème brûlée" in text and "Apple" in text
    assert "□" in text  # the emoji DejaVu Sans lacks: a box, not a crash nor a gap
    assert "QR" not in text and "Scan to keep" not in text  # no link given, no QR code


async def test_a_refund_has_its_own_receipt(session_factory):
    sale, cashier = await _sale(session_factory)
    line = sale.lines[1]
    async with session_factory() as session, session.begin():
        refund = await refunds.refund(
            session,
            sale_id=sale.id,
            lines={line.id: refunds.ReturnLine(1)},
            method="card",
            reason="cracked",
            actor=cashier,
        )
    after = await run(session_factory, checkout.get_sale, sale_id=sale.id)
    async with session_factory() as session:
        staff = await receipts.refund_staff_name(session, refund)
    receipt = receipts.from_refund(after, receipts.find_refund(after, refund.id), staff=staff, store=STORE, tz=BERLIN)
    text = pdf_text(receipt_pdf(receipt))
    assert f"Refund of sale #{sale.number}" in text and "Refund by: Cal Cashier" in text
    assert "Crème brûlée" in text and "Молоко" not in text
    assert "PAID BACK $2.50" in text and "Card $2.50" in text and "Reason: cracked" in text
    assert receipt.filename == f"refund-{sale.number}-{refund.id}.pdf"
    # The sale's own receipt now tells of the refund and of the returned unit.
    sale_text = "\n".join(text_lines(receipts.from_sale(after, store=STORE, tz=BERLIN), 48))
    assert "1 returned" in sale_text and "Refund " in sale_text and "$2.50 by Card (cracked)" in sale_text


# --- text in columns: never wider than the roll, whatever the data -------------------------------
def _receipt(name: str, store: str, figures: int, reason: str) -> Receipt:
    return Receipt(
        title="Sale #123456789012",
        number=123456789012,
        filename="receipt-123456789012.pdf",
        store=Store(store or "S", store, store, store),
        when="2026-12-07 19:05",
        staff=name,
        currency="EUR",
        lines=(ReceiptLine(name, figures, figures, figures, figures, reason, "VAT 16%", 1),),
        total_minor=figures,
        taxes=(ReceiptTax(f"{reason} 16%", figures, figures),),
        tax_minor=figures,
        cart_discounts=((reason, figures),),
        gross_minor=figures,
        discount_minor=figures,
        payments=(ReceiptPayment(reason or "Cash", figures, figures, figures),),
        customer=name,
        notes=(reason,),
        points_earned=figures,
        points_balance=figures,
    )


@pytest.mark.parametrize("columns", [32, 48])
@pytest.mark.parametrize("name", NASTY)
def test_text_lines_fit_the_roll(columns, name):
    lines = text_lines(_receipt(name, name, 10**15, name), columns)
    assert max(len(line) for line in lines) <= columns
    assert all(unicodedata.category(ch) not in ("Cc", "Zl", "Zp") for line in lines for ch in line)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=200),
    store=st.text(max_size=200),
    figures=st.integers(min_value=0, max_value=10**17),
    reason=st.text(max_size=128),
    columns=st.sampled_from([32, 48]),
)
def test_text_lines_never_exceed_the_columns(name, store, figures, reason, columns):
    lines = text_lines(_receipt(name, store, figures, reason), columns)
    assert lines and max(len(line) for line in lines) <= columns


def test_text_receipt_in_48_and_32_columns():
    receipt = _receipt("Crème brûlée", "Corner Shop", 150, "staff")
    wide, narrow = text_lines(receipt, 48), text_lines(receipt, 32)
    assert wide[0].strip() == "Corner Shop" and "Crème brûlée" in wide
    assert any(line.startswith("TOTAL") and line.endswith("€1.50") and len(line) == 48 for line in wide)
    assert any(line.startswith("TOTAL") and line.endswith("€1.50") and len(line) == 32 for line in narrow)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(st.characters(exclude_categories=()), min_size=1, max_size=128),  # surrogates too
    store=st.text(st.characters(exclude_categories=()), max_size=64),
    width=st.sampled_from([80, 58]),
)
def test_any_text_makes_a_pdf(name, store, width):
    """Whatever a name holds (unpaired surrogates, controls, emoji, any script): a PDF, never a crash."""
    content = receipt_pdf(_receipt(name, store, 150, name), width_mm=width)
    assert content.startswith(b"%PDF") and len(PdfReader(io.BytesIO(content)).pages) == 1
