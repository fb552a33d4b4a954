"""/staff: list, add, remove, change roles; the last-admin rule; ADMIN_IDS while there is no admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import startup
from bot.testing.chat import FakeShop
from db import staff as staff_db
from db.engine import transaction
from db.models import Role, Staff
from tests.chat.conftest import ADMIN_ID, CASHIER_ID, FORMER_ID, MANAGER_ID
from tests.chat.security_helpers import audit_entries, db_checksum, staff_row

NEW_ID = 7_000_123


async def test_staff_lists_everyone_with_role_and_state(admin):
    await admin.send("/staff")
    text = admin.text
    assert "4 active, 1 removed" in text
    assert f"Mia Manager ({MANAGER_ID}) — manager" in text
    assert f"Cal Cashier ({CASHIER_ID}) — cashier" in text
    assert f"Fred Former ({FORMER_ID}) — cashier, removed" in text
    assert f"user {ADMIN_ID} — admin" in text  # ADMIN_IDS made her admin without a name
    # admins first, removed people last
    assert text.index(str(ADMIN_ID)) < text.index(str(MANAGER_ID)) < text.index(str(CASHIER_ID))
    assert text.index(str(CASHIER_ID)) < text.index(str(FORMER_ID))
    assert "Cal Cashier · cashier" in admin.buttons


async def test_add_staff_member_gets_role_menu_and_access(admin, shop, session_factory, fake):
    await admin.send(f"/staff add {NEW_ID} manager Nora  Newcomer")
    assert f"Nora Newcomer ({NEW_ID}) is now on the staff as manager" in admin.text
    row = await staff_row(session_factory, NEW_ID)
    assert row is not None and row.active and row.role is Role.MANAGER and row.name == "Nora Newcomer"
    assert "report" in fake.commands_for_chat(NEW_ID) and "staff" not in fake.commands_for_chat(NEW_ID)
    nora = shop.client(NEW_ID, "Nora")
    await nora.send("/help")
    assert "Your commands (manager)" in nora.text
    entries = await audit_entries(session_factory)
    assert entries[-1].action == "staff_add" and entries[-1].actor_telegram_id == ADMIN_ID
    assert str(NEW_ID) in entries[-1].details


async def test_add_without_name_and_readd_of_a_former_member(admin, former, session_factory, fake):
    await admin.send(f"/staff add {FORMER_ID} cashier")
    assert f"Fred Former ({FORMER_ID}) is now on the staff as cashier" in admin.text
    assert (await staff_row(session_factory, FORMER_ID)).active
    assert "cart" in fake.commands_for_chat(FORMER_ID)
    await former.send("/help")
    assert "Your commands (cashier)" in former.text


async def test_remove_staff_member_loses_access_and_menu(admin, cashier, session_factory, fake):
    assert "cart" in fake.commands_for_chat(CASHIER_ID)
    await admin.send(f"/staff remove {CASHIER_ID}")
    assert f"Removed Cal Cashier ({CASHIER_ID})" in admin.text
    assert not (await staff_row(session_factory, CASHIER_ID)).active
    assert fake.commands_for_chat(CASHIER_ID) == ["start", "help"]
    await cashier.send("/cart")
    assert "not on its staff list" in cashier.text
    assert (await audit_entries(session_factory))[-1].action == "staff_remove"


async def test_role_change_refreshes_menu(admin, cashier, session_factory, fake):
    await admin.send(f"/staff role {CASHIER_ID} manager")
    assert f"Cal Cashier ({CASHIER_ID}) is now manager" in admin.text
    assert (await staff_row(session_factory, CASHIER_ID)).role is Role.MANAGER
    assert "report" in fake.commands_for_chat(CASHIER_ID)
    await cashier.send("/help")
    assert "Your commands (manager)" in cashier.text
    entry = (await audit_entries(session_factory))[-1]
    assert entry.action == "staff_role" and "cashier → manager" in entry.details


@pytest.mark.parametrize(
    "command",
    [
        "/staff add",
        "/staff add 12ab cashier",
        f"/staff add {NEW_ID}",
        f"/staff add {NEW_ID} chef",
        "/staff add -100200300 cashier",
        "/staff add 0 cashier",
        "/staff add 99999999999999999 admin",
        "/staff remove",
        "/staff remove Fred",
        f"/staff remove {CASHIER_ID} extra",
        f"/staff role {CASHIER_ID}",
        f"/staff role {CASHIER_ID} owner",
        "/staff fire 9003",
        "/staff help",
    ],
)
async def test_bad_staff_commands_show_usage_and_change_nothing(admin, session_factory, command):
    before = await db_checksum(session_factory)
    await admin.send(command)
    assert "/staff add <telegram id> <cashier|manager|admin> [name]" in admin.text
    assert await db_checksum(session_factory) == before


async def test_unknown_person_is_a_clear_message(admin, session_factory):
    before = await db_checksum(session_factory)
    await admin.send("/staff remove 123456")
    assert "No active staff member with Telegram id 123456" in admin.text
    await admin.send("/staff role 123456 manager")
    assert "No active staff member with Telegram id 123456" in admin.text
    assert await db_checksum(session_factory) == before


async def test_last_admin_cannot_be_removed_or_demoted(admin, session_factory, fake):
    before = await db_checksum(session_factory)
    for command in (f"/staff remove {ADMIN_ID}", f"/staff role {ADMIN_ID} manager", f"/staff add {ADMIN_ID} cashier"):
        await admin.send(command)
        assert "is the last admin and cannot be" in admin.text
        assert "add another admin first" in admin.text
    assert await db_checksum(session_factory) == before
    assert "staff" in fake.commands_for_chat(ADMIN_ID)
    # buttons are held to the same rule
    await admin.press(f"staff:role:{ADMIN_ID}:{Role.CASHIER.rank}")
    assert "is the last admin" in admin.last_answer["text"]
    await admin.press(f"staff:rmok:{ADMIN_ID}")
    assert "is the last admin" in admin.last_answer["text"]
    assert await db_checksum(session_factory) == before


async def test_with_a_second_admin_the_first_may_step_down(admin, manager, session_factory, fake):
    await admin.send(f"/staff role {MANAGER_ID} admin")
    await admin.send(f"/staff role {ADMIN_ID} cashier")
    assert "is now cashier" in admin.text
    assert (await staff_row(session_factory, ADMIN_ID)).role is Role.CASHIER
    assert "staff" not in fake.commands_for_chat(ADMIN_ID)
    await admin.send("/staff")
    assert "That needs the admin role; yours is cashier." in admin.text
    # now Mia is the last admin
    await manager.send(f"/staff remove {MANAGER_ID}")
    assert "is the last admin" in manager.text


async def test_an_admin_removed_with_staff_remove_stays_removed_after_a_restart(
    admin, manager, shop, settings, session_factory, fake
):
    await admin.send(f"/staff role {MANAGER_ID} admin")
    await manager.send(f"/staff remove {ADMIN_ID}")
    assert "can no longer use the bot" in manager.text
    assert "listed in ADMIN_IDS" in manager.text and "stay removed after a restart" in manager.text
    await startup(shop.application)  # what every run mode does on start
    async with FakeShop(settings, session_factory) as restarted:
        await restarted.client(ADMIN_ID, "Ada").send("/staff")
        assert "not on its staff list" in restarted.fake.chat_messages(ADMIN_ID)[-1].text
    assert not (await staff_row(session_factory, ADMIN_ID)).active


async def test_admin_ids_make_admins_only_while_the_shop_has_none(shop, session_factory, fake):
    # The only admin was removed behind the bot's back (a database edited by hand): no admin left.
    async with transaction(session_factory) as session:
        row = await session.scalar(select(Staff).where(Staff.telegram_id == ADMIN_ID))
        row.active = False
    await startup(shop.application)
    row = await staff_row(session_factory, ADMIN_ID)
    assert row.active and row.role is Role.ADMIN
    assert "staff" in fake.commands_for_chat(ADMIN_ID)
    # and a re-run changes nothing
    before = await db_checksum(session_factory)
    await startup(shop.application)
    assert await db_checksum(session_factory) == before


async def test_removing_someone_in_admin_ids_says_what_a_restart_does(admin, manager, session_factory):
    await admin.send(f"/staff role {MANAGER_ID} admin")
    await manager.send("/staff")
    await manager.tap(r"· admin$")  # Ada (no name) is listed by her id
    await manager.tap("Remove")
    assert "listed in ADMIN_IDS" in manager.text and "Yes, remove" in manager.buttons
    await manager.tap("Yes, remove")
    assert "stay removed after a restart" in manager.text


# --- buttons -----------------------------------------------------------------------------------
async def test_role_change_and_removal_by_buttons(admin, session_factory, fake):
    await admin.send("/staff")
    await admin.tap("Cal Cashier · cashier")
    assert "Role: cashier" in admin.text
    assert admin.buttons == ["Make manager", "Make admin", "Remove", "‹ Staff"]
    await admin.tap("Make manager")
    assert f"Cal Cashier ({CASHIER_ID}) is now manager" in admin.text
    assert (await staff_row(session_factory, CASHIER_ID)).role is Role.MANAGER
    assert "report" in fake.commands_for_chat(CASHIER_ID)

    await admin.tap("Remove")
    assert "Remove Cal Cashier" in admin.text
    await admin.tap("No")
    assert (await staff_row(session_factory, CASHIER_ID)).active
    await admin.tap("Remove")
    await admin.tap("Yes, remove")
    assert "Removed Cal Cashier" in admin.text
    assert not (await staff_row(session_factory, CASHIER_ID)).active
    assert fake.commands_for_chat(CASHIER_ID) == ["start", "help"]

    await admin.tap("Cashier")  # add back
    assert "is now on the staff as cashier" in admin.text
    assert (await staff_row(session_factory, CASHIER_ID)).active
    # every screen edited the one /staff message in place
    assert len([m for m in admin.messages if m.buttons]) == 1


async def test_staff_list_pages(admin, session_factory):
    async with transaction(session_factory) as session:
        for n in range(12):
            await staff_db.add_staff(session, telegram_id=8_000_000 + n, role=Role.CASHIER, name=f"Temp {n:02}")
    await admin.send("/staff")
    assert "16 active, 1 removed" in admin.text
    assert "1/2" in admin.buttons
    await admin.tap("›")
    assert "2/2" in admin.buttons and "Fred Former" in admin.text
    await admin.tap("‹")
    assert "1/2" in admin.buttons


@pytest.mark.parametrize(
    "payload",
    [
        "staff:role:9003",
        "staff:role:9003:7",
        "staff:role:abc:1",
        "staff:role:-5:1",
        "staff:rmok",
        "staff:readd:9003:0",
        "staff:show:123456",
        "staff:remove:123456",
        "staff:list:x",
    ],
)
async def test_forged_staff_buttons_change_nothing(admin, session_factory, payload):
    await admin.send("/staff")
    before = await db_checksum(session_factory)
    answer = await admin.press(payload)
    assert answer["show_alert"] is True
    assert await db_checksum(session_factory) == before


async def test_readd_button_for_an_active_member_is_refused(admin, session_factory):
    await admin.send("/staff")
    before = await db_checksum(session_factory)
    answer = await admin.press(f"staff:readd:{CASHIER_ID}:{Role.ADMIN.rank}")
    assert "already on the staff" in answer["text"]
    assert await db_checksum(session_factory) == before


# --- every id the CLI accepts; no "no name" -------------------------------------------------------
async def test_demo_staff_with_ids_above_2_53_can_be_managed_from_the_chat(admin, session_factory):
    demo_id = staff_db.FIRST_DEMO_TELEGRAM_ID  # the demo store's staff: above Telegram's 2**53
    async with transaction(session_factory) as session:
        await staff_db.add_staff(session, telegram_id=demo_id, role=Role.CASHIER, name="Demo Dan", actor=None)
    await admin.send(f"/staff role {demo_id} manager")
    assert f"Demo Dan ({demo_id}) is now manager" in admin.text
    await admin.send("/staff")
    await admin.tap("Demo Dan · manager")
    await admin.tap("Make cashier")
    assert "is now cashier" in admin.text
    await admin.tap("Remove")
    await admin.tap("Yes, remove")
    assert not (await staff_row(session_factory, demo_id)).active
    await admin.send(f"/staff add {demo_id} cashier")
    assert (await staff_row(session_factory, demo_id)).active
    await admin.send(f"/staff remove {demo_id}")
    assert "Removed Demo Dan" in admin.text


async def test_staff_added_without_a_name_is_named_by_id(admin, session_factory):
    await admin.send(f"/staff add {NEW_ID} manager")
    assert admin.text == f"user {NEW_ID} is now on the staff as manager."
    assert "no name" not in admin.text
    await admin.send("/staff")
    assert f"• user {NEW_ID} — manager" in admin.text
