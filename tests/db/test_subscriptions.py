"""Report subscriptions per chat."""

from __future__ import annotations

import pytest

from db import subscriptions
from db.errors import InvalidInput
from db.models import Role
from tests.factories import make_staff, run


async def test_subscribe_is_idempotent_and_unsubscribe_reports_change(session_factory):
    manager = await run(session_factory, make_staff, role=Role.MANAGER)
    first, created = await run(session_factory, subscriptions.subscribe, chat_id=-100500, actor=manager)
    assert created and first.created_by_id == manager.id
    again, created = await run(session_factory, subscriptions.subscribe, chat_id=-100500, actor=None)
    assert not created and again.id == first.id
    await run(session_factory, subscriptions.subscribe, chat_id=42)
    assert await run(session_factory, subscriptions.list_chat_ids) == [-100500, 42]
    assert await run(session_factory, subscriptions.unsubscribe, chat_id=-100500)
    assert not await run(session_factory, subscriptions.unsubscribe, chat_id=-100500)
    assert await run(session_factory, subscriptions.list_chat_ids) == [42]


async def test_subscribe_refuses_a_bad_chat_id(session_factory):
    with pytest.raises(InvalidInput):
        await run(session_factory, subscriptions.subscribe, chat_id="42")
