"""/subscribe and /unsubscribe, in a private chat and in a store group."""

from __future__ import annotations

from db import subscriptions
from tests.chat.conftest import MANAGER_ID
from tests.chat.office_helpers import snapshot

GROUP_ID = -100_777


async def chat_ids(session_factory) -> list[int]:
    async with session_factory() as session:
        return await subscriptions.list_chat_ids(session)


async def test_subscribe_and_unsubscribe_a_private_chat(manager, session_factory):
    await manager.send("/subscribe")
    assert "This chat is subscribed" in manager.text
    assert "every day at 21:00" in manager.text and "Mondays at 08:00" in manager.text
    assert "every morning at 08:00" in manager.text and "Europe/Berlin" in manager.text
    assert await chat_ids(session_factory) == [MANAGER_ID]

    await manager.send("/subscribe")
    assert "already subscribed" in manager.text
    assert await chat_ids(session_factory) == [MANAGER_ID]

    await manager.send("/unsubscribe")
    assert "no longer get reports" in manager.text
    assert await chat_ids(session_factory) == []
    await manager.send("/unsubscribe")
    assert "was not subscribed" in manager.text


async def test_a_manager_subscribes_a_store_group(shop, manager, session_factory):
    group = shop.client(MANAGER_ID, "Mia", chat_id=GROUP_ID)
    await group.send("/subscribe@pos_test_bot")
    assert "This chat is subscribed" in group.text
    await manager.send("/subscribe")
    assert sorted(await chat_ids(session_factory)) == [GROUP_ID, MANAGER_ID]
    await group.send("/unsubscribe")
    assert await chat_ids(session_factory) == [MANAGER_ID]


async def test_cashier_cannot_subscribe_or_unsubscribe(shop, manager, cashier, session_factory):
    await manager.send("/subscribe")
    before = await snapshot(session_factory)
    await cashier.send("/subscribe")
    assert "needs the manager role" in cashier.text
    group = shop.client(cashier.user_id, "Cal", chat_id=GROUP_ID)
    await group.send("/subscribe")
    assert "needs the manager role" in group.text
    await cashier.send("/unsubscribe")
    assert "needs the manager role" in cashier.text
    assert await snapshot(session_factory) == before
