"""The catalog, for managers: /add, /edit, /price, /archive and /unarchive.

Every change goes through db.catalog, which writes the audit entry (and, for /add, the initial
stock movement) in the same transaction. A product is named by its SKU (or barcode), or by its id;
`find_product`, `named`, `usage` and `whole_number` serve handlers/stock.py too.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from db import catalog
from db.errors import InvalidInput, NotFound, PosError
from db.models import Product, Role
from db.money import accepted_forms, parse_money
from handlers.access import dialog_is_current, open_dialog, pressed, requires
from handlers.context import PosContext
from handlers.render import (
    button,
    cb,
    cb_args,
    cb_pattern,
    esc,
    keyboard,
    lines,
    money,
    product_card,
    quoted,
)
from handlers.reply import STALE_BUTTON, answer, refuse, send, show

ADD_NS, EDIT_NS = "add", "edit"
MAX_CATEGORY_BUTTONS = 12

ADD_USAGE = "/add <name> | <price> | <stock> [| <category> [| <sku> [| <barcode>]]]"
EDIT_USAGE = "/edit <sku, barcode, id or name>"
PRICE_USAGE = "/price <sku, barcode, id or name> <price>"
ARCHIVE_USAGE = "/archive <sku, barcode, id or name>"
UNARCHIVE_USAGE = "/unarchive <sku, barcode, id or name>"

# /add step by step
ADD_NAME, ADD_PRICE, ADD_STOCK, ADD_CATEGORY, ADD_SKU, ADD_CONFIRM = range(6)
# /edit: waiting for the new value of the chosen field
EDIT_VALUE = 10

# The fields /edit offers: callback number -> (edit_product keyword, button label).
EDIT_FIELDS: dict[int, tuple[str, str]] = {
    1: ("name", "Name"),
    2: ("price_minor", "Price"),
    3: ("category", "Category"),
    4: ("sku", "SKU"),
    5: ("low_stock_threshold", "Low-stock threshold"),
    6: ("barcode", "Barcode"),
}
CLEAR_WORDS = {"-", "none", "default"}
SKIP_WORDS = {"skip", "-"}  # typed instead of the Skip button in the /add dialog


def usage(form: str, problem: str | None = None) -> str:
    return lines(esc(problem) if problem else None, f"Usage: <code>{esc(form)}</code>")


def whole_number(text: str, what: str, *, lo: int, hi: int = catalog.MAX_STOCK, signed: bool = False) -> int:
    """A whole number typed by the user ("12", "+12", and with `signed` "-2"), within lo..hi.

    A refusal says the allowed range, also for a whole number outside it.
    """
    text = text.strip().replace("−", "-")
    if not re.fullmatch(r"[+-]?\d{1,30}" if signed else r"\+?\d{1,30}", text):
        raise InvalidInput(f"{quoted(text)} is not {what}: use a whole number {catalog.allowed_range(lo, hi)}.")
    return catalog.require_int(int(text), what.capitalize(), lo=lo, hi=hi)


async def find_product(session: AsyncSession, ref: str) -> Product:
    """The product a manager names: SKU, barcode, id or exact name (see catalog.find_product)."""
    return await catalog.find_product(session, ref=ref)


MAX_NAME_WORDS = 16


async def product_then(session: AsyncSession, words: list[str], *, after: int) -> tuple[Product, list[str]]:
    """The product the first words name (a name may have spaces: `/price Whole milk 2.30`) and the
    words after it, at least `after` of them; the longest name that matches wins."""
    first_error: PosError | None = None
    for cut in range(min(len(words) - after, MAX_NAME_WORDS), 0, -1):
        try:
            return await catalog.find_product(session, ref=" ".join(words[:cut])), words[cut:]
        except NotFound as error:
            first_error = first_error or error
    raise first_error or InvalidInput("Name the product first.")


def named(product: Product) -> str:
    return f"{esc(product.name)} (<code>{esc(product.sku)}</code>)"


def _card(product: Product, context: PosContext) -> str:
    return product_card(product, currency=context.currency, default_threshold=context.settings.low_stock_threshold)


def _edit_keyboard(product: Product) -> InlineKeyboardMarkup:
    buttons = [button(label, cb(EDIT_NS, "f", product.id, number)) for number, (_, label) in EDIT_FIELDS.items()]
    return keyboard([buttons[:2], buttons[2:4], buttons[4:]])


# --- /add --------------------------------------------------------------------------------------
def _draft(update: Update, context: PosContext) -> dict[str, Any]:
    """The product being added in this chat by this user."""
    chat = update.effective_chat
    assert context.user_data is not None and chat is not None
    return context.user_data.setdefault(("add", chat.id), {})


def _drop_draft(update: Update, context: PosContext) -> None:
    if context.user_data is not None and update.effective_chat is not None:
        context.user_data.pop(("add", update.effective_chat.id), None)


def _command_text(update: Update) -> str:
    """What follows the command word, as typed (spaces and | kept)."""
    message = update.effective_message
    text = message.text if message and message.text else ""
    return text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) > 1 else ""


async def _save_product(
    update: Update,
    context: PosContext,
    *,
    name: str,
    price_minor: int,
    stock: int,
    category: str | None,
    sku: str | None,
    barcode: str | None = None,
) -> Product | None:
    try:
        async with context.transaction() as session:
            product = await catalog.add_product(
                session,
                name=name,
                price_minor=price_minor,
                stock=stock,
                category=category,
                sku=sku,
                barcode=barcode,
                actor=context.staff,
                currency=context.currency,
            )
    except PosError as error:
        if update.callback_query:
            await refuse(update, context, error.message)
        else:
            await send(update, context, esc(error.message))
        return None
    return product


@requires(Role.MANAGER)
async def add(update: Update, context: PosContext) -> int:
    """`/add name | price | stock [| category [| sku]]` in one line, or `/add` alone for the dialog."""
    rest = _command_text(update)
    _drop_draft(update, context)  # a new /add replaces an unfinished one
    _draft(update, context)["dialog"] = open_dialog(context)
    if not rest:
        await send(update, context, "New product. What is its <b>name</b>? (/cancel to stop)")
        return ADD_NAME
    parts = [part.strip() for part in rest.split("|")]
    if not 3 <= len(parts) <= 6 or not parts[0]:
        await send(update, context, usage(ADD_USAGE, "Give at least a name, a price and a stock, separated by |."))
        return ConversationHandler.END
    parts += [""] * (6 - len(parts))
    name, price_text, stock_text, category, sku, barcode = parts
    try:
        price_minor = parse_money(price_text, context.currency)
        stock = whole_number(stock_text, "the stock", lo=0)
    except PosError as error:
        await send(update, context, lines(esc(error.message), usage(ADD_USAGE)))
        return ConversationHandler.END
    product = await _save_product(
        update,
        context,
        name=name,
        price_minor=price_minor,
        stock=stock,
        category=category or None,
        sku=sku or None,
        barcode=barcode or None,
    )
    if product is not None:
        await send(update, context, lines("✅ Added.", "", _card(product, context)), _edit_keyboard(product))
    return ConversationHandler.END


@requires(Role.MANAGER)
async def add_name(update: Update, context: PosContext) -> int:
    """Dialog step 1: the name."""
    name = " ".join((update.effective_message.text or "").split()) if update.effective_message else ""
    if not name or len(name) > 128:
        await send(update, context, "The name must be 1 to 128 characters. What is the product's <b>name</b>?")
        return ADD_NAME
    _draft(update, context)["name"] = name
    await send(update, context, f"<b>Price</b> of {esc(name)}? Use {esc(accepted_forms(context.currency))}.")
    return ADD_PRICE


@requires(Role.MANAGER)
async def add_price(update: Update, context: PosContext) -> int:
    """Dialog step 2: the price, in the store currency."""
    try:
        price_minor = parse_money(update.effective_message.text or "", context.currency)
    except PosError as error:
        await send(update, context, lines(esc(error.message), "What is the <b>price</b>?"))
        return ADD_PRICE
    _draft(update, context)["price_minor"] = price_minor
    await send(update, context, "How many are in <b>stock</b> now? (a whole number, 0 if none)")
    return ADD_STOCK


async def _ask_category(update: Update, context: PosContext) -> None:
    async with context.reading() as session:
        categories = await catalog.list_categories(session)
    rows = [[button(c.name, cb(ADD_NS, "cat", c.id))] for c, _ in categories[:MAX_CATEGORY_BUTTONS]]
    rows.append([button("Skip (no category)", cb(ADD_NS, "cat", 0))])
    await send(update, context, "<b>Category</b>? Type one, pick one, or skip.", keyboard(rows))


async def _ask_sku(update: Update, context: PosContext) -> None:
    await send(
        update,
        context,
        f"<b>SKU</b>? ({esc(catalog.CODE_FORM)}) Or skip for an automatic one.",
        keyboard([[button("Skip (automatic SKU)", cb(ADD_NS, "sku", 0))]]),
    )


@requires(Role.MANAGER)
async def add_stock(update: Update, context: PosContext) -> int:
    """Dialog step 3: the stock on hand."""
    try:
        stock = whole_number(update.effective_message.text or "", "the stock", lo=0)
    except PosError as error:
        await send(update, context, lines(esc(error.message), "How many are in <b>stock</b>?"))
        return ADD_STOCK
    _draft(update, context)["stock"] = stock
    await _ask_category(update, context)
    return ADD_CATEGORY


@requires(Role.MANAGER)
async def add_category_text(update: Update, context: PosContext) -> int:
    """Dialog step 4: a typed category (new or existing)."""
    category = " ".join((update.effective_message.text or "").split())
    if category.lower() in SKIP_WORDS:
        _draft(update, context)["category"] = None
        await _ask_sku(update, context)
        return ADD_SKU
    if not category or len(category) > 64:
        await send(update, context, "A category is 1 to 64 characters. Type one, pick one, or skip.")
        return ADD_CATEGORY
    _draft(update, context)["category"] = category
    await _ask_sku(update, context)
    return ADD_SKU


@requires(Role.MANAGER)
async def add_category_button(update: Update, context: PosContext) -> int:
    """Dialog step 4: an existing category picked, or skipped (id 0)."""
    args = await pressed(update, context, ADD_NS, "cat", 1)
    if args is None:
        return ADD_CATEGORY
    category = None
    if args[0]:
        async with context.reading() as session:
            category = next((c.name for c, _ in await catalog.list_categories(session) if c.id == args[0]), None)
        if category is None:
            await refuse(update, context, "That category is gone. Type one, pick another, or skip.")
            return ADD_CATEGORY
    _draft(update, context)["category"] = category
    await show(update, context, f"Category: {esc(category) if category else '—'}")
    await _ask_sku(update, context)
    return ADD_SKU


async def _ask_confirm(update: Update, context: PosContext) -> int:
    draft = _draft(update, context)
    await send(
        update,
        context,
        lines(
            "Add this product?",
            f"<b>{esc(draft['name'])}</b>",
            f"SKU: {esc(draft['sku']) if draft.get('sku') else 'automatic'}",
            f"Price: {money(draft['price_minor'], context.currency)}",
            f"Stock: {draft['stock']}",
            f"Category: {esc(draft['category']) if draft.get('category') else '—'}",
        ),
        keyboard([[button("✅ Add product", cb(ADD_NS, "save")), button("Cancel", cb(ADD_NS, "cancel"))]]),
    )
    return ADD_CONFIRM


@requires(Role.MANAGER)
async def add_sku_text(update: Update, context: PosContext) -> int:
    """Dialog step 5: a typed SKU, refused in place when malformed or taken."""
    sku = (update.effective_message.text or "").strip()
    if sku.lower() in SKIP_WORDS:
        _draft(update, context)["sku"] = None
        return await _ask_confirm(update, context)
    if not catalog.CODE_RE.fullmatch(sku):
        await send(update, context, f"{esc(quoted(sku))} is not a SKU: use {esc(catalog.CODE_FORM)}. Or skip.")
        return ADD_SKU
    try:
        async with context.reading() as session:
            taken = await catalog.get_by_sku(session, sku=sku)
    except NotFound:
        taken = None
    if taken is not None:
        await send(update, context, f"The SKU {esc(quoted(sku))} is already used by {esc(taken.name)}. Another one?")
        return ADD_SKU
    _draft(update, context)["sku"] = sku
    return await _ask_confirm(update, context)


@requires(Role.MANAGER)
async def add_sku_skip(update: Update, context: PosContext) -> int:
    """Dialog step 5 skipped: the catalog makes up a SKU."""
    _draft(update, context)["sku"] = None
    await show(update, context, "SKU: automatic")
    return await _ask_confirm(update, context)


@requires(Role.MANAGER)
async def add_save(update: Update, context: PosContext) -> int:
    """Confirmed: add the product and show its card."""
    draft = _draft(update, context)
    if not {"name", "price_minor", "stock"} <= draft.keys() or not dialog_is_current(context, draft.get("dialog")):
        _drop_draft(update, context)
        await refuse(
            update, context, "This dialog has expired or was interrupted by another one: start again with /add."
        )
        return ConversationHandler.END
    product = await _save_product(
        update,
        context,
        name=draft["name"],
        price_minor=draft["price_minor"],
        stock=draft["stock"],
        category=draft.get("category"),
        sku=draft.get("sku"),
    )
    if product is None:  # e.g. the SKU was taken meanwhile: ask for another
        await _ask_sku(update, context)
        return ADD_SKU
    _drop_draft(update, context)
    await show(update, context, "✅ Added.")
    await send(update, context, _card(product, context), _edit_keyboard(product))
    return ConversationHandler.END


@requires(Role.MANAGER)
async def add_cancel_button(update: Update, context: PosContext) -> int:
    """The Cancel button on the confirmation."""
    _drop_draft(update, context)
    await show(update, context, "Cancelled: no product was added.")
    return ConversationHandler.END


@requires(Role.MANAGER)
async def add_cancel(update: Update, context: PosContext) -> int:
    """/cancel at any step of /add."""
    _drop_draft(update, context)
    await send(update, context, "Cancelled: no product was added.")
    return ConversationHandler.END


@requires(Role.MANAGER)
async def add_busy(update: Update, context: PosContext) -> None:
    """Another command in the middle of /add: the dialog holds (its next text is still an answer)."""
    await send(update, context, "You are adding a product: answer the last question, or /cancel.")


@requires(Role.MANAGER)
async def add_use_buttons(update: Update, context: PosContext) -> int:
    """Text at the confirmation: point at the buttons."""
    await send(update, context, "Tap <b>Add product</b> to save it, or /cancel.")
    return ADD_CONFIRM


# --- /edit -------------------------------------------------------------------------------------
@requires(Role.MANAGER)
async def edit(update: Update, context: PosContext) -> None:
    """A product's card with a button per field."""
    ref = _command_text(update)
    if not ref:
        await send(update, context, usage(EDIT_USAGE))
        return
    try:
        async with context.reading() as session:
            product = await find_product(session, ref)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    await send(update, context, lines(_card(product, context), "", "What to change?"), _edit_keyboard(product))


