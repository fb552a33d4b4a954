"""One active bot per database: the others wait on standby and take over when it dies.

PostgreSQL: the active process holds a session-level advisory lock whose key comes from the bot's
id (the number before the token's colon), so every process of one bot contends for the same lock
whatever its host or API URL. `pg_advisory_lock` blocks in the server until the lock is free: a
standby waits without polling anything, and the moment the holder's connection closes (the
process died, the machine went away, the connection dropped) PostgreSQL gives the lock to the
next one, which starts within seconds. The holder checks its lock connection every
HEARTBEAT_SECONDS; if that connection is gone, another process may already hold the lock, so
this one stops at once (SIGTERM to itself) rather than work beside it.

While it waits in webhook mode, the standby answers every request on the webhook port with 503
and Retry-After, so Telegram (or the load balancer) redelivers the update later; only the lock
holder processes updates.

SQLite is one process per database file: a second `run` or `webhook` on the same file finds the
file lock taken (`<database>.bot.lock`, flock) and exits with one line.

The lock lives on its own thread and event loop, apart from PTB's: the connection must outlive
whatever loop PTB's runner creates and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import is_sqlite, make_engine
from db.settings import Settings

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


class AlreadyRunning(Exception):
    """Another bot process already serves this SQLite database."""


def lock_key(token: str) -> int:
    """A signed 64-bit advisory-lock key from the bot's id (never from the secret part)."""
    bot_id = token.split(":", 1)[0]
    return int.from_bytes(hashlib.sha256(f"pos-bot active:{bot_id}".encode()).digest()[:8], "big", signed=True)


def become_active(settings: Settings, *, webhook: bool = False) -> object:
    """Block until this process is the active bot; return a handle to keep for the process's life."""
    if is_sqlite(settings.database_url):
        return _sqlite_file_lock(settings.database_url)
    leader = _PostgresLeader(settings, webhook=webhook)
    leader.wait()
    return leader


def _sqlite_file_lock(url: str):
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(f"{database}.bot.lock")
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"Another bot process is already running on {database}: SQLite serves one bot process "
            "(stop it first, or use PostgreSQL for a standby)"
        ) from None
    log.info("This process (%s) is the active bot on %s", PROCESS, database)
    return handle  # the lock lasts as long as the file stays open: the process's life


class _PostgresLeader:
    def __init__(self, settings: Settings, *, webhook: bool) -> None:
        self.settings = settings
        self.key = lock_key(settings.token())
        self.webhook = webhook
        self.active = threading.Event()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="leader-lock", daemon=True)

    def wait(self) -> None:
        self.thread.start()
        self.active.wait()  # no polling: the thread sets it when PostgreSQL grants the lock
        if self.failed is not None:
            raise self.failed

    def _run(self) -> None:
        try:
            asyncio.run(self._hold())
        except BaseException as error:  # never leave wait() hanging
            self.failed = error
            self.active.set()

    async def _hold(self) -> None:
        engine = make_engine(self.settings.database_url)
        conn = await engine.connect()
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})).scalar()
        if not got:
            log.info("Another bot process is active: this one (%s) waits on standby (lock %s)", PROCESS, self.key)
            await conn.commit()
            async with self._standby_webhook():
                await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
        await conn.commit()  # a session-level lock outlives the transaction; do not sit in one
        log.info("This process (%s) is the active bot (advisory lock %s on PostgreSQL)", PROCESS, self.key)
        self.active.set()
        try:
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                await conn.execute(text("SELECT 1"))
                await conn.commit()
        except Exception as error:
            log.error("Lost the connection that holds the active-bot lock (%s): stopping this process", error)
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
            await engine.dispose()

    @contextlib.asynccontextmanager
    async def _standby_webhook(self):
        """While on standby in webhook mode, answer the webhook port with 503 + Retry-After."""
        if not self.webhook:
            yield
            return

        async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                writer.write(
                    b"HTTP/1.1 503 Service Unavailable\r\n"
                    + f"Retry-After: {RETRY_AFTER_SECONDS}\r\n".encode()
                    + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(
            refuse, self.settings.webhook_listen, self.settings.webhook_port, reuse_address=True
        )
        try:
            yield
        finally:
            server.close()
            await server.wait_closed()


def fail_already_running(error: AlreadyRunning) -> int:
    print(str(error), file=sys.stderr)
    return 1
