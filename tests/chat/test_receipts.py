"""Receipts from the chat: /receipt, and the PDF, print and e-mail buttons under every receipt.

The printer is a local TCP listener that keeps the bytes it receives; the mail server is aiosmtpd
on a local port; the PDF is read back with pypdf. Both backends (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import io
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from pypdf import PdfReader

from bot.testing.chat import FakeShop
from db.models import PaymentMethod, Sale
from db.settings import Settings
from handlers.receipts import NO_MAIL, NO_PRINTER
from handlers.reply import STALE_BUTTON
from tests import factories
from tests.chat.conftest import ADMIN_ID, CASHIER2_ID, CASHIER_ID
from tests.chat.counter_helpers import count, customer, fill, product, sales
from tests.chat.test_checkout import checkout_to_confirm

FOOTER = "Thank you! Returns within 14 days."


@dataclass
class Printer:
    """A receipt printer on 127.0.0.1: keeps every byte sent to it."""

    port: int = 0
    received: bytearray = field(default_factory=bytearray)
    jobs: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            self.received.extend(data)
        writer.close()
        self.jobs += 1
        self.done.set()


@dataclass
class Mailbox:
    """A mail server on 127.0.0.1 (aiosmtpd): keeps every message it takes."""

    port: int = 0
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
async def printer():
    device = Printer()
    server = await asyncio.start_server(device.handle, "127.0.0.1", 0)
    device.port = server.sockets[0].getsockname()[1]
    yield device
    server.close()
    await server.wait_closed()


@pytest.fixture
async def mailbox():
    box = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTPServer(box, hostname="localhost"), "127.0.0.1", 0)
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()


def dead_port() -> int:
    """A local port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def plain_settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Corner Shop",
        store_address="1 Main Street, Springfield",
        store_tax_id="DE123456789",
        receipt_footer=FOOTER,
        currency="USD",
        store_timezone="Europe/Berlin",
        admin_ids=[ADMIN_ID],
        low_stock_threshold=3,
        daily_report_time="21:00",
    )


@pytest.fixture
def settings(plain_settings, printer, mailbox) -> Settings:
    """The shop of these tests: a printer and a mail server set up (the chat conftest's shop uses it)."""
    return plain_settings.model_copy(
        update={
            "receipt_printer": f"tcp://127.0.0.1:{printer.port}",
            "smtp_url": Settings(
                _env_file=None, smtp_url=f"smtp://127.0.0.1:{mailbox.port}", smtp_from="a@b.co"
            ).smtp_url,
            "smtp_from": "Corner Shop <receipts@example.com>",
        }
    )


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def a_sale(session_factory, *, cashier_id=CASHIER_ID, email: str | None = "ann@example.com") -> Sale:
    """Milk (Cyrillic) and a crème brûlée, sold in cash to Ann, by the given cashier, taxed at VAT 16%."""
    from db import staff as staff_db
    from db import taxes

    milk = await product(session_factory, name="Молоко", price_minor=150, stock=10)
    creme = await product(session_factory, name="Crème brûlée", price_minor=420, stock=10)
    ann = await customer(session_factory, name="Ann Example", email=email)
    async with session_factory() as session, session.begin():
        if not await taxes.list_rates(session):
            await taxes.add_rate(session, name="VAT", rate_bp=1600, actor=None)
            await taxes.set_default(session, name="VAT", actor=None)
        cashier = await staff_db.get_active_staff(session, telegram_id=cashier_id)
    chat_id = 600_000 + factories.next_id()
    await fill(session_factory, chat_id, (milk, 2), (creme, 1))
    result = await factories.do_checkout(
        session_factory,
        chat_id=chat_id,
        cashier=cashier,
        method=PaymentMethod.CASH,
        tendered_minor=1000,
        customer_id=ann.id,
    )
    return result.sale


