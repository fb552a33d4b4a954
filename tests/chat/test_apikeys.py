"""/apikey in the chat: an admin lists, makes (shown once, in private) and revokes REST API keys."""

from __future__ import annotations

import logging
import re

import pytest

from api.app import create_api
from bot.logging_setup import install_redaction
from db import apikeys
from db.engine import transaction
from tests.api.conftest import client_for
from tests.chat.conftest import ADMIN_ID


def shown_key(text: str) -> str:
    match = re.search(r"\b(pos_[A-Za-z0-9_-]{20,})", text)
    assert match, text
    return match.group(1)


@pytest.fixture
def app(settings, session_factory, shop):
    return create_api(settings, session_factory)


async def test_an_admin_makes_a_key_that_works_and_revokes_it_at_once(admin, app, session_factory):
    await admin.send("/apikey new manager web shop")
    assert "“web shop” (manager) created" in admin.text and "only this once" in admin.text
    key = shown_key(admin.text)
    async with client_for(app, key) as api:
        assert (await api.get("/v1/products")).status_code == 200
        await admin.send("/apikey")
        assert "#1" in admin.text and "web shop" in admin.text and "manager" in admin.text
        assert "last used never" not in admin.text and key not in admin.text
        await admin.send("/apikey revoke 1")
        assert "revoked" in admin.text
        assert (await api.get("/v1/products")).status_code == 401
    async with transaction(session_factory) as session:
        row = (await apikeys.list_keys(session))[0]
        assert row.key_hash == apikeys.hash_key(key) and row.created_by.telegram_id == ADMIN_ID
    await admin.send("/audit")
    assert "apikey_new" in admin.text and "apikey_revoke" in admin.text and "(9001)" in admin.text


async def test_bad_input_is_a_polite_message_and_changes_nothing(admin, session_factory):
    for text, words in [
        ("/apikey new owner web", "is not a role"),
        ("/apikey new manager", "/apikey new"),
        ("/apikey revoke x", "/apikey revoke"),
        ("/apikey revoke 42", "No API key #42."),
        ("/apikey frobnicate", "/apikey new"),
    ]:
        await admin.send(text)
        assert words in admin.text, text
    async with transaction(session_factory) as session:
        assert await apikeys.list_keys(session) == []
    await admin.send("/apikey")
    assert "No API keys yet" in admin.text


async def test_only_admins_and_a_key_is_never_shown_in_a_group(shop, manager, session_factory):
    manager.strict = False
    await manager.send("/apikey new cashier till")
    assert "needs the admin role" in manager.text
    group = shop.client(ADMIN_ID, "Ada", chat_id=-100500)
    await group.send("/apikey new cashier till")
    assert "private chat" in group.text and "pos_" not in group.text
    async with transaction(session_factory) as session:
        assert await apikeys.list_keys(session) == []


async def test_the_key_never_reaches_the_log(admin, caplog):
    """Even at DEBUG, where python-telegram-bot logs every message it sends."""
    install_redaction([], handlers=[caplog.handler])
    caplog.set_level(logging.DEBUG)
    await admin.send("/apikey new admin erp")
    key = shown_key(admin.text)
    assert key not in caplog.text


async def test_a_keys_staff_row_is_not_in_the_staff_list(admin, session_factory):
    await admin.send("/apikey new cashier web shop")
    await admin.send("/staff")
    assert "API key" not in admin.text and "web shop" not in admin.text
