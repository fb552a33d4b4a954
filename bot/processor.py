"""Updates from one chat in order; different chats in parallel; no chat can stall another.

A cashier's taps must be handled in the order they were made, but a long report in a manager's
chat must not make the cashier wait. PTB's SimpleUpdateProcessor runs everything concurrently;
this one keeps a lock per chat.

An update first waits for its chat's turn, and only then for one of the global slots. PTB's own
`process_update` takes a slot before calling us, so a chat with hundreds of queued updates (a busy
group till, a stranger spamming a command while Telegram throttles our replies) would hold every
slot while waiting for its own lock, and every other chat would wait behind it. So the slots PTB
counts are unbounded, and the real ones are taken here, after the chat's lock.

With an inbox (bot/inbox.py) it also skips an update already answered (Telegram or the inbox
drain delivered it twice) and marks each one done after it ran: each update once in effect. The
inbox tells it which updates it has just stored as new (`received`): those cannot be done yet, so
it does not ask the database; any other (drained at start, delivered again, or never stored, as in
webhook mode) is looked up first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from db import inbox
from db.engine import SessionFactory, transaction

log = logging.getLogger(__name__)

_UNBOUNDED = 2**31 - 1  # PTB's semaphore: never the one that makes an update wait
FRESH_KEPT = 10_000  # new updates remembered; beyond that (never handled?) forget them: they are looked up


class PerChatUpdateProcessor(BaseUpdateProcessor):
    # What PTB's __init__ reads (through the property) to size its own semaphore: unbounded.
    _slot_count = _UNBOUNDED

    def __init__(self, max_concurrent_updates: int = 64, session_factory: SessionFactory | None = None) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        super().__init__(_UNBOUNDED)
        self._slot_count = max_concurrent_updates  # the real slots, taken in do_process_update
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._busy = 0
        self._inbox = session_factory  # None: no inbox (tests that drive process_update directly)
        self._running: set[int] = set()
        self._fresh: set[int] = set()  # stored as new by the inbox and not handled yet

    def received(self, new_ids: list[int]) -> None:
        """The inbox has just committed these updates as new: none of them is done."""
        if len(self._fresh) + len(new_ids) > FRESH_KEPT:
            self._fresh.clear()
        self._fresh.update(new_ids)

    @property
    def max_concurrent_updates(self) -> int:
        return self._slot_count

    @property
    def current_concurrent_updates(self) -> int:
        return self._busy  # the slots in use now (a snapshot)

    async def _in_a_slot(self, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            self._busy += 1
            try:
                await coroutine
            finally:
                self._busy -= 1

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await self._once(update, coroutine)
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:  # the chat's turn first, then a slot
                await self._once(update, coroutine)
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:  # forget idle chats so the dict does not grow forever
                del self._waiting[chat.id]
                self._locks.pop(chat.id, None)

    async def _once(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update unless the inbox says it was answered already; then mark it done."""
        update_id = update.update_id if isinstance(update, Update) and self._inbox is not None else None
        if update_id is None:
            await self._in_a_slot(coroutine)
            return
        if update_id in self._fresh:  # stored as new just now: only this run can mark it done
            self._fresh.discard(update_id)
            done = False
        else:
            async with self._inbox() as session:
                done = await inbox.is_done(session, update_id=update_id)
        if done or update_id in self._running:
            log.info("update %s was already handled: skipped", update_id)
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            return
        self._running.add(update_id)
        try:
            await self._in_a_slot(coroutine)
            async with transaction(self._inbox) as session:
                await inbox.mark_done(session, update_id=update_id)
        finally:
            self._running.discard(update_id)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
