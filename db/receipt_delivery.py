"""Receipts leaving the bot: the text receipt to an ESC/POS network printer, the PDF by e-mail.

Both talk to a device or a server that may be off, slow or gone. Each call is blocking, bounded by
a short socket timeout, and meant for a thread (`asyncio.to_thread`); each failure is one
`DeliveryFailed` with a line fit for the cashier. Nothing here touches the sale: it is recorded
before, and stays recorded whatever the printer or the mail server does.

python-escpos is imported when a receipt is printed, never at start-up (tests/test_startup.py).
The mail goes out with the standard library (email.message, and smtplib imported when a mail is
sent).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

PRINT_TIMEOUT = 4.0  # seconds to connect and to send; a receipt printer on the LAN answers in ms
MAIL_TIMEOUT = 15.0
_SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class DeliveryFailed(Exception):
    """The printer or the mail server did not take the receipt; `message` says so to the cashier."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the printer ------------------------------------------------------------------------------
def print_lines(host: str, port: int, lines: Sequence[str], *, timeout: float = PRINT_TIMEOUT) -> None:
    """Print the lines on the ESC/POS printer at host:port, then feed and cut (blocking)."""
    from escpos.exceptions import Error as EscposError
    from escpos.printer import Network

    printer = Network(host, port=port, timeout=timeout)
    try:
        printer.open()
        printer.hw("INIT")
        for line in lines:
            printer.textln(line)
        printer.cut()
    except (OSError, EscposError) as error:
        log.warning("printing to %s:%s failed: %s", host, port, error)
        raise DeliveryFailed(f"The printer at {host}:{port} did not answer; the sale is recorded.") from None
    finally:
        printer.close()


# --- e-mail -----------------------------------------------------------------------------------
def receipt_message(*, sender: str, to: str, subject: str, body: str, pdf: bytes, filename: str) -> EmailMessage:
    """A plain-text e-mail with the receipt's PDF attached."""
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address)) if name else address
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def send_mail(smtp_url: str, message: EmailMessage, *, timeout: float = MAIL_TIMEOUT) -> None:
    """Send through the server SMTP_URL names: smtp:// (plain), smtp+starttls:// or smtps://, with
    user:password@ when it wants a login (blocking)."""
    url = urlparse(smtp_url)
    host, port = url.hostname or "", url.port or _SMTP_PORTS.get(url.scheme, 25)
    where = f"{host}:{port}"
    import smtplib  # only an e-mailed receipt needs it: imported here, not at start-up

    try:
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryFailed(f"The mail server at {where} refused the address {message['To']}.") from None
    except smtplib.SMTPAuthenticationError:
        raise DeliveryFailed(f"The mail server at {where} did not accept the login in SMTP_URL.") from None
    except (OSError, smtplib.SMTPException) as error:  # refused, timed out, TLS, any other answer
        log.warning("sending mail through %s failed: %s", where, type(error).__name__)
        raise DeliveryFailed(f"The mail server at {where} did not take the e-mail; try again later.") from None