# --- the PDF ------------------------------------------------------------------------------------
async def test_checkout_ends_with_a_receipt_whose_pdf_reads_back(cashier, session_factory):
    milk = await product(session_factory, name="Молоко цельное", price_minor=150, stock=10)
    creme = await product(session_factory, name="Crème brûlée", price_minor=420, stock=10)
    await fill(session_factory, CASHIER_ID, (milk, 2), (creme, 1))
    await checkout_to_confirm(cashier, tendered="10")
    await cashier.tap("✅ Confirm sale")
    (sale,) = await sales(session_factory)
    assert f"Sale #{sale.number}" in cashier.text and FOOTER in cashier.text
    assert cashier.buttons == ["📄 PDF", "🖨 Print", "📲 Send to customer"]  # no customer, so no e-mail

    await cashier.tap("📄 PDF")
    (document,) = cashier.documents
    assert document.filename == f"receipt-{sale.number}.pdf" and document.text == f"Receipt #{sale.number}"
    text = pdf_text(document.file)
    for expected in (
        "Corner Shop",
        "1 Main Street, Springfield",
        "Tax ID: DE123456789",
        f"Sale #{sale.number}",
        "Cashier: Cal Cashier",
        "Молоко цельное",
        "Crème brûlée",
        "2 × $1.50",
        "TOTAL $7.20",
        "Cash $7.20",
        "Tendered $10.00",
        "Change $2.80",
        FOOTER,
    ):
        assert expected in text, (expected, text)
    assert await count(session_factory, Sale) == 1  # the PDF changed nothing


async def test_receipt_command_own_sales_for_cashiers_any_for_managers(
    cashier, manager, shop, session_factory, mailbox
):
    sale = await a_sale(session_factory)
    await cashier.send(f"/receipt {sale.number}")
    assert f"Sale #{sale.number}" in cashier.text and "Ann Example" in cashier.text and "VAT 16%" in cashier.text
    assert cashier.buttons == ["📄 PDF", "🖨 Print", "✉️ E-mail", "📲 Send to customer"]
    await cashier.tap("📄 PDF")
    text = pdf_text(cashier.documents[-1].file)
    assert "Молоко" in text and "Crème brûlée" in text and "VAT 16% on" in text and "Customer: Ann Example" in text

    other = shop.client(CASHIER2_ID, "Cleo")
    await other.send(f"/receipt {sale.number}")
    assert other.text == f"Sale #{sale.number} was rung up by someone else: a manager can show it."
    answer = await other.press(f"rc:pdf:{sale.id}", message=cashier.last_reply)
    assert answer["show_alert"] and "rung up by someone else" in answer["text"]
    assert other.documents == []

    await manager.send(f"/receipt #{sale.number}")
    assert f"Sale #{sale.number}" in manager.text
    await manager.tap("📄 PDF")
    assert manager.documents[-1].filename == f"receipt-{sale.number}.pdf"

    await manager.send("/receipt 999999")
    assert manager.text == "No sale #999999."
    await manager.send("/receipt")
    assert manager.text == "Usage: /receipt <number>, e.g. /receipt 42"
    await manager.send("/receipt twelve")
    assert manager.text == "Usage: /receipt <number>, e.g. /receipt 42"


async def test_stale_and_forged_receipt_buttons(manager, session_factory):
    sale = await a_sale(session_factory)
    await manager.send(f"/receipt {sale.number}")
    screen = manager.last_reply
    for data, says in [
        ("rc:pdf:999999", "No sale #999999."),
        ("rc:prn:999999", "No sale #999999."),
        ("rc:mail:999999", "No sale #999999."),
        (f"rc:rpdf:{sale.id}:999999", f"No such refund of sale #{sale.number}."),
        ("rc:pdf:abc", STALE_BUTTON),
        ("rc:pdf", STALE_BUTTON),
        (f"rc:pdf:{sale.id}:1", STALE_BUTTON),
        (f"rc:pdf:{2**40}", STALE_BUTTON),
    ]:
        answer = await manager.press(data, message=screen)
        assert (answer["text"], answer["show_alert"]) == (says, True), data
    assert manager.documents == []


async def test_a_refund_has_its_own_pdf(manager, session_factory):
    from db import refunds

    sale = await a_sale(session_factory)
    async with session_factory() as session, session.begin():
        await refunds.refund(
            session,
            sale_id=sale.id,
            lines={sale.lines[1].id: refunds.ReturnLine(1)},
            method="cash",
            reason="cracked",
            actor=None,
        )
    await manager.send(f"/receipt {sale.number}")
    assert "Refund" in manager.text and "partially refunded" in manager.text
    (label,) = [b for b in manager.buttons if b.startswith("📄 Refund")]
    await manager.tap(label)
    document = manager.documents[-1]
    assert document.filename.startswith(f"refund-{sale.number}-") and document.filename.endswith(".pdf")
    text = pdf_text(document.file)
    assert f"Refund of sale #{sale.number}" in text and "Crème brûlée" in text and "Молоко" not in text
    assert "PAID BACK $4.20" in text and "Cash $4.20" in text and "Reason: cracked" in text


