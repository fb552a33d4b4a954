"""/cart: the chat's cart, edited in place with −, +, ✕, a typed quantity, Clear and Checkout.

Whatever adds to the cart (a scanned or typed code, a card's Add, a quantity-and-name) shows the
cart with the new line marked and an Undo button; a number typed right after sets that line.

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
LINES_WITH_BUTTONS = 19  # 5 buttons a line + 3: under Telegram's 100 buttons
FOREIGN_CART = "That button belongs to another chat's cart."
CHANGED = "The cart had changed since that screen: this is the cart now."

EMPTY = (
    "🛒 The cart is empty.\nType a product name (or use /search or /browse), open the product and tap “Add to cart”."
)


def cart_lines(view: CartView, currency: str, marked: tuple[int, int] | None = None) -> str:
    """Each line as qty × unit price = line total, then the total; warnings for unsellable lines.
    `marked` (product id, quantity just added) flags the line an add has just changed."""
    rows = []
    shown = view.lines[:LINES_SHOWN]
    if marked is not None and all(line.product_id != marked[0] for line in shown):
        shown = [*shown[:-1], *(li for li in view.lines if li.product_id == marked[0])]  # never hide it
    for line in shown:
        number = view.lines.index(line) + 1
        warning = None
        if line.archived:
            warning = "   ⚠️ no longer on sale"
        elif line.quantity > line.stock:
            warning = f"   ⚠️ only {line.stock} in stock"
        added = f" ← +{marked[1]}" if marked is not None and marked[0] == line.product_id else ""
        discount = None
        if line.discount_minor:
            discount = f"   − {money(line.discount_minor, currency)} ({esc(clip(line.discount_reason, 40))})"
        rows.append(
            lines(
                f"{number}. {esc(clip(line.name, NAME_WIDTH))}{added}",
                f"   {line.quantity} × {money(line.unit_price_minor, currency)} = "
                f"{money(line.line_total_minor, currency)}",
                discount,
                warning,
            )
        )
    hidden = len(view.lines) - LINES_SHOWN
    if hidden > 0:
        rows.append(f"… and {hidden} more lines (in the total).")
    if view.cart_discount_minor:
        rows.append(
            f"Cart discount: − {money(view.cart_discount_minor, currency)} ({esc(clip(view.cart_discount_reason, 40))})"
        )
    if not view.prices_include_tax and view.tax_minor:
        rows.append(f"Tax: {money(view.tax_minor, currency)}")
    return lines(*rows, f"<b>Total: {money(view.total_minor, currency)}</b> ({counted(view.item_count, 'item')})")


def cart_screen(
    view: CartView, currency: str, note: str | None = None, *, marked: tuple[int, int] | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The cart as text and buttons; `note` (HTML) goes on top. `marked` (product id, quantity):
    the line an add just changed, flagged, with an Undo of that add on top of the buttons."""
    if view.is_empty:
        return lines(note, EMPTY), None
    rows = []
    line = next((li for li in view.lines if marked and li.product_id == marked[0]), None)
    if line is not None and marked is not None:
        undo = cb(NS, "undo", view.cart_id, line.product_id, marked[1], view.version)
        rows.append([button(f"↩ Undo +{marked[1]} {clip(line.name, 24)}", undo)])
    for line in view.lines[:LINES_WITH_BUTTONS]:
        ids = (view.cart_id, line.product_id, view.version)
        rows.append(
            [
                button("−", cb(NS, "dec", *ids)),
                button(f"{clip(line.name, 16)} ×{line.quantity}", cb(NS, "qty", view.cart_id, line.product_id)),
                button("+", cb(NS, "inc", *ids)),
                button("％", cb("disc", "line", view.cart_id, line.product_id)),
                button("✕", cb(NS, "rm", *ids)),
            ]
        )
    rows.append(
        [
            button("Discount…", cb("disc", "cart", view.cart_id)),
            button("Clear cart", cb(NS, "clear", view.cart_id, view.version)),
            button("Checkout", cb("co", "go", view.cart_id, view.version)),
        ]
    )
    text = lines(note, "🛒 <b>Cart</b>", cart_lines(view, currency, marked))
    return text, keyboard(rows)


