"""One active bot per database (issue 15): a standby takes over when the active one dies.

PostgreSQL: two real bot processes poll the same fake Bot API server; the first holds the
advisory lock and works, the second waits; the first is SIGKILLed in the middle of a checkout and
the second finishes it (one sale). SQLite: a second process on the same file exits in one line.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.testing.fake_server import FakeBotApiServer
from bot.testing.fake_telegram import FAKE_TOKEN
from tests import cli_helpers
from tests.process_helpers import ADMIN_ID, STARTUP_LIMIT, Bot, press, screen, showing
from tests.test_run_modes import bot_env, start_bot

database_url = cli_helpers.database_url  # fixture: a fresh database the bot migrates

ACTIVE = "is the active bot"
STANDBY = "waits on standby"


async def test_the_standby_takes_over_a_checkout_when_the_active_bot_dies(database_url, tmp_path, capsys):
    if "postgresql" not in database_url:
        pytest.skip("the advisory lock is PostgreSQL's; SQLite is one process (the next test)")
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        first, second = Bot(server, tmp_path, database_url), Bot(server, tmp_path, database_url)
        await first.start()
        try:
            await first.logged(ACTIVE)
            await second.start()
            await second.logged(STANDBY)
            await server.queue_message(ADMIN_ID, "/add Tea | 3.00 | 10 | | TEA", "Ada")
            await screen(server, showing("✅ Added."))
            await server.queue_message(ADMIN_ID, "TEA", "Ada")  # an exact code adds one at once
            await screen(server, showing("Tea ← +1"))
            await server.queue_message(ADMIN_ID, "/checkout", "Ada")
            await press(server, "👤 Customer")
            await press(server, "No customer")
            await screen(server, showing("How does the customer pay?"))

            first.kill()  # mid-dialog, on the payment screen
            killed_at = time.monotonic()
            took_over = await second.logged(ACTIVE)
            await server.queue_message(ADMIN_ID, "10", "Ada")  # the cash handed over, typed
            await screen(server, showing("Confirm the sale?"))
            await press(server, "✅ Confirm sale")
            receipt = await screen(server, showing("Sale #1"))
            finished_at = time.monotonic()
        finally:
            await first.killed()
            await second.killed()
    assert "Change: $7.00" in receipt.text
    assert await cli_helpers.scalar(database_url, "SELECT count(*) FROM sales") == 1
    assert took_over - killed_at < 15  # "within seconds": PostgreSQL frees the lock as the connection closes
    with capsys.disabled():
        print(
            f"\nfailover: first {first.process.pid} active; killed mid-checkout; second {second.process.pid} "
            f"active {took_over - killed_at:.1f} s later; checkout finished on it {finished_at - killed_at:.1f} s "
            f"after the kill, 1 sale"
        )


async def test_a_second_bot_on_the_same_sqlite_file_says_so_and_exits(database_url, tmp_path):
    if "sqlite" not in database_url:
        pytest.skip("SQLite only")
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        first = Bot(server, tmp_path, database_url)
        await first.start()
        try:
            await first.logged(ACTIVE)
            second = await start_bot(tmp_path, bot_env(tmp_path, database_url, server.url), "run")
            _, err = await asyncio.wait_for(second.communicate(), STARTUP_LIMIT)
        finally:
            await first.killed()
    told = [line for line in err.decode().splitlines() if line and not line[:4].isdigit()]
    assert second.returncode == 1
    assert told == [told[-1]] and "Another bot process is already running on" in told[-1]


async def test_the_lock_passes_on_when_the_active_bots_connection_drops(database_url, tmp_path):
    if "postgresql" not in database_url:
        pytest.skip("the advisory lock is PostgreSQL's")
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        first, second = Bot(server, tmp_path, database_url), Bot(server, tmp_path, database_url)
        await first.start()
        try:
            await first.logged(ACTIVE)
            await second.start()
            await second.logged(STANDBY)
            # The database drops the connection that holds the lock (a network cut, a restart).
            await cli_helpers.execute(
                database_url,
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            await first.logged("Lost the connection that holds the active-bot lock")
            await second.logged(ACTIVE)
            assert await asyncio.wait_for(first.process.wait(), STARTUP_LIMIT) == 0  # it stopped itself
            await server.queue_message(ADMIN_ID, "/start", "Ada")
            await screen(server, showing("Hello, Ada!"))
        finally:
            await first.killed()
            await second.killed()