# --- printing -----------------------------------------------------------------------------------
async def test_print_sends_the_text_receipt_to_the_printer(cashier, session_factory, printer):
    sale = await a_sale(session_factory)
    await cashier.send(f"/receipt {sale.number}")
    answer = await cashier.tap("🖨 Print")
    assert answer["text"] == "Printing…"
    await asyncio.wait_for(printer.done.wait(), 10)
    assert cashier.text == f"🖨 Receipt #{sale.number} printed."
    data = bytes(printer.received)
    assert data.startswith(b"\x1b@")  # ESC @: initialise
    assert b"Corner Shop" in data and f"Sale #{sale.number}".encode() in data and b"TOTAL" in data
    assert b"Tax ID: DE123456789" in data and b"Ann Example" in data
    assert b"\x1dV" in data  # GS V: cut
    # 48 columns on an 80 mm roll: no printed line is longer.
    text_part = data.replace(b"\x1b@", b"").split(b"\x1dV")[0]
    assert max(len(line) for line in text_part.split(b"\n") if b"\x1b" not in line) <= 48


async def test_a_printer_that_is_off_gets_a_clear_line_and_the_sale_stays(shop, plain_settings, session_factory):
    off = plain_settings.model_copy(update={"receipt_printer": f"tcp://127.0.0.1:{dead_port()}"})
    async with FakeShop(off, session_factory) as shop:
        cashier = shop.client(CASHIER_ID, "Cal")
        milk = await product(session_factory, name="Milk", price_minor=150, stock=10)
        await fill(session_factory, CASHIER_ID, (milk, 1))
        await checkout_to_confirm(cashier)
        await cashier.tap("✅ Confirm sale")
        (sale,) = await sales(session_factory)
        await cashier.tap("🖨 Print")
        host, port = off.printer_address
        assert cashier.text == f"⚠️ The printer at {host}:{port} did not answer; the sale is recorded."
        assert [s.id for s in await sales(session_factory)] == [sale.id]
        await cashier.send(f"/receipt {sale.number}")
        assert f"Sale #{sale.number}" in cashier.text


async def test_no_printer_no_mail_no_buttons_and_a_clear_answer(shop, plain_settings, session_factory):
    async with FakeShop(plain_settings, session_factory) as shop:
        cashier = shop.client(CASHIER_ID, "Cal")
        sale = await a_sale(session_factory)
        await cashier.send(f"/receipt {sale.number}")
        assert cashier.buttons == ["📄 PDF", "📲 Send to customer"]
        answer = await cashier.press(f"rc:prn:{sale.id}")
        assert (answer["text"], answer["show_alert"]) == (NO_PRINTER, True)
        answer = await cashier.press(f"rc:mail:{sale.id}")
        assert (answer["text"], answer["show_alert"]) == (NO_MAIL, True)


