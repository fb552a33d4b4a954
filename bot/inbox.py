"""At-least-once delivery: every update is in the inbox (db/inbox.py) before Telegram is told.

Long polling acknowledges updates by asking for the next batch with a higher offset, so the
getUpdates request itself is wrapped (`InboxRequest`): the batch it fetched is committed to the
inbox before it is handed to PTB's poller, which can only acknowledge it on its next request.
The update processor (bot/processor.py) skips an update already done and marks each done after
its handler (and the replies) finished; it is told which updates a batch brought that the inbox
had never seen, and does not ask the database about those (they cannot be done). `drain` queues
whatever a crash left undone, first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from db import inbox
from db.engine import SessionFactory, transaction
from db.models import utcnow

log = logging.getLogger(__name__)
KEEP_DONE = timedelta(days=2)  # Telegram keeps an unacknowledged update for a day at most


async def store(
    session_factory: SessionFactory, updates: list[dict], on_new: Callable[[list[int]], None] | None = None
) -> list[int]:
    """Commit fetched updates (Telegram's JSON objects) to the inbox; then tell `on_new` (the
    update processor) which of them were new, so it need not ask whether they are done."""
    pairs = [(u["update_id"], json.dumps(u, ensure_ascii=False)) for u in updates if "update_id" in u]
    if not pairs:
        return []
    async with transaction(session_factory) as session:
        new = await inbox.receive(session, updates=pairs)
    if on_new is not None:
        on_new(new)  # committed: none of them can be lost now, and none is done
    return new


class InboxRequest(BaseRequest):
    """The getUpdates request, storing each fetched batch in the inbox before it is returned."""

    def __init__(
        self,
        inner: BaseRequest,
        session_factory: SessionFactory,
        on_new: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.inner, self.session_factory, self.on_new = inner, session_factory, on_new

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, **kwargs):
        status, payload = await self.inner.do_request(url, method, request_data, **kwargs)
        if url.endswith("/getUpdates") and status == 200:
            await store(self.session_factory, json.loads(payload).get("result") or [], self.on_new)
        return status, payload


async def drain(application: Application, session_factory: SessionFactory) -> int:
    """Queue the updates a crash left undone, oldest first, before polling brings new ones."""
    async with transaction(session_factory) as session:
        await inbox.prune(session, done_before=utcnow() - KEEP_DONE)
        pending = await inbox.pending(session)
    for _, payload in pending:
        await application.update_queue.put(Update.de_json(json.loads(payload), application.bot))
    if pending:
        log.info("handling %d update(s) left unanswered by the previous run first", len(pending))
    return len(pending)
