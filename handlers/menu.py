"""The command menu of each role: the source for /help and for Telegram's per-chat menus."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from db.models import Role

log = logging.getLogger(__name__)

# (command, what it does, minimum role). Order is the order users see.
COMMANDS: list[tuple[str, str, Role | None]] = [
    ("start", "Greeting and menu", None),
    ("help", "Your commands", None),
    ("cancel", "Leave the current dialog", None),
    ("search", "Find products by name, category or SKU", Role.CASHIER),
    ("browse", "Categories, then products", Role.CASHIER),
    ("quick", "Favourite products, one tap each", Role.CASHIER),
    ("cart", "The cart of this chat", Role.CASHIER),
    ("checkout", "Take payment for the cart", Role.CASHIER),
    ("discount", "Discount the cart: /discount 10% reason or /discount 2.50 reason", Role.CASHIER),
    ("customer", "Find a customer by name or phone", Role.CASHIER),
    ("newcustomer", "Register a customer", Role.CASHIER),
    ("sales", "Sales of a period (today by default)", Role.CASHIER),
    ("shift", "The till's shift: /shift, /shift open <float>, /shift close", Role.CASHIER),
    ("cashin", "Money into the drawer: /cashin <amount> <reason>", Role.CASHIER),
    ("cashout", "Money out of the drawer: /cashout <amount> <reason>", Role.CASHIER),
    ("receipt", "Show or resend a receipt (PDF, print, e-mail): /receipt <number>", Role.CASHIER),
    ("add", "Add a product: name | price | stock [| category [| sku]]", Role.MANAGER),
    ("edit", "Edit a product: /edit <sku or name>", Role.MANAGER),
    ("price", "Change a price: /price <sku or name> <price>", Role.MANAGER),
    ("restock", "Receive stock: /restock <sku or name> <qty> [note]", Role.MANAGER),
    ("adjust", "Correct stock: /adjust <sku or name> <±qty> <reason>", Role.MANAGER),
    ("archive", "Hide a product from sale: /archive <sku or name>", Role.MANAGER),
    ("unarchive", "Put a product back on sale: /unarchive <sku or name>", Role.MANAGER),
    ("pin", "Pin a product to /quick: /pin <sku or name>", Role.MANAGER),
    ("unpin", "Take it off /quick: /unpin <sku or name>", Role.MANAGER),
    ("stock", "Inventory", Role.MANAGER),
    ("lowstock", "Products running low", Role.MANAGER),
    ("tax", "Tax rates: /tax, /tax add|set|default ...", Role.MANAGER),
    ("report", "Sales report: /report [today|week|month|...]", Role.MANAGER),
    ("sale", "One sale in full: /sale <number>", Role.MANAGER),
    ("refund", "Return some or all of a sale: /refund <number> [reason]", Role.CASHIER),
    ("history", "A customer's purchases: /history <name or phone>", Role.MANAGER),
    ("points", "A customer's points: /points <customer> [±N reason]", Role.MANAGER),
    ("subscribe", "Push reports and alerts to this chat", Role.MANAGER),
    ("unsubscribe", "Stop the pushes to this chat", Role.MANAGER),
    ("staff", "Staff: /staff, /staff add|remove|role ...", Role.ADMIN),
    ("audit", "Privileged actions: /audit [period]", Role.ADMIN),
    ("apikey", "REST API keys: /apikey, /apikey new|revoke ...", Role.ADMIN),
]


def commands_for(role: Role | None) -> list[tuple[str, str]]:
    return [
        (name, description)
        for name, description, needed in COMMANDS
        if needed is None or (role is not None and role.includes(needed))
    ]


async def publish_default_menu(bot: Bot) -> None:
    """What strangers see: only /start and /help."""
    await bot.set_my_commands(
        [BotCommand(n, d) for n, d in commands_for(None) if n != "cancel"], scope=BotCommandScopeDefault()
    )


async def publish_menu(bot: Bot, telegram_id: int, role: Role | None) -> None:
    """Set a staff member's own command menu (their private chat); None falls back to the default."""
    scope = BotCommandScopeChat(chat_id=telegram_id)
    try:
        if role is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands([BotCommand(n, d) for n, d in commands_for(role)], scope=scope)
    except TelegramError as exc:  # e.g. the user never opened a chat with the bot
        log.warning("could not set the command menu for %s: %s", telegram_id, exc)