def _edit_prompt(product: Product, field: str, context: PosContext) -> str:
    name = f"<b>{esc(product.name)}</b>"
    if field == "name":
        return f"Send the new name of {name}."
    if field == "price_minor":
        now = money(product.price_minor, context.currency)
        return f"Send the new price of {name} (now {now}): {esc(accepted_forms(context.currency))}."
    if field == "category":
        now = esc(product.category.name) if product.category else "none"
        return f"Send the category of {name} (now {now}), or - for none."
    if field == "sku":
        return f"Send the new SKU of {name} (now <code>{esc(product.sku)}</code>): {esc(catalog.CODE_FORM)}."
    if field == "barcode":
        now = f"<code>{esc(product.barcode)}</code>" if product.barcode else "none"
        return f"Send the barcode of {name} (now {now}): {esc(catalog.CODE_FORM)}; or - for none."
    now = product.low_stock_threshold if product.low_stock_threshold is not None else "the store default"
    return f"Send the low-stock threshold of {name} (now {now}): a whole number, or - for the store default."


@requires(Role.MANAGER)
async def edit_field(update: Update, context: PosContext) -> int | None:
    """A field button on a product card: ask for the new value."""
    args = cb_args(update.callback_query.data, EDIT_NS, "f", 2)
    if args is None or args[1] not in EDIT_FIELDS:
        await refuse(update, context, STALE_BUTTON)
        return ConversationHandler.END
    product_id, number = args
    try:
        async with context.reading() as session:
            product = await catalog.get_product(session, product_id=product_id)
    except PosError as error:
        await refuse(update, context, error.message)
        return ConversationHandler.END
    field, _ = EDIT_FIELDS[number]
    context.user_data[("edit", update.effective_chat.id)] = (product.id, field, open_dialog(context))
    await answer(update, context)
    await send(update, context, lines(_edit_prompt(product, field, context), "(/cancel to keep it as it is)"))
    return EDIT_VALUE


