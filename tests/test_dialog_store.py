"""The dialog store (bot/persistence.py over db/dialogs.py): one upsert or delete per row that
changes, nothing for a row that already holds what would be written, and what it remembers of the
rows never makes it skip a write the database needs (after a restart, a row it could not read, a
write that failed)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from bot.persistence import FORMAT_VERSION, DbPersistence, dumps
from db import dialogs
from db.engine import transaction
from db.models import DialogConversation, DialogData

CHAT, USER = 41, 42
KEY = (CHAT, USER)


async def started(session_factory) -> DbPersistence:
    """A persistence as PTB starts it: every kind read once."""
    persistence = DbPersistence(session_factory)
    await persistence.get_conversations("checkout")
    await persistence.get_chat_data()
    await persistence.get_user_data()
    return persistence


async def rows(session_factory) -> dict:
    async with session_factory() as session:
        steps = (await session.execute(select(DialogConversation.name, DialogConversation.state))).all()
        data = (await session.execute(select(DialogData.kind, DialogData.owner_id, DialogData.data))).all()
    return {"steps": dict(steps), "data": {(kind, owner): text for kind, owner, text in data}}


class Writes:
    """INSERT, UPDATE and DELETE statements sent while counting."""

    def __init__(self, session_factory) -> None:
        self.seen: list[str] = []
        event.listen(session_factory.kw["bind"].sync_engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            self.seen.append(statement)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


async def test_a_step_is_an_upsert_per_changed_row_and_a_repeat_writes_nothing(session_factory):
    persistence = await started(session_factory)
    writes = Writes(session_factory)
    await persistence.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=(USER, {}))
    assert len(writes.take()) == 2  # the step and the chat's draft; the user's empty data had no row
    assert await rows(session_factory) == {
        "steps": {"checkout": dumps("pay")},
        "data": {("chat", CHAT): dumps({"draft": 1})},
    }

    await persistence.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=(USER, {}))
    await persistence.update_chat_data(CHAT, {"draft": 1})  # PTB's timer offers the same again
    assert writes.take() == []

    await persistence.store_step(step=("checkout", KEY, "confirm"), chat=(CHAT, {"draft": 2}), user=(USER, {}))
    assert [s.split()[0] for s in writes.take()] == ["INSERT", "INSERT"]  # upserts: no read first
    await persistence.store_step(step=("checkout", KEY, None), chat=(CHAT, {}), user=None)
    assert await rows(session_factory) == {"steps": {}, "data": {}}


async def test_after_a_restart_the_rows_read_at_start_are_what_it_compares_with(session_factory):
    before = await started(session_factory)
    await before.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=(USER, {"u": 1}))

    after = await started(session_factory)
    assert await after.get_conversations("checkout") == {KEY: "pay"}
    assert (await after.get_user_data())[USER] == {"u": 1}
    writes = Writes(session_factory)
    await after.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=(USER, {"u": 1}))
    assert writes.take() == []
    # Emptied since: the rows read at start must go, though nothing was written by this process.
    await after.store_step(step=("checkout", KEY, None), chat=(CHAT, {}), user=(USER, {}))
    assert await rows(session_factory) == {"steps": {}, "data": {}}


async def test_a_row_it_could_not_read_is_replaced_or_removed_by_the_next_write(session_factory):
    async with transaction(session_factory) as session:
        await dialogs.set_data(session, kind=dialogs.CHAT, owner_id=CHAT, data="{}", version=FORMAT_VERSION + 1)
        await dialogs.set_data(session, kind=dialogs.USER, owner_id=USER, data="not json", version=FORMAT_VERSION)
    persistence = await started(session_factory)
    assert CHAT not in await persistence.get_chat_data()  # discarded, with a log line

    await persistence.store_step(step=None, chat=(CHAT, {}), user=(USER, {"u": 2}))
    assert await rows(session_factory) == {"steps": {}, "data": {("user", USER): dumps({"u": 2})}}


async def test_a_write_that_failed_is_not_taken_for_stored(session_factory, monkeypatch):
    persistence = await started(session_factory)
    real = dialogs.set_data

    async def fails_for_the_user(session, *, kind, **kwargs):
        if kind == dialogs.USER:
            raise RuntimeError("the database went away")
        await real(session, kind=kind, **kwargs)

    monkeypatch.setattr(dialogs, "set_data", fails_for_the_user)
    with pytest.raises(RuntimeError):
        await persistence.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=(USER, {"u": 1}))
    monkeypatch.setattr(dialogs, "set_data", real)
    assert await rows(session_factory) == {"steps": {}, "data": {}}  # rolled back, all of it

    await persistence.store_step(step=("checkout", KEY, "pay"), chat=(CHAT, {"draft": 1}), user=None)
    assert await rows(session_factory) == {
        "steps": {"checkout": dumps("pay")},
        "data": {("chat", CHAT): dumps({"draft": 1})},
    }


async def test_the_upserts_replace_rows_on_both_backends(session_factory):
    async with transaction(session_factory) as session:
        for text in ("a", "b"):
            await dialogs.set_conversation(session, name="n", key="[1]", state=text, version=FORMAT_VERSION)
            await dialogs.set_data(session, kind=dialogs.CHAT, owner_id=1, data=text, version=FORMAT_VERSION)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(DialogConversation)) == 1
        assert (await session.get(DialogConversation, ("n", "[1]"))).state == "b"
        assert (await session.get(DialogData, ("chat", 1))).data == "b"
