"""The inbox tells the update processor which updates it has just stored as new: those run without
asking the database whether they are done; any other is looked up, and one done is skipped."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from telegram import Update

from bot import inbox as bot_inbox
from bot import processor as processor_module
from bot.processor import PerChatUpdateProcessor
from db import inbox
from db.engine import transaction
from db.models import InboxUpdate


class Spy:
    def __init__(self, monkeypatch) -> None:
        self.asked: list[int] = []
        real = inbox.is_done

        async def is_done(session, *, update_id: int) -> bool:
            self.asked.append(update_id)
            return await real(session, update_id=update_id)

        monkeypatch.setattr(processor_module.inbox, "is_done", is_done)


async def handle(processor: PerChatUpdateProcessor, update_id: int, ran: list[int]) -> None:
    async def work() -> None:
        ran.append(update_id)

    await processor.process_update(Update(update_id=update_id), work())


async def done_ids(session_factory) -> set[int]:
    async with session_factory() as session:
        return set((await session.scalars(select(InboxUpdate.update_id).where(InboxUpdate.done_at.is_not(None)))).all())


async def test_receive_stores_each_update_once_and_says_which_were_new(session_factory):
    async with transaction(session_factory) as session:
        assert sorted(await inbox.receive(session, updates=[(1, "{}"), (2, "{}"), (2, "{}")])) == [1, 2]
    async with transaction(session_factory) as session:
        assert await inbox.receive(session, updates=[(2, '{"again": 1}'), (3, "{}")]) == [3]
    async with session_factory() as session:
        stored = dict((await session.execute(select(InboxUpdate.update_id, InboxUpdate.payload))).all())
    assert stored == {1: "{}", 2: "{}", 3: "{}"}  # the first copy is kept


async def test_a_new_update_runs_unasked_and_a_redelivered_done_one_is_skipped(session_factory, monkeypatch):
    spy = Spy(monkeypatch)
    processor = PerChatUpdateProcessor(4, session_factory)
    ran: list[int] = []

    assert await bot_inbox.store(session_factory, [{"update_id": 10}, {"update_id": 11}], processor.received) == [
        10,
        11,
    ]
    await handle(processor, 10, ran)
    await handle(processor, 11, ran)
    assert ran == [10, 11] and spy.asked == []  # new: none of them could be done
    assert await done_ids(session_factory) == {10, 11}

    # Telegram delivers 11 again (the bot died before it acknowledged it): not new, so looked up.
    assert await bot_inbox.store(session_factory, [{"update_id": 11}], processor.received) == []
    await handle(processor, 11, ran)
    assert ran == [10, 11] and spy.asked == [11]


async def test_an_update_not_stored_as_new_is_looked_up_and_run_once(session_factory, monkeypatch):
    spy = Spy(monkeypatch)
    processor = PerChatUpdateProcessor(4, session_factory)
    async with transaction(session_factory) as session:  # left undone by a crash: the drain queues it
        await inbox.receive(session, updates=[(20, "{}")])
    ran: list[int] = []
    await handle(processor, 20, ran)
    await handle(processor, 20, ran)  # and Telegram delivered it again
    assert ran == [20] and spy.asked == [20, 20]
    assert await done_ids(session_factory) == {20}


async def test_an_update_handled_twice_at_once_runs_once_even_when_new(session_factory):
    processor = PerChatUpdateProcessor(4, session_factory)
    await bot_inbox.store(session_factory, [{"update_id": 30}], processor.received)
    ran: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        await release.wait()
        ran.append(30)

    first = asyncio.create_task(processor.process_update(Update(update_id=30), slow()))
    await started.wait()
    await handle(processor, 30, ran)  # a second copy while the first runs: skipped
    release.set()
    await first
    assert ran == [30]
    assert await done_ids(session_factory) == {30}
