"""The printer and the mail server, each a local server in the test: what arrives, and every failure
as one DeliveryFailed line, quickly."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, LoginPassword

from db.receipt_delivery import DeliveryFailed, print_lines, receipt_message, send_mail

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []
        self.messages: list[bytes] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = (auth_data.login.decode(), auth_data.password.decode())
            self.logins.append(login)
            return AuthResult(success=login == ("shop@example.com", "p:ss word"))
        return AuthResult(success=False)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
async def inbox():
    box = Inbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTPServer(
            box,
            hostname="localhost",
            authenticator=box.authenticate,
            auth_required=True,
            auth_require_tls=False,  # a test on loopback; a real server would want TLS first
        ),
        "127.0.0.1",
        0,
    )
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()


def _message():
    return receipt_message(
        sender="Corner Shop <receipts@example.com>",
        to="ann@example.com",
        subject="Your receipt #7",
        body="Молоко 2 x $1.50",
        pdf=b"%PDF-1.4 fake",
        filename="receipt-7.pdf",
    )


async def test_mail_logs_in_with_the_url_credentials_percent_decoded(inbox):
    url = f"smtp://shop%40example.com:p%3Ass%20word@127.0.0.1:{inbox.port}"
    await asyncio.to_thread(send_mail, url, _message())
    assert inbox.logins == [("shop@example.com", "p:ss word")]
    (raw,) = inbox.messages
    assert b"Subject: Your receipt #7" in raw and b'filename="receipt-7.pdf"' in raw


def test_a_mail_server_that_is_down_is_one_clear_line():
    port = dead_port()
    with pytest.raises(DeliveryFailed) as failed:
        send_mail(f"smtp://127.0.0.1:{port}", _message(), timeout=2)
    assert failed.value.message == f"The mail server at 127.0.0.1:{port} did not take the e-mail; try again later."


def test_a_printer_that_is_off_fails_at_once():
    port = dead_port()
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        print_lines("127.0.0.1", port, ["Corner Shop"], timeout=2)
    assert failed.value.message == f"The printer at 127.0.0.1:{port} did not answer; the sale is recorded."
    assert time.monotonic() - started < 2


async def test_a_printer_that_never_answers_times_out():
    """A printer that accepts the connection but never reads: the send stops within the timeout."""
    accepted = []

    async def hold(reader, writer):
        accepted.append(writer)  # never read, never close

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lines = ["x" * 47] * 200_000  # ~10 MB: more than the socket buffers hold
    started = time.monotonic()
    with pytest.raises(DeliveryFailed):
        await asyncio.to_thread(print_lines, "127.0.0.1", port, lines, timeout=1)
    assert time.monotonic() - started < 30
    server.close()
