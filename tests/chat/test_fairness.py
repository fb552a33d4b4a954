"""No chat can stall another, and strangers cost one refusal every few minutes.

The conversations:

    Group till (Cleo, 300 × /start, every reply slow: Telegram is throttling the group)
    Cal, in his own chat, meanwhile: /cart → "🛒 The cart is empty…" at once, while the group's
    updates are still queued behind their slow replies. Then the group's replies all arrive, in order.

    Eve (a stranger): /start → "Sorry, this is a private shop bot… Your Telegram id is 9666";
    /start, /cart, a button … → nothing (counted in the log); a few minutes later /start → refused
    once more.
"""

from __future__ import annotations

import asyncio
import logging

from handlers import access
from tests.chat.conftest import CASHIER2_ID, CASHIER_ID, STRANGER_ID

GROUP = -100777
FLOOD = 300
HANG_GUARD = 60  # seconds: only so that a broken build fails instead of hanging; nothing is timed


async def test_a_flooded_chat_does_not_stall_a_cashier_in_another_chat(shop, fake):
    application = shop.application
    group_till = shop.client(CASHIER2_ID, "Cleo", chat_id=GROUP)
    cal = shop.client(CASHIER_ID, "Cal")
    gate = fake.hold(GROUP)  # every reply to the group waits here: a slow, throttled chat
    await application.start()  # the update fetcher and the real update processor
    try:
        for _ in range(FLOOD):
            await application.update_queue.put(group_till.message_update("/start"))
        replied = fake.reply_seen(CASHIER_ID)
        await application.update_queue.put(cal.message_update("/cart"))

        await asyncio.wait_for(replied.wait(), HANG_GUARD)
        assert "The cart is empty" in cal.text
        assert fake.chat_messages(GROUP) == []  # the flood is still queued behind its slow replies
        # The group holds at most one slot (its current update); its queued updates hold none.
        assert application.update_processor.current_concurrent_updates <= 1

        gate.set()
        await asyncio.wait_for(application.update_queue.join(), HANG_GUARD)
        assert len(fake.chat_messages(GROUP)) == FLOOD
        assert application.update_processor.current_concurrent_updates == 0
    finally:
        gate.set()
        await application.stop()


async def test_a_stranger_is_refused_once_every_few_minutes(shop, fake, stranger, monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(access, "_clock", lambda: now[0])
    caplog.set_level(logging.INFO, logger="handlers.access")

    await stranger.send("/start")
    assert f"Your Telegram id is {STRANGER_ID}" in stranger.text
    for text in ("/start", "/cart", "milk", "/start"):
        await stranger.send(text)
    answer = await stranger.press("cart:clear:1:1")
    assert answer is not None and not answer.get("text")  # answered, silently
    assert len(fake.chat_messages(STRANGER_ID)) == 1
    assert "5 since the last refusal" in caplog.text

    now[0] += access.STRANGER_REFUSAL_INTERVAL
    await stranger.send("/start")
    assert len(fake.chat_messages(STRANGER_ID)) == 2 and f"Your Telegram id is {STRANGER_ID}" in stranger.text


async def test_strangers_spamming_a_group_get_one_reply_each(shop, fake):
    eve = shop.client(STRANGER_ID, "Eve", chat_id=GROUP)
    mallory = shop.client(STRANGER_ID + 1, "Mallory", chat_id=GROUP)
    for _ in range(50):
        await eve.send("/start@pos_test_bot")
        await mallory.send("/start@pos_test_bot")
    texts = [m.text for m in fake.chat_messages(GROUP)]
    assert len(texts) == 2
    assert str(STRANGER_ID) in texts[0] and str(STRANGER_ID + 1) in texts[1]
