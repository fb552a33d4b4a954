"""Fixtures for chat tests: the production Application over the fake Telegram, and people.

Builds on the database fixtures of tests/conftest.py (`session_factory`, on SQLite and, when
POS_TEST_POSTGRES_URL is set, PostgreSQL).
"""

from __future__ import annotations

import pytest

from bot.testing.chat import ChatClient, FakeShop
from db import staff as staff_db
from db.engine import transaction
from db.models import Role
from db.settings import Settings

ADMIN_ID, MANAGER_ID, CASHIER_ID, CASHIER2_ID, STRANGER_ID, FORMER_ID = 9001, 9002, 9003, 9004, 9666, 9777


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Corner Shop",
        currency="USD",
        store_timezone="Europe/Berlin",
        admin_ids=[ADMIN_ID],
        low_stock_threshold=3,
        daily_report_time="21:00",
    )


@pytest.fixture
async def shop(settings, session_factory):
    async with transaction(session_factory) as session:
        await staff_db.add_staff(session, telegram_id=MANAGER_ID, role=Role.MANAGER, name="Mia Manager", actor=None)
        await staff_db.add_staff(session, telegram_id=CASHIER_ID, role=Role.CASHIER, name="Cal Cashier", actor=None)
        await staff_db.add_staff(session, telegram_id=CASHIER2_ID, role=Role.CASHIER, name="Cleo Cashier", actor=None)
        await staff_db.add_staff(session, telegram_id=FORMER_ID, role=Role.CASHIER, name="Fred Former", actor=None)
        await staff_db.remove_staff(session, telegram_id=FORMER_ID, actor=None)
    async with FakeShop(settings, session_factory) as running:
        yield running


@pytest.fixture
def fake(shop):
    return shop.fake


@pytest.fixture
def admin(shop) -> ChatClient:
    return shop.client(ADMIN_ID, "Ada")


@pytest.fixture
def manager(shop) -> ChatClient:
    return shop.client(MANAGER_ID, "Mia")


@pytest.fixture
def cashier(shop) -> ChatClient:
    return shop.client(CASHIER_ID, "Cal")


@pytest.fixture
def cashier2(shop) -> ChatClient:
    return shop.client(CASHIER2_ID, "Cleo")


@pytest.fixture
def stranger(shop) -> ChatClient:
    return shop.client(STRANGER_ID, "Eve")


@pytest.fixture
def former(shop) -> ChatClient:
    return shop.client(FORMER_ID, "Fred")