async def add_and_show(update: Update, context: PosContext, product_id: int, qty: int) -> None:
    """Add `qty` of a product at once and show the cart with the line marked and an Undo; a number
    typed next sets that line's quantity."""
    try:
        async with context.transaction() as session:
            view = await carts_db.add_item(session, chat_id=update.effective_chat.id, product_id=product_id, qty=qty)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    context.expect_quantity("line", product_id)
    line = next(li for li in view.lines if li.product_id == product_id)
    await answer(update, context, f"Added {qty} × {clip(line.name, 80)}.")
    await show(update, context, *cart_screen(view, context.currency, marked=(product_id, qty)))


async def set_typed_quantity(update: Update, context: PosContext, product_id: int, qty: int) -> None:
    """A number typed for a cart line (after its quantity button or an add): set it; 0 removes it."""
    chat_id = update.effective_chat.id
    view = None
    try:
        async with context.transaction() as session:
            before = await carts_db.get_cart_view(session, chat_id=chat_id)
            if any(li.product_id == product_id for li in before.lines):
                view = await carts_db.set_quantity(session, chat_id=chat_id, product_id=product_id, qty=qty)
    except PosError as err:
        await send(update, context, f"{esc(err.message)} Type another number, or carry on.")
        context.expect_quantity("line", product_id)
        return
    if view is None:
        await send(update, context, "That product is no longer in the cart: /cart shows what is.")
        return
    if qty == 0:
        await send(update, context, *cart_screen(view, context.currency, note="Line removed.\n"))
        return
    context.expect_quantity("line", product_id)
    await send(update, context, *cart_screen(view, context.currency))


async def own_cart(session, chat_id: int, cart_id: int, *, prices_include_tax: bool = True) -> CartView:
    """The chat's cart, when the pressed button names it; Forbidden for another chat's cart."""
    view = await carts_db.get_cart_view(session, chat_id=chat_id, prices_include_tax=prices_include_tax)
    if view.cart_id != cart_id:
        raise Forbidden(FOREIGN_CART)
    return view


@requires(Role.CASHIER)
async def cart(update: Update, context: PosContext) -> None:
    """/cart and the "Cart" button: show this chat's cart."""
    try:
        async with context.transaction() as session:
            view = await carts_db.get_cart_view(
                session, chat_id=update.effective_chat.id, prices_include_tax=context.settings.prices_include_tax
            )
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
async def undo(update: Update, context: PosContext) -> None:
    """↩ Undo on the cart an add showed: takes that add back, if the cart has not changed since."""
    args = await pressed(update, context, NS, "undo", 4)
    if args is None:
        return
    cart_id, product_id, qty, version = args
    chat_id = update.effective_chat.id
    try:
        async with context.transaction() as session:
            view = await own_cart(session, chat_id, cart_id)
            line = next((li for li in view.lines if li.product_id == product_id), None)
            stale = view.version != version or line is None or not 1 <= qty <= line.quantity
            if not stale:
                view = await carts_db.set_quantity(
                    session, chat_id=chat_id, product_id=product_id, qty=line.quantity - qty
                )
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if stale:
        await answer(update, context, "The cart changed since that add: fix it with − or ✕ instead.", alert=True)
        await show(update, context, *cart_screen(view, context.currency))
        return
    await answer(update, context, f"Undone: −{qty} × {clip(line.name, 80)}.")
    await show(update, context, *cart_screen(view, context.currency))


@requires(Role.CASHIER)
async def ask_quantity(update: Update, context: PosContext) -> None:
    """Tapping a line's name × quantity: the next number typed becomes its quantity."""
    args = await pressed(update, context, NS, "qty", 2)
    if args is None:
        return
    cart_id, product_id = args
    try:
        async with context.reading() as session:
            view = await own_cart(session, update.effective_chat.id, cart_id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    line = next((li for li in view.lines if li.product_id == product_id), None)
    if line is None:
        await answer(update, context, "That product is no longer in the cart.")
        await show(update, context, *cart_screen(view, context.currency))
        return
    context.expect_quantity("line", product_id)
    await send(
        update,
        context,
        f"How many <b>{esc(clip(line.name, 64))}</b>? Now {line.quantity}. Type a number (0 removes the line).",
    )


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
        CallbackQueryHandler(undo, pattern=cb_pattern(NS, "undo")),
        CallbackQueryHandler(ask_quantity, pattern=cb_pattern(NS, "qty")),
    ]
