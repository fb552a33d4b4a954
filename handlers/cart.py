"""/cart: the chat's cart, edited in place with −, +, ✕, Clear and Checkout.

The cart lives in the database (one per chat), so it survives a restart. Its buttons carry the
cart id, so a payload naming another chat's cart is refused, and the cart version, so a tap from
an older screen is noticed: −, + and ✕ act on the current line of that product; Clear (like
Checkout) refuses to act on a cart that changed since the screen was drawn.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import carts as carts_db
from db.carts import CartView
from db.errors import Forbidden, PosError
from db.models import Role
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.render import button, cb, cb_args, cb_pattern, clip, counted, esc, keyboard, lines, money
from handlers.reply import STALE_BUTTON, answer, refuse, send, show

NS = "cart"
NAME_WIDTH = 48
LINES_SHOWN = 30  # text stays far below 4096 characters
LINES_WITH_BUTTONS = 24  # 4 buttons a line + 2: under Telegram's 100 buttons
FOREIGN_CART = "That button belongs to another chat's cart."
CHANGED = "The cart had changed since that screen: this is the cart now."

EMPTY = (
    "🛒 The cart is empty.\nType a product name (or use /search or /browse), open the product and tap “Add to cart”."
)


def cart_lines(view: CartView, currency: str) -> str:
    """Each line as qty × unit price = line total, then the total; warnings for unsellable lines."""
    rows = []
    for number, line in enumerate(view.lines[:LINES_SHOWN], start=1):
        warning = None
        if line.archived:
            warning = "   ⚠️ no longer on sale"
        elif line.quantity > line.stock:
            warning = f"   ⚠️ only {line.stock} in stock"
        rows.append(
            lines(
                f"{number}. {esc(clip(line.name, NAME_WIDTH))}",
                f"   {line.quantity} × {money(line.unit_price_minor, currency)} = "
                f"{money(line.line_total_minor, currency)}",
                warning,
            )
        )
    hidden = len(view.lines) - LINES_SHOWN
    if hidden > 0:
        rows.append(f"… and {hidden} more lines (in the total).")
    return lines(*rows, f"<b>Total: {money(view.total_minor, currency)}</b> ({counted(view.item_count, 'item')})")


def cart_screen(view: CartView, currency: str, note: str | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    """The cart as text and buttons; `note` (HTML) goes on top."""
    if view.is_empty:
        return lines(note, EMPTY), None
    rows = []
    for line in view.lines[:LINES_WITH_BUTTONS]:
        ids = (view.cart_id, line.product_id, view.version)
        rows.append(
            [
                button("−", cb(NS, "dec", *ids)),
                button(f"{clip(line.name, 16)} ×{line.quantity}", cb("cat", "p", line.product_id, 1)),
                button("+", cb(NS, "inc", *ids)),
                button("✕", cb(NS, "rm", *ids)),
            ]
        )
    rows.append(
        [
            button("Clear cart", cb(NS, "clear", view.cart_id, view.version)),
            button("Checkout", cb("co", "go", view.cart_id, view.version)),
        ]
    )
    text = lines(note, "🛒 <b>Cart</b>", cart_lines(view, currency))
    return text, keyboard(rows)


async def own_cart(session, chat_id: int, cart_id: int) -> CartView:
    """The chat's cart, when the pressed button names it; Forbidden for another chat's cart."""
    view = await carts_db.get_cart_view(session, chat_id=chat_id)
    if view.cart_id != cart_id:
        raise Forbidden(FOREIGN_CART)
    return view


@requires(Role.CASHIER)
async def cart(update: Update, context: PosContext) -> None:
    """/cart and the "Cart" button: show this chat's cart."""
    try:
        async with context.transaction() as session:
            view = await carts_db.get_cart_view(session, chat_id=update.effective_chat.id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    screen = cart_screen(view, context.currency)
    if update.callback_query:
        await show(update, context, *screen)
    else:
        await send(update, context, *screen)


@requires(Role.CASHIER)
async def change_line(update: Update, context: PosContext) -> None:
    """−, + or ✕ on a cart line: acts on the line as it is now, whatever the screen showed."""
    data = update.callback_query.data
    action = data.split(":")[1] if data and data.count(":") >= 1 else ""
    args = cb_args(data, NS, action, 3)
    if args is None:
        await refuse(update, context, STALE_BUTTON)
        return
    cart_id, product_id, version = args
    chat_id = update.effective_chat.id
    gone = False
    try:
        async with context.transaction() as session:
            view = await own_cart(session, chat_id, cart_id)
            stale = view.version != version
            line = next((li for li in view.lines if li.product_id == product_id), None)
            if line is None:
                gone = True
            elif action == "inc":
                view = await carts_db.set_quantity(
                    session, chat_id=chat_id, product_id=product_id, qty=line.quantity + 1
                )
            elif action == "dec":
                view = await carts_db.set_quantity(
                    session, chat_id=chat_id, product_id=product_id, qty=line.quantity - 1
                )
            else:
                view = await carts_db.remove_line(session, chat_id=chat_id, product_id=product_id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if gone:
        await answer(update, context, "That product is no longer in the cart.")
    elif stale:
        await answer(update, context, CHANGED)
    await show(update, context, *cart_screen(view, context.currency))


@requires(Role.CASHIER)
async def clear(update: Update, context: PosContext) -> None:
    """Clear cart: only the cart the screen showed; a changed cart is shown again instead."""
    args = await pressed(update, context, NS, "clear", 2)
    if args is None:
        return
    cart_id, version = args
    chat_id = update.effective_chat.id
    try:
        async with context.transaction() as session:
            view = await own_cart(session, chat_id, cart_id)
            stale = view.version != version
            if not stale:
                view = await carts_db.clear_cart(session, chat_id=chat_id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if stale:
        await answer(update, context, "The cart changed since that screen: check it before clearing.", alert=True)
        await show(update, context, *cart_screen(view, context.currency))
        return
    await answer(update, context, "Cart cleared.")
    await show(update, context, *cart_screen(view, context.currency))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("cart", cart),
        CallbackQueryHandler(cart, pattern=cb_pattern(NS, "show")),
        *(CallbackQueryHandler(change_line, pattern=cb_pattern(NS, action)) for action in ("dec", "inc", "rm")),
        CallbackQueryHandler(clear, pattern=cb_pattern(NS, "clear")),
    ]
