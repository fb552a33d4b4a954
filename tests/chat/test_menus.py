"""Per-role command menus (setMyCommands with a chat scope), and that every command has a home."""

from __future__ import annotations

import json
import logging
import re

from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, TypeHandler

from bot.app import startup
from bot.testing.fake_telegram import BadRequest
from db.models import Role
from handlers.menu import COMMANDS, commands_for
from tests.chat.conftest import ADMIN_ID, CASHIER2_ID, CASHIER_ID, FORMER_ID, MANAGER_ID, STRANGER_ID


def _names(role: Role | None) -> list[str]:
    return [name for name, _ in commands_for(role)]


def _all_handlers(application):
    """Every handler, including those inside conversations (entry points, states, fallbacks)."""
    stack = [h for group in application.handlers.values() for h in group]
    while stack:
        handler = stack.pop()
        yield handler
        if isinstance(handler, ConversationHandler):
            stack.extend(handler.entry_points)
            stack.extend(h for state in handler.states.values() for h in state)
            stack.extend(handler.fallbacks)


async def test_each_role_gets_its_own_menu_at_start(shop, fake):
    assert fake.commands_for_chat(STRANGER_ID) == ["start", "help"]
    assert fake.commands_for_chat(FORMER_ID) == ["start", "help"]
    assert fake.commands_for_chat(CASHIER_ID) == _names(Role.CASHIER)
    assert fake.commands_for_chat(CASHIER2_ID) == _names(Role.CASHIER)
    assert fake.commands_for_chat(MANAGER_ID) == _names(Role.MANAGER)
    assert fake.commands_for_chat(ADMIN_ID) == _names(Role.ADMIN)
    assert _names(Role.ADMIN) == [name for name, _, _ in COMMANDS]
    assert "report" not in _names(Role.CASHIER) and "staff" not in _names(Role.MANAGER)
    scopes = [json.loads(key) for key in fake.commands]
    assert {"type": "chat", "chat_id": FORMER_ID} not in scopes


async def test_menus_follow_role_changes_and_removal(admin, fake):
    await admin.send(f"/staff role {CASHIER_ID} admin")
    assert fake.commands_for_chat(CASHIER_ID) == _names(Role.ADMIN)
    await admin.send(f"/staff role {CASHIER_ID} manager")
    assert fake.commands_for_chat(CASHIER_ID) == _names(Role.MANAGER)
    await admin.send(f"/staff remove {CASHIER_ID}")
    assert fake.commands_for_chat(CASHIER_ID) == ["start", "help"]
    await admin.send(f"/staff add {CASHIER_ID} cashier")
    assert fake.commands_for_chat(CASHIER_ID) == _names(Role.CASHIER)
    await admin.send(f"/staff add {STRANGER_ID} manager Eve")
    assert fake.commands_for_chat(STRANGER_ID) == _names(Role.MANAGER)


async def test_a_menu_telegram_refuses_does_not_undo_the_change(admin, fake, session_factory, caplog, monkeypatch):
    def refuse(params, files):
        raise BadRequest("chat not found")

    monkeypatch.setattr(fake, "_api_setMyCommands", refuse)
    with caplog.at_level(logging.WARNING):
        await admin.send("/staff add 7000555 cashier Pat")
    assert "is now on the staff as cashier" in admin.text
    assert "could not set the command menu for 7000555" in caplog.text


async def test_restart_republishes_menus(shop, fake):
    fake.commands.clear()
    await startup(shop.application)
    assert fake.commands_for_chat(MANAGER_ID) == _names(Role.MANAGER)
    assert fake.commands_for_chat(STRANGER_ID) == ["start", "help"]


def test_menu_entries_are_valid_bot_commands():
    names = [name for name, _, _ in COMMANDS]
    assert len(names) == len(set(names)) <= 100
    for name, description, _ in COMMANDS:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        assert 3 <= len(description) <= 256


async def test_every_menu_command_is_handled_with_its_minimum_role(shop):
    """The menu promises each command; a CommandHandler at the top level (or opening a dialog)
    serves it, decorated with the role the menu states (commands for everyone need staff)."""
    served: dict[str, set] = {}
    top = [h for group, hs in shop.application.handlers.items() if group >= 0 for h in hs]
    entry = [h for h in top if isinstance(h, CommandHandler)]
    entry += [e for h in top if isinstance(h, ConversationHandler) for e in h.entry_points]
    for handler in entry:
        if isinstance(handler, CommandHandler):
            for command in handler.commands:
                served.setdefault(command, set()).add(getattr(handler.callback, "min_role", "undecorated"))
    for name, _, needed in COMMANDS:
        assert name in served, f"/{name} is in the menu but no handler serves it"
        assert served[name] == {needed or Role.CASHIER}, f"/{name}: {served[name]}"


async def test_every_handler_checks_a_role(shop):
    """The architecture rule: every handler callback is decorated with @requires (the guard aside)."""
    missing = []
    for handler in _all_handlers(shop.application):
        if isinstance(handler, (ConversationHandler, TypeHandler)):
            continue
        if not hasattr(handler.callback, "min_role"):
            missing.append(f"{type(handler).__name__} {getattr(handler.callback, '__qualname__', handler.callback)}")
    assert missing == []
    buttons = [h for h in _all_handlers(shop.application) if isinstance(h, CallbackQueryHandler)]
    assert buttons and all(h.pattern is None or h.pattern.pattern.startswith("^") for h in buttons)
