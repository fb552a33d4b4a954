"""/receipt <number>, and the buttons under a receipt: 📄 PDF, 🖨 Print, ✉️ E-mail, a refund's PDF.

The same receipt, with the same buttons, closes every checkout; a refund just made offers its own
PDF. Cashiers show and resend the receipts of their own sales (and of the refunds they made);
managers and admins any. The buttons carry the sale's id (and a refund's) only: at each press the
sale is read again and who may have it decided again. 🖨 Print shows only when RECEIPT_PRINTER is
set, ✉️ E-mail only when SMTP_URL and SMTP_FROM are set and the sale's customer has an address;
a press after either changed gets a clear answer. The PDF, the printing and the mail run in a
thread; a printer or mail server that does not answer is reported in one line, and the sale,
recorded before any of this, stays recorded.
"""

from __future__ import annotations

import asyncio
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import checkout as checkout_db
from db import loyalty as loyalty_db
from db import receipts as receipts_db
from db.errors import NotFound, PosError
from db.models import Role, Sale
from db.receipt_delivery import PRINT_TIMEOUT, DeliveryFailed, print_lines, receipt_message, send_mail
from db.receipt_pdf import receipt_pdf
from db.receipts import Receipt, Store, text_lines
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.loyalty import LINK_NS
from handlers.render import button, cb, cb_pattern, chat_receipt, esc, keyboard, money
from handlers.reply import answer, refuse, send

NS = "rc"
USAGE = "Usage: /receipt <number>, e.g. /receipt 42"
REFUND_BUTTONS = 3  # the latest refunds of a sale get a PDF button each
NOT_YOURS = "Sale #{number} was rung up by someone else: a manager can show it."
NO_PRINTER = "No receipt printer is set up (RECEIPT_PRINTER)."
NO_MAIL = "E-mailed receipts are not set up (SMTP_URL and SMTP_FROM)."
NO_ADDRESS = "Sale #{number} has no customer with an e-mail address."


def receipt_keyboard(sale: Sale, context: PosContext) -> InlineKeyboardMarkup:
    """📄 PDF, and 🖨 Print / ✉️ E-mail when set up; a PDF button for each of the latest refunds."""
    settings = context.settings
    row = [button("📄 PDF", cb(NS, "pdf", sale.id))]
    if settings.printer_address is not None:
        row.append(button("🖨 Print", cb(NS, "prn", sale.id)))
    if settings.mail_configured and sale.customer is not None and sale.customer.email:
        row.append(button("✉️ E-mail", cb(NS, "mail", sale.id)))
    rows = [row, [button("📲 Send to customer", cb(LINK_NS, "new", sale.id))]]
    first = max(len(sale.refunds) - REFUND_BUTTONS, 0)
    for number, refund in enumerate(sale.refunds[first:], start=first + 1):
        label = f"📄 Refund {number} · {money(refund.amount_minor, sale.currency)}"
        rows.append([button(label, cb(NS, "rpdf", sale.id, refund.id))])
    return keyboard(rows)


def refund_keyboard(sale: Sale, refund_id: int) -> InlineKeyboardMarkup:
    """The button under a refund just made: its own receipt."""
    return keyboard([[button("📄 Refund PDF", cb(NS, "rpdf", sale.id, refund_id))]])


async def _sale_for(
    update: Update, context: PosContext, *, sale_id: int | None = None, number: int = 0, refund_id: int | None = None
) -> Sale | None:
    """The sale, when this staff member may have its receipt (a manager; the cashier of the sale;
    for a refund's receipt, also whoever made that refund); None (after saying why) otherwise."""
    try:
        async with context.reading() as session:
            if sale_id is not None:
                sale = await checkout_db.get_sale(session, sale_id=sale_id)
            else:
                sale = await checkout_db.get_sale_by_number(session, number=number)
    except PosError as error:
        await refuse(update, context, error.message)
        return None
    staff = context.staff
    staff_id = staff.id if staff is not None else None
    made_refund = any(r.id == refund_id and r.staff_id == staff_id for r in sale.refunds)
    if staff is None or not (staff.role.includes(Role.MANAGER) or sale.cashier_id == staff_id or made_refund):
        await refuse(update, context, NOT_YOURS.format(number=sale.number))
        return None
    return sale


def _document(sale: Sale, context: PosContext) -> Receipt:
    return receipts_db.from_sale(sale, store=Store.from_settings(context.settings), tz=context.tz)


async def _send_pdf(update: Update, context: PosContext, document: Receipt, caption: str) -> None:
    await answer(update, context, "Preparing the PDF…")
    chat_id = update.effective_chat.id
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    content = await asyncio.to_thread(receipt_pdf, document, width_mm=context.settings.receipt_width)
    await context.bot.send_document(chat_id, content, filename=document.filename, caption=esc(caption))


