"""Driving real bot processes over the fake Bot API server: start, kill, restart, talk, wait.

Every wait is bounded; the processes are started by the test and killed by pid.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.testing.fake_server import FakeBotApiServer
from bot.testing.fake_telegram import StoredMessage
from tests.test_run_modes import ADMIN_ID, STARTUP_LIMIT, bot_env, start_bot

_queries = itertools.count(1)
STEP_LIMIT = 120  # seconds for one reply on a loaded machine (a restart included)


class Bot:
    """One bot process at a time over one fake server (restartable)."""

    def __init__(self, server: FakeBotApiServer, tmp_path: Path, database_url: str, **env: str) -> None:
        self.server, self.tmp_path = server, tmp_path
        self.env = bot_env(tmp_path, database_url, server.url, **env)
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[tuple[float, str]] = []  # (monotonic time, line) of every process's stderr
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.process = await start_bot(self.tmp_path, self.env, "run")
        self._reader = asyncio.create_task(self._read_log(self.process))

    async def _read_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():  # read all along: a full pipe would block the bot
            self.log.append((time.monotonic(), line.decode(errors="replace").rstrip()))

    async def logged(self, text: str, limit: float = STEP_LIMIT) -> float:
        """When the process first logged a line containing `text` (waiting for it if need be)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for moment, line in self.log:
                if text in line:
                    return moment
            await asyncio.sleep(0.05)
        pytest.fail(f"the bot never logged {text!r}; its log ends with {[line for _, line in self.log[-8:]]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, exactly like a power cut of the process."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def killed(self) -> None:
        self.kill()
        if self.process is not None:
            await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def restart(self) -> None:
        await self.killed()
        await self.start()


def messages(server: FakeBotApiServer, chat_id: int = ADMIN_ID) -> list[StoredMessage]:
    return server.fake.chat_messages(chat_id)


async def screen(
    server: FakeBotApiServer, found: Callable[[StoredMessage], bool], chat_id: int = ADMIN_ID, limit: float = STEP_LIMIT
) -> StoredMessage:
    """The newest message in the chat that `found` accepts, once there is one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for message in reversed(messages(server, chat_id)):
            if found(message):
                return message
        await asyncio.sleep(0.02)
    shown = [m.text[:80] for m in messages(server, chat_id)[-5:]]
    pytest.fail(f"no such screen within {limit} s; the chat ends with {shown}")


def showing(text: str) -> Callable[[StoredMessage], bool]:
    return lambda message: text in message.text


async def press(server: FakeBotApiServer, label: str, chat_id: int = ADMIN_ID, first_name: str = "Ada") -> None:
    """Press the button `label` on the newest message that has it, as Telegram would send it."""
    message = await screen(server, lambda m: any(text == label for text, _ in m.buttons), chat_id)
    data = next(data for text, data in message.buttons if text == label)
    user = {"id": chat_id, "is_bot": False, "first_name": first_name}
    await server.queue_update(
        {
            "callback_query": {
                "id": f"pq{next(_queries)}",
                "from": user,
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": message.to_api(),
            }
        }
    )


__all__ = ["ADMIN_ID", "STARTUP_LIMIT", "Bot", "messages", "press", "screen", "showing"]
