"""Finding products: /search, plain text in a private chat, /browse, and the product card.

The card has a quantity stepper (− qty +) and "Add to cart". Buttons carry ids and the quantity
only; the product, its stock and the cart are re-read from the database at every press.
A search's text cannot ride in a button, so the chat remembers its last few searches by number
for the ‹ › pager; after a restart an old pager says so instead of guessing.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from db import carts as carts_db
from db import catalog as catalog_db
from db.errors import NotFound, PosError
from db.models import Product, Role
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.render import (
    button,
    cb,
    cb_pattern,
    clip,
    counted,
    esc,
    keyboard,
    lines,
    money,
    pager_row,
    product_button_label,
    quoted,
)
from handlers.reply import answer, refuse, send, show

NS = "cat"
PER_PAGE = 8
CATEGORIES_PER_PAGE = 10
SEARCHES_KEPT = 20

ASK_WHAT = (
    "What are you looking for? Send <code>/search milk</code> (a name, category, SKU or barcode), "
    "type a product name here, or /browse the categories."
)


# --- rendering ---------------------------------------------------------------------------------
def product_card(product: Product, *, qty: int, in_cart: int, currency: str) -> tuple[str, InlineKeyboardMarkup]:
    """The product card (category loaded): the facts, then what the cashier can do with it."""
    facts = lines(
        f"📦 <b>{esc(product.name)}</b>",
        f"Category: {esc(product.category.name) if product.category else '—'}",
        f"Price: <b>{money(product.price_minor, currency)}</b>",
        f"In stock: {product.stock}",
        f"SKU: <code>{esc(product.sku)}</code>",
        f"In the cart: {in_cart}" if in_cart else None,
    )
    cart_row = [button(f"🛒 Cart ({in_cart} here)" if in_cart else "🛒 Cart", cb("cart", "show"))]
    if product.archived:
        return lines(facts, "", "⚠️ This product is no longer on sale."), keyboard([cart_row])
    if product.stock <= 0:
        return lines(facts, "", "⚠️ Out of stock: it cannot be added to the cart."), keyboard([cart_row])
    stepper = [
        button("−", cb(NS, "p", product.id, qty - 1)),
        button(str(qty), cb("nav", "noop")),
        button("+", cb(NS, "p", product.id, qty + 1)),
    ]
    add = [button(f"Add {qty} to cart", cb(NS, "add", product.id, qty))]
    return facts, keyboard([stepper, add, cart_row])


def _product_rows(products: list[Product], currency: str) -> list[list]:
    return [
        [button(product_button_label(p.name, money(p.price_minor, currency), p.stock), cb(NS, "p", p.id, 1))]
        for p in products
    ]


def _page_note(page: int, pages: int) -> str | None:
    return f"Page {page} of {pages}." if pages > 1 else None


# --- looking things up -------------------------------------------------------------------------
async def _exact_code(session, text: str) -> Product | None:
    """The product whose SKU or barcode is exactly the text, if any."""
    if not text or any(ch.isspace() for ch in text):
        return None
    try:
        return await catalog_db.get_by_sku(session, sku=text)
    except NotFound:
        return None


def _how_many(found: catalog_db.Page[Product]) -> str:
    return f"more than {found.total} products" if found.more else counted(found.total, "product")


def _remember_search(context: PosContext, text: str) -> int:
    """Number this chat's search so its pager buttons can refer to it."""
    searches: dict[int, str] = context.chat_data.setdefault("searches", {})
    number = context.chat_data.get("search_seq", 0) + 1
    context.chat_data["search_seq"] = number
    searches[number] = text
    for old in sorted(searches)[:-SEARCHES_KEPT]:
        del searches[old]
    return number


async def _search(update: Update, context: PosContext, text: str, *, page: int = 1, number: int | None = None) -> None:
    """Run a search and show one page of it; an exact SKU or barcode opens the product instead."""
    chat_id = update.effective_chat.id
    product = None
    in_cart = 0
    try:
        async with context.reading() as session:
            if number is None:
                product = await _exact_code(session, text)
            if product is not None:
                in_cart = await carts_db.quantity_in_cart(session, chat_id=chat_id, product_id=product.id)
            else:
                found = await catalog_db.search_products(session, text=text, page=page, per_page=PER_PAGE)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if product is not None:
        await show(update, context, *product_card(product, qty=1, in_cart=in_cart, currency=context.currency))
        return
    if found.total == 0:
        await show(
            update,
            context,
            f"Nothing matches {esc(quoted(text))}. Try another word, or /browse the categories.",
        )
        return
    if number is None:
        number = _remember_search(context, text)
    rows = _product_rows(found.items, context.currency)
    rows.append(pager_row(NS, "sp", found.page, found.pages, number))
    await show(
        update,
        context,
        lines(
            f"🔎 {esc(quoted(text))}: {_how_many(found)}. Tap one to open it.",
            _page_note(found.page, found.pages),
            f"Showing the first {found.total}: type more of the name to narrow it down." if found.more else None,
        ),
        keyboard(rows),
    )


# --- commands and buttons ----------------------------------------------------------------------
@requires(Role.CASHIER)
async def search_command(update: Update, context: PosContext) -> None:
    """/search <text>: products by name, category, SKU or barcode."""
    text = " ".join(context.args or []).strip()
    if not text:
        await send(update, context, ASK_WHAT)
        return
    await _search(update, context, text)


