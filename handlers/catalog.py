"""Finding products: /search, plain text in a private chat, /browse, and the product card.

What the cashier types is read as the counter reads it: an exact SKU or barcode (typed or from a
keyboard scanner) adds one at once; one name match opens its card; a quantity with it ("3 milk",
"3x milk", "milk x3", "milk*3") adds that many; a number right after a card sets its quantity.
The card has a quantity stepper (− qty +) and "Add to cart". Buttons carry ids and the quantity
only; the product, its stock and the cart are re-read from the database at every press.
A search's text cannot ride in a button, so the chat remembers its last few searches by number
for the ‹ › pager; after a restart an old pager says so instead of guessing.
"""

from __future__ import annotations

import asyncio
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from db import carts as carts_db
from db import catalog as catalog_db
from db.errors import Conflict, NotFound, PosError
from db.models import Product, Role
from handlers import barcodes
from handlers.access import pressed, requires
from handlers.cart import add_and_show, set_typed_quantity
from handlers.context import PENDING_QUANTITY, PosContext
from handlers.render import (
    button,
    cb,
    cb_args,
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
from handlers.reply import STALE_BUTTON, answer, refuse, send, show

NS = "cat"
PER_PAGE = 8
CATEGORIES_PER_PAGE = 10
SEARCHES_KEPT = 20

ASK_WHAT = (
    "What are you looking for? Send <code>/search milk</code> (a name, category, SKU or barcode), "
    "type a product name here, or /browse the categories."
)


# --- rendering ---------------------------------------------------------------------------------
def product_card(
    product: Product, *, qty: int, in_cart: int, currency: str, back: tuple[int, int] | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The product card (category loaded): the facts, then what the cashier can do with it.
    `back` (search number, page): the results it was opened from, for "‹ Back to results"."""
    facts = lines(
        f"📦 <b>{esc(product.name)}</b>",
        f"Category: {esc(product.category.name) if product.category else '—'}",
        f"Price: <b>{money(product.price_minor, currency)}</b>",
        f"In stock: {product.stock}",
        f"SKU: <code>{esc(product.sku)}</code>",
        f"In the cart: {in_cart}" if in_cart else None,
    )
    cart_row = [button(f"🛒 Cart ({in_cart} here)" if in_cart else "🛒 Cart", cb("cart", "show"))]
    back_row = [button("‹ Back to results", cb(NS, "sp", *back))] if back else []
    if product.archived:
        return lines(facts, "", "⚠️ This product is no longer on sale."), keyboard([cart_row, back_row])
    if product.stock <= 0:
        return lines(facts, "", "⚠️ Out of stock: it cannot be added to the cart."), keyboard([cart_row, back_row])
    stepper = [
        button("−", cb(NS, "p", product.id, qty - 1, *(back or ()))),
        button(str(qty), cb("nav", "noop")),
        button("+", cb(NS, "p", product.id, qty + 1, *(back or ()))),
    ]
    add = [
        button(f"Add {qty} to cart", cb(NS, "add", product.id, qty)),
        button(f"Add {qty} · check out", cb("co", "add", product.id, qty)),
    ]
    facts = lines(facts, "", "<i>Type a number to set the quantity.</i>")
    return facts, keyboard([stepper, add, cart_row, back_row])


def _product_rows(products: list[Product], currency: str, back: tuple[int, int] | None = None) -> list[list]:
    return [
        [button(product_button_label(p.name, money(p.price_minor, currency), p.stock), cb(NS, "p", p.id, 1, *back))]
        if back
        else [button(product_button_label(p.name, money(p.price_minor, currency), p.stock), cb(NS, "p", p.id, 1))]
        for p in products
    ]


def _adding_rows(products: list[Product], qty: int, currency: str) -> list[list]:
    """Search results for "3 milk" with several matches: a tap adds that many at once."""
    return [
        [
            button(
                product_button_label(f"+{qty} {p.name}", money(p.price_minor, currency), p.stock),
                cb(NS, "qa", p.id, qty),
            )
        ]
        for p in products
    ]


def _page_note(page: int, pages: int) -> str | None:
    return f"Page {page} of {pages}." if pages > 1 else None


# --- what the cashier types ----------------------------------------------------------------------
# A quantity with a name or code: "3 milk", "3x milk", "3 x milk", "3*milk"; "milk x3", "milk*3".
QTY_FIRST = re.compile(r"(\d{1,4})\s*(?:[x×]\s+|\*\s*|\s+)(\S.*)", re.IGNORECASE)
QTY_LAST = re.compile(r"(.*\S)(?:\s+[x×]\s*|\s*\*\s*)(\d{1,4})", re.IGNORECASE)
# What a typed quantity looks like, right or wrong ("12", "0", "-2", "1.5"): longer digit runs are codes.
NUMBER_LIKE = re.compile(r"[-+−]?\d{1,4}(?:[.,]\d*)?")
QTY_RANGE = f"a whole number from 1 to {catalog_db.MAX_QTY}"


def split_quantity(text: str) -> tuple[int | None, str]:
    """("3 milk" → 3, "milk"); text without a quantity → (None, text)."""
    match = QTY_FIRST.fullmatch(text)
    if match:
        return int(match.group(1)), match.group(2).strip()
    match = QTY_LAST.fullmatch(text)
    if match:
        return int(match.group(2)), match.group(1).strip()
    return None, text


async def _exact_code(session, text: str) -> Product | None:
    """The product whose SKU or barcode is exactly the text, if any."""
    if not text or any(ch.isspace() for ch in text) or not catalog_db.CODE_RE.fullmatch(text):
        return None
    try:
        return await catalog_db.get_by_sku(session, sku=text)
    except NotFound:
        return None


def _how_many(found: catalog_db.Page[Product]) -> str:
    return f"more than {found.total} products" if found.more else counted(found.total, "product")


def _remember_search(context: PosContext, text: str, qty: int | None) -> int:
    """Number this chat's search so its pager buttons can refer to it."""
    searches: dict[int, object] = context.chat_data.setdefault("searches", {})
    number = context.chat_data.get("search_seq", 0) + 1
    context.chat_data["search_seq"] = number
    searches[number] = [text, qty]
    for old in sorted(searches)[:-SEARCHES_KEPT]:
        del searches[old]
    return number


def _remembered(context: PosContext, number: int) -> tuple[str, int | None] | None:
    found = context.chat_data.get("searches", {}).get(number)
    if isinstance(found, str):  # remembered before quantities were
        return found, None
    if isinstance(found, list) and len(found) == 2:
        return found[0], found[1]
    return None


async def counter_input(update: Update, context: PosContext, text: str) -> None:
    """What a cashier typed, scanned or photographed: a number for the card or cart line just
    shown, else a code or a name, with or without a quantity."""
    pending = context.pending_quantity
    if pending is not None and NUMBER_LIKE.fullmatch(text):
        await _typed_quantity(update, context, pending, text)
        return
    qty, rest = split_quantity(text)
    if qty is not None and await _is_a_name(context, text):
        qty = None  # "7 Up" is a product, not seven of "Up"
    if qty is not None:
        if qty < 1:
            await refuse(update, context, f"“{clip(text, 64)}”: a quantity is {QTY_RANGE}.")
            return
        if await _find(update, context, rest, qty, last_try=False):
            return
    # No quantity, or nothing matched the name after it ("7 Up" is a name that starts with a number).
    await _find(update, context, text, None, last_try=True)


async def _is_a_name(context: PosContext, text: str) -> bool:
    """Whether the text is exactly a product's name (ignoring case)."""
    try:
        async with context.reading() as session:
            await catalog_db.find_product(session, ref=text)
    except Conflict:  # two products with that name: still a name
        return True
    except PosError:
        return False
    return True


async def _find(update: Update, context: PosContext, text: str, qty: int | None, *, last_try: bool) -> bool:
    """An exact code adds at once; one match opens its card (or adds `qty`); several are listed.
    False, having said nothing, when nothing matches and this is not the last try."""
    product = found = None
    in_cart = 0
    try:
        async with context.reading() as session:
            product = await _exact_code(session, text)
            if product is None:
                found = await catalog_db.search_products(session, text=text, page=1, per_page=PER_PAGE)
                if found.total == 1 and qty is None:
                    product = found.items[0]
                    in_cart = await carts_db.quantity_in_cart(
                        session, chat_id=update.effective_chat.id, product_id=product.id
                    )
    except PosError as err:
        if not last_try:
            return False
        await refuse(update, context, err.message)
        return True
    if found is None and product is not None:  # an exact SKU or barcode
        await add_and_show(update, context, product.id, qty or 1)
        return True
    assert found is not None
    if found.total == 0:
        if not last_try:
            return False
        await show(
            update,
            context,
            f"Nothing matches {esc(quoted(text))}. Try another word, or /browse the categories.",
        )
        return True
    if found.total == 1 and qty is not None:
        await add_and_show(update, context, found.items[0].id, qty)
        return True
    if product is not None:  # one name match: its card at once
        context.expect_quantity("card", product.id)
        await show(update, context, *product_card(product, qty=1, in_cart=in_cart, currency=context.currency))
        return True
    await _show_results(update, context, text, qty, found, _remember_search(context, text, qty))
    return True


async def _show_results(
    update: Update, context: PosContext, text: str, qty: int | None, found: catalog_db.Page, number: int
) -> None:
    if qty is None:
        rows = _product_rows(found.items, context.currency, back=(number, found.page))
        hint = "Tap one to open it."
    else:
        rows = _adding_rows(found.items, qty, context.currency)
        hint = f"Tap one to add {qty}."
    rows.append(pager_row(NS, "sp", found.page, found.pages, number))
    head = f"🔎 {esc(quoted(text))}: {_how_many(found)}. {hint}"
    more = f"Showing the first {found.total}: type more of the name to narrow it down." if found.more else None
    await show(update, context, lines(head, _page_note(found.page, found.pages), more), keyboard(rows))


async def _typed_quantity(update: Update, context: PosContext, pending: dict, text: str) -> None:
    """A number typed right after a product card (its quantity) or a cart line (the line's)."""
    product_id = pending.get("product_id")
    kind = pending.get("kind")
    if not isinstance(product_id, int):
        return
    lowest = 0 if kind == "line" else 1
    if not re.fullmatch(r"\d{1,4}", text) or int(text) < lowest:
        wanted = f"a whole number from 0 (remove) to {catalog_db.MAX_QTY}" if kind == "line" else QTY_RANGE
        context.chat_data[PENDING_QUANTITY] = pending  # still waiting for the number
        await refuse(update, context, f"“{clip(text, 16)}” is not a quantity: type {wanted}.")
        return
    if kind == "line":
        await set_typed_quantity(update, context, product_id, int(text))
        return
    back = (pending["number"], pending["page"]) if "number" in pending and "page" in pending else None
    await _card(update, context, product_id, int(text), back)


async def _card(update: Update, context: PosContext, product_id: int, qty: int, back: tuple[int, int] | None) -> None:
    """Show a product card with this quantity on its stepper, if that many can be sold."""
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
    extra = {"number": back[0], "page": back[1]} if back else {}
    sellable = not product.archived and product.stock > 0
    if qty > catalog_db.MAX_QTY:
        context.expect_quantity("card", product.id, **extra)
        await refuse(update, context, f"At most {catalog_db.MAX_QTY} at a time.")
        return
    if sellable and qty > 1 and qty + in_cart > product.stock:
        already = f" ({in_cart} already in the cart)" if in_cart else ""
        context.expect_quantity("card", product.id, **extra)
        await refuse(update, context, f"Only {product.stock} in stock{already}.")
        return
    context.expect_quantity("card", product.id, **extra)
    await show(update, context, *product_card(product, qty=qty, in_cart=in_cart, currency=context.currency, back=back))


# --- commands and buttons ----------------------------------------------------------------------
@requires(Role.CASHIER)
async def search_command(update: Update, context: PosContext) -> None:
    """/search <text>: products by name, category, SKU or barcode."""
    text = " ".join(context.args or []).strip()
    if not text:
        await send(update, context, ASK_WHAT)
        return
    await counter_input(update, context, text)


@requires(Role.CASHIER)
async def search_text(update: Update, context: PosContext) -> None:
    """Plain text in a private chat: a quantity, a code (a keyboard scanner types it) or a name."""
    message = update.effective_message
    text = (message.text or "").strip() if message else ""
    if not text:
        return
    await counter_input(update, context, text)


@requires(Role.CASHIER)
async def search_page(update: Update, context: PosContext) -> None:
    """‹ › on a search result, and "‹ Back to results" on a card opened from one."""
    args = await pressed(update, context, NS, "sp", 2)
    if args is None:
        return
    number, page = args
    remembered = _remembered(context, number)
    if remembered is None:
        await refuse(update, context, "That search is no longer open: search again.")
        return
    text, qty = remembered
    try:
        async with context.reading() as session:
            found = await catalog_db.search_products(session, text=text, page=max(page, 1), per_page=PER_PAGE)
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if found.total == 0:
        await show(update, context, f"Nothing matches “{esc(clip(text, 64))}” any more. Search again.")
        return
    await _show_results(update, context, text, qty, found, number)


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
    """Open a product card, or step its quantity (− qty +); from search results it keeps the way back."""
    query = update.callback_query
    args = cb_args(query.data, NS, "p", 4) or cb_args(query.data, NS, "p", 2)
    if args is None:
        await refuse(update, context, STALE_BUTTON)
        return
    back = (args[2], args[3]) if len(args) == 4 else None
    await _card(update, context, args[0], args[1], back)


@requires(Role.CASHIER)
async def add_to_cart(update: Update, context: PosContext) -> None:
    """ "Add N to cart" on a product card, and a "+N" search result: add, then show the cart."""
    query = update.callback_query
    args = cb_args(query.data, NS, "add", 2) or cb_args(query.data, NS, "qa", 2)
    if args is None:
        await refuse(update, context, STALE_BUTTON)
        return
    await add_and_show(update, context, *args)


NO_CODE = (
    "📷 I could not read a barcode in that photo. Hold the phone 10–20 cm away, keep the code flat, "
    "sharp and well lit, filling most of the picture, and send it again; or type the digits under it."
)


@requires(Role.CASHIER)
async def photo(update: Update, context: PosContext) -> None:
    """A photo of a barcode (or an image sent as a file): decoded here, then treated as typed;
    a caption of a number (“3”) is the quantity."""
    message = update.effective_message
    attachment = message.photo[-1] if message.photo else message.document
    if attachment is None:
        return
    caption = (message.caption or "").strip()
    qty = int(caption) if re.fullmatch(r"\d{1,4}", caption) else None
    if caption and (qty is None or qty < 1):
        await refuse(update, context, f"A caption on a barcode photo is the quantity: {QTY_RANGE}.")
        return
    if (attachment.file_size or 0) > barcodes.MAX_FILE_BYTES:
        await refuse(update, context, "That file is too big for a photo of a barcode (10 MB at most).")
        return
    file = await context.bot.get_file(attachment.file_id)
    data = bytes(await file.download_as_bytearray())
    try:
        codes = await asyncio.to_thread(barcodes.decode, data)
    except barcodes.NotAPicture:
        await refuse(update, context, "That file is not a picture I can read. Send a photo of the barcode.")
        return
    if not codes:
        await send(update, context, NO_CODE)
        return
    product = None
    try:
        async with context.reading() as session:
            for candidate in (v for code in codes for v in barcodes.code_variants(code)):
                product = await _exact_code(session, candidate)
                if product is not None:
                    break
    except PosError as err:
        await refuse(update, context, err.message)
        return
    if product is None:
        shown = ", ".join(f"<code>{esc(clip(code, 64))}</code>" for code in codes[:3])
        await send(
            update,
            context,
            f"📷 The photo shows {shown}, but no product has that code. "
            "Type the product's name to find it, or a manager can give it the code with /edit.",
        )
        return
    await add_and_show(update, context, product.id, qty or 1)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("search", search_command),
        CommandHandler("browse", browse),
        CallbackQueryHandler(search_page, pattern=cb_pattern(NS, "sp")),
        CallbackQueryHandler(browse, pattern=cb_pattern(NS, "cats")),
        CallbackQueryHandler(category, pattern=cb_pattern(NS, "c")),
        CallbackQueryHandler(card, pattern=cb_pattern(NS, "p")),
        CallbackQueryHandler(add_to_cart, pattern=cb_pattern(NS, "add")),
        CallbackQueryHandler(add_to_cart, pattern=cb_pattern(NS, "qa")),
    ]


def text_handlers() -> list[BaseHandler]:
    """Plain text and barcode photos in a private chat go to the counter (registered last)."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND & private, search_text),
        MessageHandler((filters.PHOTO | filters.Document.IMAGE) & private, photo),
    ]
