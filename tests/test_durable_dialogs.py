"""Dialogs survive SIGKILL (issue 15): the real bot over the fake Bot API server is killed the
moment each step's screen appears, restarted, and the dialog goes on from that step.

A step is stored before its screen goes out (handlers/dialogs.py), so whichever screen the user
saw last is the step the restarted bot is at.
"""

from __future__ import annotations

from bot.testing.fake_server import FakeBotApiServer
from bot.testing.fake_telegram import FAKE_TOKEN
from tests import cli_helpers
from tests.process_helpers import ADMIN_ID, Bot, press, screen, showing

database_url = cli_helpers.database_url  # fixture: a fresh database the bot migrates


async def rows(url: str, sql: str) -> int:
    return await cli_helpers.scalar(url, sql)


async def test_a_checkout_killed_after_each_step_finishes_with_one_sale(database_url, tmp_path):
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        bot = Bot(server, tmp_path, database_url)
        await bot.start()
        try:
            await server.queue_message(ADMIN_ID, "/add Tea | 3.00 | 10 | | TEA", "Ada")
            await screen(server, showing("✅ Added."))
            await server.queue_message(ADMIN_ID, "TEA", "Ada")  # an exact code adds one at once
            await screen(server, showing("Tea ← +1"))

            await server.queue_message(ADMIN_ID, "/checkout", "Ada")
            await screen(server, showing("How does the customer pay?"))
            await bot.restart()  # killed at the payment step
            await press(server, "👤 Customer")
            await screen(server, lambda m: ("No customer", m.buttons[0][1]) in m.buttons)
            await bot.restart()  # killed at the customer step
            await press(server, "No customer")
            await screen(server, showing("How does the customer pay?"))
            await bot.restart()  # killed at the payment step again
            await server.queue_message(ADMIN_ID, "10", "Ada")  # the cash handed over, typed
            await screen(server, showing("Confirm the sale?"))
            await bot.restart()  # killed on the confirm screen
            await press(server, "✅ Confirm sale")
            receipt = await screen(server, showing("Sale #1"))
        finally:
            await bot.killed()
    assert "Change: $7.00" in receipt.text
    assert await rows(database_url, "SELECT count(*) FROM sales") == 1
    assert await rows(database_url, "SELECT stock FROM products WHERE sku = 'TEA'") == 9


async def test_add_and_newcustomer_killed_after_each_step_finish(database_url, tmp_path):
    async with FakeBotApiServer(token=FAKE_TOKEN) as server:
        bot = Bot(server, tmp_path, database_url)
        await bot.start()
        try:
            steps = [
                ("/add", "What is its name?"),
                ("Jam", "Price of Jam?"),
                ("2.50", "How many are in stock now?"),
                ("5", "Category? Type one, pick one, or skip."),
            ]
            for text, prompt in steps:
                await server.queue_message(ADMIN_ID, text, "Ada")
                await screen(server, showing(prompt))
                await bot.restart()
            await press(server, "Skip (no category)")
            await screen(server, lambda m: any(label == "Skip (automatic SKU)" for label, _ in m.buttons))
            await bot.restart()
            await press(server, "Skip (automatic SKU)")
            await screen(server, lambda m: any(label == "✅ Add product" for label, _ in m.buttons))
            await bot.restart()
            await press(server, "✅ Add product")
            await screen(server, showing("✅ Added."))

            steps = [
                ("/newcustomer", "What is their name?"),
                ("Ann Lee", "Phone number of Ann Lee?"),
                ("skip", "E-mail address?"),
                ("ann@example.com", "✅ Customer registered."),
            ]
            for text, prompt in steps:
                await server.queue_message(ADMIN_ID, text, "Ada")
                await screen(server, showing(prompt))
                await bot.restart()
        finally:
            await bot.killed()
    assert await rows(database_url, "SELECT count(*) FROM products WHERE name = 'Jam' AND price_minor = 250") == 1
    assert await rows(database_url, "SELECT stock FROM products WHERE name = 'Jam'") == 5
    assert await rows(database_url, "SELECT count(*) FROM customers WHERE email = 'ann@example.com'") == 1