def _edit_value(field: str, text: str, currency: str) -> Any:
    """The typed value as edit_product wants it; raises InvalidInput with a hint."""
    text = text.strip()
    if field == "price_minor":
        return parse_money(text, currency)
    if field in ("category", "barcode"):
        return None if text.lower() in CLEAR_WORDS else text
    if field == "low_stock_threshold":
        return None if text.lower() in CLEAR_WORDS else whole_number(text, "the threshold", lo=0)
    return text


@requires(Role.MANAGER)
async def edit_value(update: Update, context: PosContext) -> int:
    """The new value of the field chosen on the card."""
    pending = context.user_data.get(("edit", update.effective_chat.id))
    if pending is None:
        await send(update, context, usage(EDIT_USAGE, "Open a product card first, then pick the field to change."))
        return ConversationHandler.END
    product_id, field, dialog = pending
    if not dialog_is_current(context, dialog):  # another dialog was started over this one
        context.user_data.pop(("edit", update.effective_chat.id), None)
        await send(
            update,
            context,
            "That edit was interrupted by another dialog, so nothing was changed: "
            "pick the field on the product card again.",
        )
        return ConversationHandler.END
    text = update.effective_message.text or ""
    try:
        value = _edit_value(field, text, context.currency)
        async with context.transaction() as session:
            product = await catalog.edit_product(
                session, product_id=product_id, actor=context.staff, currency=context.currency, **{field: value}
            )
    except NotFound as error:
        context.user_data.pop(("edit", update.effective_chat.id), None)
        await send(update, context, esc(error.message))
        return ConversationHandler.END
    except PosError as error:  # a bad value or a taken SKU: try again
        await send(update, context, lines(esc(error.message), "Send another value, or /cancel."))
        return EDIT_VALUE
    context.user_data.pop(("edit", update.effective_chat.id), None)
    await send(update, context, lines("✅ Saved.", "", _card(product, context)), _edit_keyboard(product))
    return ConversationHandler.END


