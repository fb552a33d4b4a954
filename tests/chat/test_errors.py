"""The error handler, the catch-alls, and secrets kept out of every log line and message."""

from __future__ import annotations

import logging
import sys

import pytest
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.logging_setup import REDACTED, RedactSecrets, configure_logging
from bot.testing.fake_telegram import FAKE_TOKEN
from db import audit as audit_db
from db.errors import InvalidInput
from db.models import Role
from db.settings import Settings
from handlers.access import requires
from handlers.context import PosContext
from handlers.reply import answer
from tests.chat.conftest import ADMIN_ID
from tests.chat.security_helpers import audit_entries, db_checksum

SECRET = "hook-secret-0123456789abcdef"


@pytest.fixture
def settings() -> Settings:
    """The shared test settings, plus a token and a webhook secret to leak."""
    return Settings(
        _env_file=None,
        telegram_bot_token=FAKE_TOKEN,
        webhook_secret=SECRET,
        store_name="Corner Shop",
        currency="USD",
        store_timezone="Europe/Berlin",
        admin_ids=[ADMIN_ID],
        low_stock_threshold=3,
    )


@pytest.fixture
def redacted_logs(settings, caplog):
    """configure_logging as the run modes call it, undone afterwards; caplog records everything."""
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler")})
    configure_logging(settings)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for handler in root.handlers:
        for f in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(f)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def _leak() -> str:
    return f"POST https://api.telegram.org/bot{FAKE_TOKEN}/sendMessage failed (secret {SECRET})"


@requires(Role.CASHIER)
async def _boom(update: Update, context: PosContext) -> None:
    logging.getLogger("pos.test").info("calling %s", f"https://api.telegram.org/bot{FAKE_TOKEN}/getMe")
    raise RuntimeError(_leak())


@requires(Role.CASHIER)
async def _save_then_boom(update: Update, context: PosContext) -> None:
    async with context.transaction() as session:
        await audit_db.record(session, actor=context.staff, action="price", details="saved before the crash")
    raise RuntimeError(_leak())


@requires(Role.CASHIER)
async def _pos_error(update: Update, context: PosContext) -> None:
    raise InvalidInput("The price must be <positive>.")


@requires(Role.CASHIER)
async def _not_modified(update: Update, context: PosContext) -> None:
    raise BadRequest("Message is not modified: specified new message content is the same")


@requires(Role.CASHIER)
async def _answered_then_boom(update: Update, context: PosContext) -> None:
    await answer(update, context, "working on it")
    raise RuntimeError(_leak())


@pytest.fixture
def broken(shop):
    """Handlers that fail in every way, put in front of the real ones for these tests."""
    first = shop.application.handlers[0]
    extra = [
        CommandHandler("boom", _boom),
        CommandHandler("saveboom", _save_then_boom),
        CommandHandler("poserror", _pos_error),
        CommandHandler("notmodified", _not_modified),
        CallbackQueryHandler(_boom, pattern=r"^test:boom$"),
        CallbackQueryHandler(_save_then_boom, pattern=r"^test:saveboom$"),
        CallbackQueryHandler(_answered_then_boom, pattern=r"^test:answered$"),
        CallbackQueryHandler(_pos_error, pattern=r"^test:poserror$"),
    ]
    first[:0] = extra
    return shop


def _no_secret_in(caplog) -> None:
    assert FAKE_TOKEN not in caplog.text and SECRET not in caplog.text
    for record in caplog.records:
        formatted = logging.Formatter("%(message)s").format(record)
        assert FAKE_TOKEN not in formatted and SECRET not in formatted
        assert record.exc_info is None or FAKE_TOKEN not in str(record.exc_info[1])


def _no_secret_sent(fake) -> None:
    for call in fake.calls:
        if call.method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
            assert FAKE_TOKEN not in str(call.params) and SECRET not in str(call.params)


async def test_a_crash_is_logged_with_context_and_without_secrets(broken, shop, fake, redacted_logs):
    cal = shop.client(9003, "Cal", strict=False)
    await cal.send("/boom now")
    assert cal.text == "Sorry, something went wrong. Nothing was recorded; please try again."
    errors = [r for r in redacted_logs.records if r.name == "pos.errors"]
    assert len(errors) == 1
    assert "from user 9003 in chat 9003: command '/boom'" in errors[0].getMessage()
    assert "RuntimeError" in redacted_logs.text and REDACTED in redacted_logs.text
    assert f"calling https://api.telegram.org/bot{REDACTED}/getMe" in redacted_logs.text
    _no_secret_in(redacted_logs)
    _no_secret_sent(fake)


