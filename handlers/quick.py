"""/quick: a grid of up to twelve favourite products, each adding one to the cart with a tap;
/pin and /unpin: a manager's choice of them (db/quick.py fills the rest with best sellers).

The grid's message carries the cart total and a Checkout, so a regular's basket is a few taps.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import carts as carts_db
from db import quick as quick_db
from db.carts import CartView
from db.errors import PosError
from db.models import Product, Role
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.products import named, product_then, usage
from handlers.render import button, cb, cb_pattern, clip, counted, esc, keyboard, lines, money
from handlers.reply import answer, refuse, send, show

NS = "quick"
PER_ROW = 3
PIN_USAGE = "/pin <sku, barcode, id or name>"
UNPIN_USAGE = "/unpin <sku, barcode, id or name>"
EMPTY_GRID = (
    "⚡ No favourites yet. A manager pins them with <code>/pin &lt;sku&gt;</code>; "
    "until then the grid shows the last 30 days' best sellers, and there are none yet."
)


def quick_screen(
    products: list[Product], view: CartView, currency: str, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The grid, the cart's total under it, and Cart / Checkout."""
    if not products:
        return EMPTY_GRID, None
    cells = [
        button(
            f"{clip(p.name, 20)} {money(p.price_minor, currency)}" if p.stock > 0 else f"{clip(p.name, 20)} (out)",
            cb(NS, "add", p.id),
        )
        for p in products
    ]
    rows = [cells[i : i + PER_ROW] for i in range(0, len(cells), PER_ROW)]
    if view.is_empty:
        total = "Cart: empty."
    else:
        total = f"Cart: {counted(view.item_count, 'item')} · <b>{money(view.total_minor, currency)}</b>"
        rows.append(
            [button("🛒 Cart", cb("cart", "show")), button("Checkout", cb("co", "go", view.cart_id, view.version))]
        )
    return lines(note, "⚡ <b>Quick</b> — tap a product to add one.", total), keyboard(rows)


async def _grid(update: Update, context: PosContext, note: str | None = None) -> None:
    try:
        # A transaction, not a read: the chat's cart is created on first use (as /cart does).
        async with context.transaction() as session:
            products = await quick_db.favourites(session)
            view = await carts_db.get_cart_view(session, chat_id=update.effective_chat.id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    await show(update, context, *quick_screen(products, view, context.currency, note))


@requires(Role.CASHIER)
async def quick(update: Update, context: PosContext) -> None:
    """/quick: the favourites grid."""
    await _grid(update, context)


@requires(Role.CASHIER)
async def add(update: Update, context: PosContext) -> None:
    """A product on the grid: one more in the cart, the grid redrawn with the new total."""
    args = await pressed(update, context, NS, "add", 1)
    if args is None:
        return
    try:
        async with context.transaction() as session:
            view = await carts_db.add_item(session, chat_id=update.effective_chat.id, product_id=args[0], qty=1)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    line = next(li for li in view.lines if li.product_id == args[0])
    await answer(update, context, f"+1 {clip(line.name, 60)} (now {line.quantity}).")
    await _grid(update, context, note=f"Added 1 × {esc(clip(line.name, 48))}.")


async def _pinning(update: Update, context: PosContext, pinning: bool) -> None:
    words = context.args or []
    if not words:
        await _list_pins(update, context, usage(PIN_USAGE if pinning else UNPIN_USAGE))
        return
    change = quick_db.pin if pinning else quick_db.unpin
    try:
        async with context.transaction() as session:
            product, _ = await product_then(session, words, after=0)
            product, changed = await change(session, product_id=product.id, actor=context.staff)
            count = len(await quick_db.pinned_ids(session))
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    grid = f"({count} of {quick_db.GRID_SIZE} pinned)"
    if pinning:
        text = (
            f"📌 {named(product)} is pinned to /quick {grid}." if changed else f"{named(product)} was pinned already."
        )
    else:
        text = f"{named(product)} is off /quick {grid}." if changed else f"{named(product)} was not pinned."
    await send(update, context, text)


async def _list_pins(update: Update, context: PosContext, head: str) -> None:
    try:
        async with context.reading() as session:
            ids = await quick_db.pinned_ids(session)
            products = [p for p in await quick_db.favourites(session) if p.id in ids]
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    pinned = "\n".join(f"📌 {named(p)}" for p in products) or "Nothing is pinned: /quick shows the best sellers."
    await send(update, context, lines(head, "", pinned))


@requires(Role.MANAGER)
async def pin(update: Update, context: PosContext) -> None:
    """/pin <product>: put it on the /quick grid."""
    await _pinning(update, context, True)


@requires(Role.MANAGER)
async def unpin(update: Update, context: PosContext) -> None:
    """/unpin <product>: take it off the /quick grid."""
    await _pinning(update, context, False)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("quick", quick),
        CommandHandler("pin", pin),
        CommandHandler("unpin", unpin),
        CallbackQueryHandler(add, pattern=cb_pattern(NS, "add")),
    ]