# --- e-mail -------------------------------------------------------------------------------------
async def test_email_sends_the_pdf_to_the_customer(cashier, session_factory, mailbox):
    sale = await a_sale(session_factory)
    await cashier.send(f"/receipt {sale.number}")
    answer = await cashier.tap("✉️ E-mail")
    assert answer["text"] == "Sending the e-mail…"
    assert cashier.text == f"✉️ Receipt #{sale.number} e-mailed to ann@example.com."
    ((recipients, message),) = mailbox.messages
    assert recipients == ["ann@example.com"]
    assert message["To"] == "ann@example.com" and "receipts@example.com" in message["From"]
    assert message["Subject"] == f"Your receipt #{sale.number} from Corner Shop"
    assert "Crème brûlée" in message.get_body(preferencelist=("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"receipt-{sale.number}.pdf"
    text = pdf_text(attachment.get_content())
    assert f"Sale #{sale.number}" in text and "Молоко" in text and FOOTER in text


async def test_email_without_an_address(cashier, session_factory, mailbox):
    sale = await a_sale(session_factory, email=None)
    await cashier.send(f"/receipt {sale.number}")
    assert "✉️ E-mail" not in cashier.buttons
    answer = await cashier.press(f"rc:mail:{sale.id}")
    assert (answer["text"], answer["show_alert"]) == (
        f"Sale #{sale.number} has no customer with an e-mail address.",
        True,
    )
    assert mailbox.messages == []


async def test_a_mail_server_that_is_down_gets_a_clear_line(shop, plain_settings, session_factory):
    down = plain_settings.model_copy(
        update={
            "smtp_url": Settings(
                _env_file=None, smtp_url=f"smtp://127.0.0.1:{dead_port()}", smtp_from="a@b.co"
            ).smtp_url,
            "smtp_from": "receipts@example.com",
        }
    )
    async with FakeShop(down, session_factory) as shop:
        cashier = shop.client(CASHIER_ID, "Cal")
        sale = await a_sale(session_factory)
        await cashier.send(f"/receipt {sale.number}")
        await cashier.tap("✉️ E-mail")
        assert cashier.text.startswith("⚠️ The mail server at 127.0.0.1:") and "did not take the e-mail" in cashier.text
        assert len(await sales(session_factory)) == 1


async def test_a_refund_just_made_offers_its_pdf(manager, cashier, session_factory):
    sale = await a_sale(session_factory)
    # Line by line: one crème brûlée back, in cash.
    await manager.send(f"/refund {sale.number} cracked")
    await manager.tap("Choose lines…")
    await manager.tap("^\\+$")  # the first line's + (Молоко)
    await manager.tap("Cash")
    await manager.tap("✅ Refund \\$1.50")
    assert "Refunded $1.50" in manager.text and manager.buttons == ["📄 Refund PDF"]
    await manager.tap("📄 Refund PDF")
    first = pdf_text(manager.documents[-1].file)
    assert "PAID BACK $1.50" in first and "Молоко" in first and "Reason: cracked" in first
    # The rest in one tap.
    await manager.send(f"/refund {sale.number}")
    await manager.tap("Refund \\$5.70")
    assert "Refunded." in manager.text and manager.buttons == ["📄 Refund PDF"]
    await manager.tap("📄 Refund PDF")
    rest = pdf_text(manager.documents[-1].file)
    assert "PAID BACK $5.70" in rest and "Crème brûlée" in rest
    # The cashier of the sale has both refunds' receipts under /receipt.
    await cashier.send(f"/receipt {sale.number}")
    assert "refunded" in cashier.text
    assert cashier.buttons == [
        "📄 PDF",
        "🖨 Print",
        "✉️ E-mail",
        "📲 Send to customer",
        "📄 Refund 1 · $1.50",
        "📄 Refund 2 · $5.70",
    ]
    await cashier.tap("📄 Refund 2 · \\$5.70")
    assert "PAID BACK $5.70" in pdf_text(cashier.documents[-1].file)


async def test_whoever_made_a_refund_has_its_receipt_not_the_sales(shop, plain_settings, session_factory):
    refunding = plain_settings.model_copy(update={"cashier_can_refund": True})
    async with FakeShop(refunding, session_factory) as own_shop:
        sale = await a_sale(session_factory)  # rung up by CASHIER_ID
        other = own_shop.client(CASHIER2_ID, "Cleo")
        await other.send(f"/refund {sale.number}")  # a cashier's /refund opens the line-by-line screen
        await other.tap("^\\+$")
        await other.tap("✅ Refund \\$1.50")
        refund_screen = other.last_reply
        await other.tap("📄 Refund PDF")
        assert "PAID BACK $1.50" in pdf_text(other.documents[-1].file)
        answer = await other.press(f"rc:pdf:{sale.id}", message=refund_screen)
        assert answer["text"] == f"Sale #{sale.number} was rung up by someone else: a manager can show it."
        (refund_data,) = [data for _, data in refund_screen.buttons]
        other_refund = refund_data.rsplit(":", 1)[0] + ":999999"
        answer = await other.press(other_refund, message=refund_screen)
        assert answer["text"] == f"Sale #{sale.number} was rung up by someone else: a manager can show it."
        assert len(other.documents) == 1