@requires(Role.CASHIER)
async def search_text(update: Update, context: PosContext) -> None:
    """Plain text in a private chat searches the catalog."""
    message = update.effective_message
    text = (message.text or "").strip() if message else ""
    if not text:
        return
    await _search(update, context, text)


@requires(Role.CASHIER)
async def search_page(update: Update, context: PosContext) -> None:
    """‹ › on a search result."""
    args = await pressed(update, context, NS, "sp", 2)
    if args is None:
        return
    number, page = args
    text = context.chat_data.get("searches", {}).get(number)
    if text is None:
        await refuse(update, context, "That search is no longer open: search again.")
        return
    await _search(update, context, text, page=page, number=number)


@requires(Role.CASHIER)
async def browse(update: Update, context: PosContext) -> None:
    """/browse and the "Categories" button: categories with their number of products on sale."""
    page = 1
    if update.callback_query:
        args = await pressed(update, context, NS, "cats", 1)
        if args is None:
            return
        page = args[0]
    try:
        async with context.reading() as session:
            categories = [(c, n) for c, n in await catalog_db.list_categories(session) if n > 0]
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if not categories:
        await show(update, context, "No categories with products on sale yet. Type a product name to search.")
        return
    pages = -(-len(categories) // CATEGORIES_PER_PAGE)
    page = min(max(page, 1), pages)
    shown = categories[(page - 1) * CATEGORIES_PER_PAGE : page * CATEGORIES_PER_PAGE]
    rows = [[button(f"{clip(c.name, 32)} ({n})", cb(NS, "c", c.id, 1))] for c, n in shown]
    rows.append(pager_row(NS, "cats", page, pages))
    await show(
        update,
        context,
        lines("🗂 <b>Categories</b> — tap one to see its products.", _page_note(page, pages)),
        keyboard(rows),
    )


@requires(Role.CASHIER)
async def category(update: Update, context: PosContext) -> None:
    """A category's products on sale, in stock first."""
    args = await pressed(update, context, NS, "c", 2)
    if args is None:
        return
    category_id, page = args
    try:
        async with context.reading() as session:
            found = await catalog_db.products_in_category(
                session, category_id=category_id, page=max(page, 1), per_page=PER_PAGE
            )
    except PosError as err:
        await refuse(update, context, err.message)
        return
    rows = _product_rows(found.items, context.currency)
    rows.append(pager_row(NS, "c", found.page, found.pages, category_id))
    rows.append([button("‹ Categories", cb(NS, "cats", 1))])
    first = found.items[0] if found.items else None
    name = first.category.name if first is not None and first.category is not None else "This category"
    head = f"🗂 <b>{esc(clip(name, 64))}</b>: "
    body = counted(found.total, "product") + " on sale." if found.total else "no products on sale."
    await show(update, context, lines(head + body, _page_note(found.page, found.pages)), keyboard(rows))


@requires(Role.CASHIER)
async def card(update: Update, context: PosContext) -> None:
    """Open a product card, or step its quantity (− qty +)."""
    args = await pressed(update, context, NS, "p", 2)
    if args is None:
        return
    product_id, qty = args
    if qty < 1:
        await answer(update, context, "At least 1.")
        return
    try:
        async with context.reading() as session:
            product = await catalog_db.get_product(session, product_id=product_id)
            in_cart = await carts_db.quantity_in_cart(session, chat_id=update.effective_chat.id, product_id=product.id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    sellable = not product.archived and product.stock > 0
    if sellable and qty > 1 and qty + in_cart > product.stock:
        already = f" ({in_cart} already in the cart)" if in_cart else ""
        await refuse(update, context, f"Only {product.stock} in stock{already}.")
        return
    if qty > catalog_db.MAX_QTY:
        await refuse(update, context, f"At most {catalog_db.MAX_QTY} at a time.")
        return
    await show(update, context, *product_card(product, qty=qty, in_cart=in_cart, currency=context.currency))


@requires(Role.CASHIER)
async def add_to_cart(update: Update, context: PosContext) -> None:
    """ "Add N to cart" on a product card."""
    args = await pressed(update, context, NS, "add", 2)
    if args is None:
        return
    product_id, qty = args
    chat_id = update.effective_chat.id
    try:
        async with context.transaction() as session:
            view = await carts_db.add_item(session, chat_id=chat_id, product_id=product_id, qty=qty)
            product = await catalog_db.get_product(session, product_id=product_id)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    in_cart = next((line.quantity for line in view.lines if line.product_id == product_id), 0)
    await answer(
        update,
        context,
        f"Added {qty} × {clip(product.name, 80)}. Cart total {money(view.total_minor, context.currency)}.",
    )
    await show(update, context, *product_card(product, qty=1, in_cart=in_cart, currency=context.currency))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("search", search_command),
        CommandHandler("browse", browse),
        CallbackQueryHandler(search_page, pattern=cb_pattern(NS, "sp")),
        CallbackQueryHandler(browse, pattern=cb_pattern(NS, "cats")),
        CallbackQueryHandler(category, pattern=cb_pattern(NS, "c")),
        CallbackQueryHandler(card, pattern=cb_pattern(NS, "p")),
        CallbackQueryHandler(add_to_cart, pattern=cb_pattern(NS, "add")),
    ]


def text_handlers() -> list[BaseHandler]:
    """Plain text in a private chat searches the catalog (registered last)."""
    return [
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, search_text
        )
    ]
