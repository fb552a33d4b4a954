"""/start and /help by role; strangers are refused and nothing else runs."""

from __future__ import annotations

from tests.chat.conftest import ADMIN_ID, CASHIER_ID, STRANGER_ID


async def test_cashier_start_greets_by_role_and_lists_cashier_commands(cashier, fake):
    await cashier.send("/start")
    assert "Corner Shop" in cashier.text
    assert "cashier" in cashier.text
    assert "/cart" in cashier.text and "/checkout" in cashier.text
    assert "/report" not in cashier.text and "/staff" not in cashier.text
    assert "report" not in fake.commands_for_chat(CASHIER_ID)
    assert "cart" in fake.commands_for_chat(CASHIER_ID)


async def test_admin_sees_every_command(admin, fake):
    await admin.send("/help")
    for command in ("/cart", "/report", "/restock", "/staff", "/audit"):
        assert command in admin.text
    assert "staff" in fake.commands_for_chat(ADMIN_ID)


async def test_stranger_is_refused_with_their_id_and_nothing_else(stranger, fake):
    before = len(fake.calls_to("sendMessage"))
    await stranger.send("/start")
    assert f"Your Telegram id is {STRANGER_ID}" in stranger.text
    assert len(fake.calls_to("sendMessage")) == before + 1
    await stranger.send("milk")
    assert "not on its staff list" in stranger.text
    assert fake.commands_for_chat(STRANGER_ID) == ["start", "help"]


async def test_deactivated_staff_is_refused(former):
    await former.send("/cart")
    assert "not on its staff list" in former.text


async def test_stranger_button_press_is_answered_and_refused(stranger, fake):
    await stranger.send("/start")
    assert "not on its staff list" in stranger.text
    answer = await stranger.press("cart:clear:1")  # refused a moment ago: answered, silently
    assert answer is not None and not answer.get("text")
    assert len(fake.chat_messages(stranger.chat_id)) == 1


async def test_stranger_chatter_in_a_group_gets_no_reply(shop, fake):
    group = shop.client(STRANGER_ID, "Eve", chat_id=-100123)
    await group.send("hello everyone")
    assert fake.chat_messages(-100123) == []


async def test_cancel_outside_a_dialog(cashier):
    await cashier.send("/cancel")
    assert "nothing to cancel" in cashier.text.lower()