async def test_the_user_is_told_when_something_was_saved(broken, shop, session_factory, redacted_logs):
    cal = shop.client(9003, "Cal", strict=False)
    await cal.send("/saveboom")
    assert "Your change was saved before the problem" in cal.text
    assert (await audit_entries(session_factory))[-1].details == "saved before the crash"
    assert "saved before the error: yes" in redacted_logs.text
    _no_secret_in(redacted_logs)


async def test_a_crashing_button_is_answered_with_an_alert(broken, shop, fake, redacted_logs):
    cal = shop.client(9003, "Cal", strict=False)
    await cal.send("/help")
    answer_ = await cal.press("test:boom")
    assert answer_["show_alert"] is True and "Nothing was recorded" in answer_["text"]
    answer_ = await cal.press("test:saveboom")
    assert "saved before the problem" in answer_["text"]
    # already answered by the handler: the error is told in the chat instead
    sent = len(fake.calls_to("sendMessage"))
    answer_ = await cal.press("test:answered")
    assert answer_["text"] == "working on it"
    assert len(fake.calls_to("sendMessage")) == sent + 1 and "Nothing was recorded" in cal.text
    _no_secret_in(redacted_logs)
    _no_secret_sent(fake)


async def test_an_uncaught_pos_error_shows_its_message(broken, shop, session_factory):
    cal = shop.client(9003, "Cal", strict=False)
    before = await db_checksum(session_factory)
    await cal.send("/poserror")
    assert cal.text == "The price must be <positive>.\nNothing was recorded; please try again."
    answer_ = await cal.press("test:poserror")
    assert answer_["text"] == "The price must be <positive>.\nNothing was recorded; please try again."
    assert await db_checksum(session_factory) == before


async def test_message_not_modified_is_not_an_error(broken, shop, fake):
    cal = shop.client(9003, "Cal", strict=False)
    await cal.send("/notmodified")
    assert fake.chat_messages(9003) == []


async def test_errors_outside_updates_are_logged_redacted(shop, redacted_logs):
    await shop.application.process_error(update=None, error=RuntimeError(_leak()))
    assert "error while handling NoneType (not an update)" in redacted_logs.text
    _no_secret_in(redacted_logs)


# --- the filter itself --------------------------------------------------------------------------
def test_redaction_covers_message_args_exception_and_stack():
    redact = RedactSecrets([FAKE_TOKEN, SECRET, ""])
    try:
        raise ValueError(f"bad url .../bot{FAKE_TOKEN}/x")
    except ValueError:
        exc_info = sys.exc_info()
    args = (FAKE_TOKEN, {"s": SECRET})
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s and %r", args, exc_info, None, "at " + SECRET)
    assert redact.filter(record) is True
    text = logging.Formatter("%(message)s").format(record)
    assert FAKE_TOKEN not in text and SECRET not in text
    assert text.count(REDACTED) >= 4 and "ValueError" in text


def test_a_broken_format_string_is_still_redacted():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d " + FAKE_TOKEN, ("not a number",), None)
    RedactSecrets([FAKE_TOKEN]).filter(record)
    assert FAKE_TOKEN not in record.getMessage()


def test_http_client_logs_are_quiet(redacted_logs):
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", FAKE_TOKEN)
    assert "HTTP Request" not in redacted_logs.text
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING


def test_configure_logging_twice_adds_one_filter(settings, redacted_logs):
    configure_logging(settings)
    for handler in logging.getLogger().handlers:
        assert len([f for f in handler.filters if isinstance(f, RedactSecrets)]) == 1


# --- the catch-alls -----------------------------------------------------------------------------
@pytest.mark.parametrize("payload", ["zzz:unknown:1", "cart", "::::", "x" * 64])
async def test_unrouted_buttons_are_no_longer_valid(cashier, session_factory, payload):
    await cashier.send("/help")
    before = await db_checksum(session_factory)
    answer_ = await cashier.press(payload)
    assert answer_["text"] == "This button is no longer valid." and answer_["show_alert"] is True
    assert await db_checksum(session_factory) == before


async def test_page_number_button_does_nothing(cashier):
    await cashier.send("/help")
    answer_ = await cashier.press("nav:noop")
    assert answer_.get("text") is None


async def test_unknown_command_points_to_help(cashier):
    await cashier.send("/frobnicate")
    assert "I don't know that command. /help lists yours." in cashier.text
