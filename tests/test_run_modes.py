"""The real bot process over HTTP, against the fake Bot API server on loopback.

`python -m bot run` and `python -m bot webhook` are started as subprocesses with TELEGRAM_API_URL
pointing at bot.testing.fake_server; they must answer /start and stop cleanly (exit 0) on SIGTERM.
Every wait is bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken

from bot.app import build_application, shutdown, startup
from bot.logging_setup import QUIET_LOGGERS, RedactSecrets
from bot.run import TOKEN_REJECTED, run_polling, webhook_path
from bot.testing.fake_server import FakeBotApiServer
from bot.testing.fake_telegram import FAKE_TOKEN, FakeTelegram
from db.settings import Settings
from tests import cli_helpers

database_url = cli_helpers.database_url  # fixture: a fresh, unmigrated database

ROOT = Path(__file__).resolve().parent.parent
ADMIN_ID = 4242
STARTUP_LIMIT = 60  # seconds for a process to come up and answer (a slow CI machine)
STOP_LIMIT = 30  # seconds for a SIGTERM to finish the process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env(tmp_path: Path, url: str, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in cli_helpers.CLEARED_ENV and k != "DATABASE_URL"}
    env.update(cli_helpers.PINNED_ENV)
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_API_URL=api_url,
        TELEGRAM_BOT_TOKEN=FAKE_TOKEN,
        ADMIN_IDS=str(ADMIN_ID),
        DATABASE_URL=url,
        STORE_NAME="Loopback Shop",
    )
    env.update(extra)
    return env


async def start_bot(tmp_path: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,  # no .env there
        env=env,
        stdin=asyncio.subprocess.DEVNULL,  # not a terminal
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(process: asyncio.subprocess.Process, awaitable, limit: float):
    """Await `awaitable`, failing with the bot's stderr if the process ends first or time runs out."""
    task = asyncio.ensure_future(awaitable)
    died = asyncio.ensure_future(process.wait())
    done, _ = await asyncio.wait({task, died}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        died.cancel()
        return task.result()
    task.cancel()
    if died in done:
        died.cancel()
        err = (await process.stderr.read()).decode() if process.stderr else ""
        pytest.fail(f"the bot exited with {process.returncode} first:\n{err}")
    await stop(process)
    pytest.fail(f"nothing happened within {limit} s")


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM, then the exit code and stderr (killed if it does not stop in time)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = await asyncio.wait_for(process.communicate(), STOP_LIMIT)
    except TimeoutError:
        process.kill()
        _, err = await process.communicate()
        pytest.fail(f"the bot did not stop within {STOP_LIMIT} s of SIGTERM:\n{err.decode()}")
    return process.returncode, err.decode()


def to_admin(call) -> bool:
    return str(call.params.get("chat_id")) == str(ADMIN_ID)


# --- polling ----------------------------------------------------------------------------------


async def test_polling_bot_answers_start_over_http_and_stops_cleanly_on_sigterm(database_url, tmp_path):
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        process = await start_bot(tmp_path, bot_env(tmp_path, database_url, server.url), "run")
        try:
            await server.queue_message(ADMIN_ID, "/start", "Ada")
            reply = await until(process, server.wait_for_call("sendMessage", to_admin), STARTUP_LIMIT)
        finally:
            code, err = await stop(process)

    assert "Hello, Ada!" in reply.params["text"] and "Loopback Shop" in reply.params["text"]
    assert code == 0, err
    assert "Application.stop() complete" in err
    assert FAKE_TOKEN not in err and FAKE_TOKEN.split(":")[1] not in err
    # Polling asked for every update type, and confirmed the update it handled before leaving.
    offsets = [int(c.params.get("offset") or 0) for c in server.fake.calls_to("getUpdates")]
    assert max(offsets) >= 2 and server.pending_updates == 0
    # The admin from ADMIN_IDS got their command menu; the bot migrated the empty database.
    assert server.fake.commands_for_chat(ADMIN_ID)
    assert await cli_helpers.scalar(database_url, "SELECT count(*) FROM staff WHERE telegram_id = :id", id=ADMIN_ID)


# --- webhook ----------------------------------------------------------------------------------


async def post_update(url: str, payload: dict, secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with httpx.AsyncClient() as client:
        for _ in range(200):  # the webhook server starts listening after setWebhook: retry until it does
            try:
                return (await client.post(url, json=payload, headers=headers)).status_code
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")


def start_update(update_id: int, user_id: int = ADMIN_ID) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": user_id, "type": "private", "first_name": "Ada"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Ada"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_checks_the_secret_answers_and_stops_cleanly(database_url, tmp_path):
    secret, port = "s3cret-token_for-tests", free_port()
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        env = bot_env(
            tmp_path,
            database_url,
            server.url,
            WEBHOOK_URL="https://pos.example.com/hook",
            WEBHOOK_SECRET=secret,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        process = await start_bot(tmp_path, env, "webhook")
        try:
            registered = await until(process, server.wait_for_call("setWebhook"), STARTUP_LIMIT)
            local = f"http://127.0.0.1:{port}/{webhook_path(secret)}"
            assert await until(process, post_update(local, start_update(1), "wrong"), STARTUP_LIMIT) == 403
            assert await post_update(local, start_update(2), None) == 403
            assert await post_update(local, start_update(3), secret) == 200
            reply = await until(process, server.wait_for_call("sendMessage", to_admin), STARTUP_LIMIT)
        finally:
            code, err = await stop(process)

    assert registered.params["url"] == f"https://pos.example.com/hook/{webhook_path(secret)}"
    assert registered.params["secret_token"] == secret
    assert "Hello, Ada!" in reply.params["text"]
    assert len([c for c in server.fake.calls_to("sendMessage") if to_admin(c)]) == 1  # refused posts did nothing
    assert code == 0, err
    assert secret not in err and FAKE_TOKEN not in err


def test_webhook_path_is_stable_and_does_not_reveal_the_secret():
    assert webhook_path("abc") == webhook_path("abc") != webhook_path("abd")
    assert "abc" not in webhook_path("abc").removeprefix("telegram-")
    assert webhook_path("abc").startswith("telegram-") and len(webhook_path("abc")) == len("telegram-") + 24


# --- a failed start: one line, no traceback, no token ----------------------------------------

OTHER_TOKEN = "987654321:AAHrejected-token-for-tests_000000000000"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ")


async def ended(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """The exit code and output (stdout + stderr) of a process that should stop by itself."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), STARTUP_LIMIT)
    except TimeoutError:
        process.kill()
        await process.communicate()
        pytest.fail(f"the bot did not give up within {STARTUP_LIMIT} s")
    return process.returncode, out.decode() + err.decode()


def told(output: str) -> list[str]:
    """What the operator is told: the output without the INFO log lines of a normal start."""
    return [line for line in output.splitlines() if not LOG_LINE.match(line)]


@pytest.mark.parametrize("mode", ["run", "webhook"])
async def test_a_token_telegram_rejects_is_one_line_without_the_token_and_exit_2(mode, database_url, tmp_path):
    webhook = {
        "WEBHOOK_URL": "https://pos.example.com/hook",
        "WEBHOOK_SECRET": "s3cret",
        "WEBHOOK_PORT": str(free_port()),
    }
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:  # 401 Unauthorized for any other token
        env = bot_env(tmp_path, database_url, server.url, TELEGRAM_BOT_TOKEN=OTHER_TOKEN, **webhook)
        code, output = await ended(await start_bot(tmp_path, env, mode))

    assert code == 2
    assert told(output) == [TOKEN_REJECTED]
    assert OTHER_TOKEN not in output and OTHER_TOKEN.split(":")[1] not in output


async def test_an_unreachable_bot_api_is_one_line_and_exit_1(database_url, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, output = await ended(await start_bot(tmp_path, bot_env(tmp_path, database_url, closed), "run"))

    assert code == 1
    [line] = told(output)
    assert line.startswith(f"Could not reach the Telegram Bot API at {closed}: ")
    assert FAKE_TOKEN not in output and FAKE_TOKEN.split(":")[1] not in output


@pytest.fixture
def restored_logging():
    """run_polling configures logging for the process: undo it after the test."""
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in QUIET_LOGGERS})
    yield
    for handler in root.handlers:
        for f in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(f)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def test_an_unexpected_error_is_logged_and_told_redacted(tmp_path, monkeypatch, capsys, caplog, restored_logging):
    def broken(settings, **kwargs):
        raise RuntimeError(f"POST {settings.telegram_api_url}/bot{FAKE_TOKEN}/getMe went wrong\nsecond line")

    monkeypatch.setattr("bot.run.build_application", broken)
    settings = Settings(
        _env_file=None, telegram_bot_token=FAKE_TOKEN, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    assert run_polling(settings) == 1

    err = capsys.readouterr().err
    stopped = "The bot stopped on an unexpected error: RuntimeError: POST https://api.telegram.org/bot[REDACTED]/getMe"
    assert err == stopped + " went wrong\n"
    assert "RuntimeError" in caplog.text and "Traceback" in caplog.text and FAKE_TOKEN not in caplog.text


# --- stopping finishes the updates in hand ----------------------------------------------------


class GatedTelegram(FakeTelegram):
    """Holds the first sendMessage until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()
        self.events: list[str] = []

    async def do_request(self, url, method, request_data=None, **kwargs):
        if url.endswith("/sendMessage") and not self.gate.is_set():
            self.reached.set()
            await self.gate.wait()
            self.events.append("reply sent")
        return await super().do_request(url, method, request_data, **kwargs)


async def test_stopping_waits_for_the_update_in_hand(session_factory):
    settings = Settings(_env_file=None, admin_ids=[ADMIN_ID], store_name="Gate Shop")
    fake = GatedTelegram()
    application = build_application(settings, request=fake, session_factory=session_factory, token=FAKE_TOKEN)
    await application.initialize()
    await startup(application)
    await application.start()
    try:
        await application.update_queue.put(Update.de_json(start_update(1), application.bot))
        async with asyncio.timeout(STARTUP_LIMIT):
            await fake.reached.wait()  # the handler is in the middle of replying
        stopping = asyncio.create_task(application.stop())  # what SIGTERM does in run_polling
        await asyncio.sleep(0)
        assert not application.running and not stopping.done()
        fake.gate.set()
        async with asyncio.timeout(STOP_LIMIT):
            await stopping
        fake.events.append("stopped")
    finally:
        if application.running:
            await application.stop()
        await application.shutdown()
        await shutdown(application)
    assert fake.events == ["reply sent", "stopped"]
    assert "Gate Shop" in fake.chat_messages(ADMIN_ID)[-1].text


# --- the fake Bot API server, as any HTTP client sees it --------------------------------------


async def test_fake_server_speaks_the_bot_api_to_a_real_bot():
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        bot = Bot(FAKE_TOKEN, base_url=f"{server.url}/bot", base_file_url=f"{server.url}/file/bot")
        async with bot:
            me = await bot.get_me()
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Add", callback_data="cart:add:1")]])
            sent = await bot.send_message(77, "<b>Bread</b> 1 &amp; 2", parse_mode="HTML", reply_markup=markup)
            await bot.send_document(77, b"a,b\n1,2\n", filename="sales.csv", caption="CSV")
            await bot.set_my_commands([BotCommand("cart", "The cart")], scope=BotCommandScopeChat(77))
            await server.queue_message(77, "/cart")
            updates = await bot.get_updates(timeout=1)
            confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

        assert me.username == "pos_test_bot"
        assert sent.text == "Bread 1 & 2"
        stored = server.fake.chat_messages(77)
        assert stored[0].buttons == [("Add", "cart:add:1")]
        assert (stored[1].kind, stored[1].filename, stored[1].file) == ("document", "sales.csv", b"a,b\n1,2\n")
        assert server.fake.commands_for_chat(77) == ["cart"]
        assert [u.message.text for u in updates] == ["/cart"] and confirmed == ()

        with pytest.raises(InvalidToken):
            async with Bot("987654321:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", base_url=f"{server.url}/bot") as wrong:
                await wrong.get_me()


async def test_fake_server_refuses_malformed_requests():
    async with FakeBotApiServer() as server, httpx.AsyncClient() as client:
        assert (await client.get(f"{server.url}/nothing")).status_code == 404
        response = await client.post(f"{server.url}/bot1:x/sendMessage", json={"chat_id": 1, "text": ""})
        assert response.status_code == 400 and "message text is empty" in response.json()["description"]
        response = await client.post(f"{server.url}/bot1:x/noSuchMethod", data={"a": "b"})
        assert response.status_code == 404
        response = await client.post(
            f"{server.url}/bot1:x/sendMessage", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 400


async def test_fake_server_stops_while_a_long_poll_waits():
    server = FakeBotApiServer()
    await server.start()
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(client.post(f"{server.url}/bot1:x/getUpdates", data={"timeout": "5"}))
        async with asyncio.timeout(10):
            await server.wait_for_call("getUpdates")
            await server.stop()
        with contextlib.suppress(httpx.HTTPError):
            await poll