@requires(Role.MANAGER)
async def edit_busy(update: Update, context: PosContext) -> None:
    """Another command while a new value is awaited: the next text would still become that value."""
    await send(update, context, "You are changing a product: send the new value, or /cancel to keep it.")


@requires(Role.MANAGER)
async def edit_cancel(update: Update, context: PosContext) -> int:
    """/cancel while a new value is awaited."""
    context.user_data.pop(("edit", update.effective_chat.id), None)
    await send(update, context, "Nothing changed.")
    return ConversationHandler.END


# --- one-line catalog commands -------------------------------------------------------------
@requires(Role.MANAGER)
async def price(update: Update, context: PosContext) -> None:
    """/price <product> <price>"""
    args = context.args or []
    if len(args) < 2:
        await send(update, context, usage(PRICE_USAGE))
        return
    try:
        price_minor = parse_money(args[-1], context.currency)
        async with context.transaction() as session:
            product, _ = await product_then(session, args[:-1], after=0)
            old = product.price_minor
            product = await catalog.set_price(
                session, product_id=product.id, price_minor=price_minor, actor=context.staff, currency=context.currency
            )
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    await send(
        update,
        context,
        f"✅ Price of {named(product)}: "
        f"{money(old, context.currency)} → <b>{money(product.price_minor, context.currency)}</b>",
    )


