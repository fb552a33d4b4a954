"""At-least-once updates (issue 15): SIGKILL at random moments during a burst from several chats,
restart, and every update was answered, none applied twice.

The real bot runs over the fake Bot API server; the server forgets an update only when the bot
asks for the next ones (the offset), as Telegram does. A /restock carries its update's key, so a
replay after a crash (its stock moved, its answer never sent) moves nothing and answers again.
"""

from __future__ import annotations

import asyncio
import random

from bot.testing.fake_server import FakeBotApiServer
from bot.testing.fake_telegram import FAKE_TOKEN
from tests import cli_helpers
from tests.process_helpers import STEP_LIMIT, Bot, messages, screen, showing

database_url = cli_helpers.database_url  # fixture: a fresh database the bot migrates

CHATS = (4242, 4243, 4244)  # three admins: three chats at once
PER_CHAT = 8
KILLS = 3
DONE = "SELECT count(*) FROM update_inbox WHERE done_at IS NOT NULL"


def restocked(server: FakeBotApiServer, chat_id: int) -> int:
    return sum("Restocked" in m.text for m in messages(server, chat_id))


async def until(condition, limit: float = STEP_LIMIT * 2) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the fake records replies from another task
            await asyncio.sleep(0.02)


async def test_a_burst_killed_at_random_moments_is_answered_once_in_effect(database_url, tmp_path):
    chance = random.Random(15)
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        bot = Bot(server, tmp_path, database_url, ADMIN_IDS=",".join(map(str, CHATS)))
        await bot.start()
        try:
            await server.queue_message(CHATS[0], "/add Tea | 1.00 | 0 | | TEA", "Ada")
            await screen(server, showing("✅ Added."), CHATS[0])
            for n in range(PER_CHAT):
                for chat_id in CHATS:
                    await server.queue_message(chat_id, f"/restock TEA 1 delivery {n}", f"Admin {chat_id}")
            total = PER_CHAT * len(CHATS)
            for kill in range(1, KILLS + 1):
                # Wait for some answers, then kill at a random moment while the rest are in hand.
                await until(lambda k=kill: sum(restocked(server, c) for c in CHATS) >= k * total // (KILLS + 2))
                await asyncio.sleep(chance.uniform(0, 0.3))
                await bot.restart()
            await until(lambda: all(restocked(server, c) >= PER_CHAT for c in CHATS))
            async with asyncio.timeout(STEP_LIMIT):  # and the inbox says every update is done
                while await cli_helpers.scalar(database_url, DONE) < total + 1:  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.2)
        finally:
            await bot.killed()

    # Every update answered (a replay may answer twice; none goes unanswered) ...
    assert all(restocked(server, c) >= PER_CHAT for c in CHATS)
    # ... and applied exactly once: one movement per /restock, and the stock their sum.
    assert await cli_helpers.scalar(database_url, "SELECT stock FROM products WHERE sku = 'TEA'") == total
    restocks = "SELECT count(*) FROM stock_movements WHERE reason = 'restock'"
    assert await cli_helpers.scalar(database_url, restocks) == total
    assert await cli_helpers.scalar(database_url, "SELECT count(*) FROM update_inbox WHERE done_at IS NULL") == 0
    assert server.pending_updates == 0