@requires(Role.CASHIER)
async def receipt_command(update: Update, context: PosContext) -> None:
    """/receipt <number>: the receipt again, with its buttons."""
    args = context.args or []
    match = re.fullmatch(r"#?(\d{1,18})", args[0]) if len(args) == 1 else None
    if match is None:
        await send(update, context, esc(USAGE))
        return
    sale = await _sale_for(update, context, number=int(match.group(1)))
    if sale is not None:
        async with context.reading() as session:
            points = await loyalty_db.receipt_points(session, sale)
        await send(update, context, chat_receipt(sale, context, points), receipt_keyboard(sale, context))


@requires(Role.CASHIER)
async def pdf_button(update: Update, context: PosContext) -> None:
    """📄 PDF: the receipt as a document, receipt-<number>.pdf."""
    args = await pressed(update, context, NS, "pdf", 1)
    sale = await _sale_for(update, context, sale_id=args[0]) if args else None
    if sale is not None:
        await _send_pdf(update, context, _document(sale, context), f"Receipt #{sale.number}")


@requires(Role.CASHIER)
async def refund_pdf_button(update: Update, context: PosContext) -> None:
    """📄 Refund PDF: one refund's own receipt."""
    args = await pressed(update, context, NS, "rpdf", 2)
    sale = await _sale_for(update, context, sale_id=args[0], refund_id=args[1]) if args else None
    if sale is None:
        return
    try:
        refund = receipts_db.find_refund(sale, args[1])
        async with context.reading() as session:
            staff = await receipts_db.refund_staff_name(session, refund)
    except NotFound:
        await refuse(update, context, f"No such refund of sale #{sale.number}.")
        return
    document = receipts_db.from_refund(
        sale, refund, staff=staff, store=Store.from_settings(context.settings), tz=context.tz
    )
    await _send_pdf(update, context, document, f"Refund of sale #{sale.number}")


@requires(Role.CASHIER)
async def print_button(update: Update, context: PosContext) -> None:
    """🖨 Print: the text receipt on the ESC/POS printer; a printer that does not answer is reported."""
    args = await pressed(update, context, NS, "prn", 1)
    sale = await _sale_for(update, context, sale_id=args[0]) if args else None
    if sale is None:
        return
    address = context.settings.printer_address
    if address is None:
        await refuse(update, context, NO_PRINTER)
        return
    host, port = address
    await answer(update, context, "Printing…")
    lines = text_lines(_document(sale, context), context.settings.receipt_columns)
    try:
        # The socket times out on its own; wait_for bounds a printer that takes bytes forever.
        await asyncio.wait_for(asyncio.to_thread(print_lines, host, port, lines), PRINT_TIMEOUT * 3)
    except DeliveryFailed as failed:
        await send(update, context, "⚠️ " + esc(failed.message))
        return
    except TimeoutError:
        await send(update, context, esc(f"⚠️ The printer at {host}:{port} did not answer; the sale is recorded."))
        return
    await send(update, context, f"🖨 Receipt #{sale.number} printed.")


@requires(Role.CASHIER)
async def mail_button(update: Update, context: PosContext) -> None:
    """✉️ E-mail: the PDF to the sale's customer."""
    args = await pressed(update, context, NS, "mail", 1)
    sale = await _sale_for(update, context, sale_id=args[0]) if args else None
    if sale is None:
        return
    settings = context.settings
    if settings.smtp_url is None or settings.smtp_from is None:
        await refuse(update, context, NO_MAIL)
        return
    address = sale.customer.email if sale.customer is not None else None
    if not address:
        await refuse(update, context, NO_ADDRESS.format(number=sale.number))
        return
    await answer(update, context, "Sending the e-mail…")
    document = _document(sale, context)
    try:
        content = await asyncio.to_thread(receipt_pdf, document, width_mm=settings.receipt_width)
        message = receipt_message(
            sender=settings.smtp_from,
            to=address,
            subject=f"Your receipt #{sale.number} from {settings.store_name}",
            body="\n".join([*text_lines(document, 48), "", "The receipt is attached as a PDF."]),
            pdf=content,
            filename=document.filename,
        )
        await asyncio.to_thread(send_mail, settings.smtp_url.get_secret_value(), message)
    except DeliveryFailed as failed:
        await send(update, context, "⚠️ " + esc(failed.message))
        return
    await send(update, context, f"✉️ Receipt #{sale.number} e-mailed to {esc(address)}.")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("receipt", receipt_command),
        CallbackQueryHandler(pdf_button, pattern=cb_pattern(NS, "pdf")),
        CallbackQueryHandler(refund_pdf_button, pattern=cb_pattern(NS, "rpdf")),
        CallbackQueryHandler(print_button, pattern=cb_pattern(NS, "prn")),
        CallbackQueryHandler(mail_button, pattern=cb_pattern(NS, "mail")),
    ]