async def _set_archived(update: Update, context: PosContext, archived: bool) -> None:
    ref = _command_text(update)
    if not ref:
        await send(update, context, usage(ARCHIVE_USAGE if archived else UNARCHIVE_USAGE))
        return
    change = catalog.archive_product if archived else catalog.unarchive_product
    try:
        async with context.transaction() as session:
            product = await find_product(session, ref)
            product = await change(session, product_id=product.id, actor=context.staff)
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    what = (
        "is archived: hidden from sale, its past sales stay. /unarchive puts it back."
        if archived
        else "is back on sale."
    )
    await send(update, context, f"✅ {named(product)} {what}")


@requires(Role.MANAGER)
async def archive(update: Update, context: PosContext) -> None:
    """/archive <product>"""
    await _set_archived(update, context, True)


@requires(Role.MANAGER)
async def unarchive(update: Update, context: PosContext) -> None:
    """/unarchive <product>"""
    await _set_archived(update, context, False)


# --- registration ------------------------------------------------------------------------------
TEXT = filters.TEXT & ~filters.COMMAND


def _conversations() -> list[ConversationHandler]:
    # Buttons inside these dialogs are tracked per chat and user, not per message, on purpose:
    # PTB warns about that combination.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        adding = ConversationHandler(
            entry_points=[CommandHandler("add", add)],
            states={
                ADD_NAME: [MessageHandler(TEXT, add_name)],
                ADD_PRICE: [MessageHandler(TEXT, add_price)],
                ADD_STOCK: [MessageHandler(TEXT, add_stock)],
                ADD_CATEGORY: [
                    MessageHandler(TEXT, add_category_text),
                    CallbackQueryHandler(add_category_button, pattern=cb_pattern(ADD_NS, "cat")),
                ],
                ADD_SKU: [
                    MessageHandler(TEXT, add_sku_text),
                    CallbackQueryHandler(add_sku_skip, pattern=cb_pattern(ADD_NS, "sku")),
                ],
                ADD_CONFIRM: [
                    CallbackQueryHandler(add_save, pattern=cb_pattern(ADD_NS, "save")),
                    CallbackQueryHandler(add_cancel_button, pattern=cb_pattern(ADD_NS, "cancel")),
                    MessageHandler(TEXT, add_use_buttons),
                ],
            },
            fallbacks=[CommandHandler("cancel", add_cancel), MessageHandler(filters.COMMAND, add_busy)],
            allow_reentry=True,
            name="add_product",
            persistent=True,
        )
        editing = ConversationHandler(
            entry_points=[CallbackQueryHandler(edit_field, pattern=cb_pattern(EDIT_NS, "f"))],
            states={EDIT_VALUE: [MessageHandler(TEXT, edit_value)]},
            fallbacks=[CommandHandler("cancel", edit_cancel), MessageHandler(filters.COMMAND, edit_busy)],
            allow_reentry=True,
            name="edit_product",
            persistent=True,
        )
    return [adding, editing]


def handlers() -> list[BaseHandler]:
    return [
        *_conversations(),
        CommandHandler("edit", edit),
        CommandHandler("price", price),
        CommandHandler("archive", archive),
        CommandHandler("unarchive", unarchive),
    ]
