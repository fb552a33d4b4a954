"""The chat interface: one module per feature, registered here in one ordered list."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ConversationHandler, TypeHandler

from handlers import (
    apikeys,
    audit,
    cart,
    catalog,
    checkout,
    customers,
    discounts,
    errors,
    inline,
    loyalty,
    products,
    quick,
    receipts,
    refunds,
    reports,
    sales,
    shifts,
    staff,
    start,
    stock,
    subscriptions,
    taxes,
)
from handlers.access import guard
from handlers.dialogs import make_durable


def register(application: Application) -> None:
    """Add every handler. Order matters!"""
    # The guard runs first for every update and stops strangers (group -1).
    application.add_handler(TypeHandler(Update, guard), group=-1)
    # Dialogs come before plain commands: while a dialog is open it owns the chat's text.
    # Within the list, the first handler that matches an update wins.
    features = (
        checkout,
        customers,
        shifts,
        inline,
        products,
        stock,
        staff,
        start,
        catalog,
        cart,
        quick,
        discounts,
        sales,
        receipts,
        reports,
        refunds,
        subscriptions,
        audit,
        apikeys,
        taxes,
        loyalty,
    )
    # A persistent dialog stores each step before its screen goes out (handlers/dialogs.py).
    for module in features:
        application.add_handlers(
            [make_durable(h) if isinstance(h, ConversationHandler) else h for h in module.handlers()]
        )
    # /cancel outside a dialog, then plain text as a product search (last: it matches any text).
    application.add_handlers(start.late_handlers())
    application.add_handlers(catalog.text_handlers())
    # Whatever nobody took: unrouted buttons ("no longer valid"), unknown commands.
    application.add_handlers(errors.fallback_handlers())
    application.add_error_handler(errors.on_error)
