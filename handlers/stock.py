"""Stock, for managers: /restock and /adjust move it, /stock and /lowstock list it.

Every move goes through db.stock, which writes the ledger row (who, why) and the audit entry in
the same transaction as the new stock level.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import catalog
from db import stock as stock_db
from db.errors import InvalidInput, PosError
from db.models import Role
from handlers.access import requires
from handlers.context import PosContext, update_key
from handlers.products import named, product_then, usage, whole_number
from handlers.render import cb_args, cb_pattern, esc, keyboard, lines, pager_row, split_message, stock_line
from handlers.reply import STALE_BUTTON, refuse, send, show

STOCK_NS = "stock"
STOCK_PER_PAGE = 15
RESTOCK_USAGE = "/restock <sku, barcode, id or name> <qty> [note]"
ADJUST_USAGE = "/adjust <sku, barcode, id or name> <±qty> <reason>"


@requires(Role.MANAGER)
async def restock(update: Update, context: PosContext) -> None:
    """/restock <product> <qty> [note]"""
    args = context.args or []
    if len(args) < 2:
        await send(update, context, usage(RESTOCK_USAGE))
        return
    try:
        async with context.transaction() as session:
            product, rest = await product_then(session, args, after=1)
            qty = whole_number(rest[0], "the quantity", lo=1)
            product = await stock_db.restock(
                session,
                product_id=product.id,
                qty=qty,
                note=" ".join(rest[1:]),
                actor=context.staff,
                default_threshold=context.settings.low_stock_threshold,
                request_key=update_key(update),
            )
    except PosError as error:
        await send(update, context, lines(esc(error.message), usage(RESTOCK_USAGE)))
        return
    await send(
        update,
        context,
        f"✅ Restocked {named(product)}: +{qty} → stock <b>{product.stock}</b>",
    )


@requires(Role.MANAGER)
async def adjust(update: Update, context: PosContext) -> None:
    """/adjust <product> <±qty> <reason>"""
    args = context.args or []
    if len(args) < 3:
        problem = "A reason is required (count, breakage, theft...)." if len(args) == 2 else None
        await send(update, context, usage(ADJUST_USAGE, problem))
        return
    try:
        async with context.transaction() as session:
            product, rest = await product_then(session, args, after=2)
            delta = whole_number(rest[0], "the change", lo=-catalog.MAX_STOCK, signed=True)
            if delta == 0:
                raise InvalidInput("The change must not be zero.")
            reason = " ".join(rest[1:])
            product = await stock_db.adjust(
                session,
                product_id=product.id,
                delta=delta,
                reason=reason,
                actor=context.staff,
                default_threshold=context.settings.low_stock_threshold,
                request_key=update_key(update),
            )
    except PosError as error:
        await send(update, context, esc(error.message))
        return
    await send(
        update,
        context,
        f"✅ Adjusted {named(product)} by {delta:+d} ({esc(reason)}) → stock <b>{product.stock}</b>",
    )


# --- /stock and /lowstock ----------------------------------------------------------------------
async def _stock_page(update: Update, context: PosContext, page: int) -> None:
    try:
        async with context.reading() as session:
            rows = await stock_db.list_stock(
                session, page=page, per_page=STOCK_PER_PAGE, default_threshold=context.settings.low_stock_threshold
            )
    except PosError as error:
        await refuse(update, context, error.message)
        return
    if not rows.total:
        await show(update, context, "No products on sale yet. /add adds one.")
        return
    text = lines(
        f"<b>Stock</b> — {rows.total} products on sale (⚠️ = at or below the low-stock threshold)",
        "",
        *(stock_line(row.product, threshold=row.threshold) for row in rows.items),
    )
    await show(update, context, text, keyboard([pager_row(STOCK_NS, "page", rows.page, rows.pages)]))


@requires(Role.MANAGER)
async def stock(update: Update, context: PosContext) -> None:
    """Every product on sale with its stock, paged."""
    await _stock_page(update, context, 1)


@requires(Role.MANAGER)
async def stock_button(update: Update, context: PosContext) -> None:
    """‹ › on the stock list."""
    args = cb_args(update.callback_query.data, STOCK_NS, "page", 1)
    if args is None or args[0] < 1:
        await refuse(update, context, STALE_BUTTON)
        return
    await _stock_page(update, context, args[0])


@requires(Role.MANAGER)
async def lowstock(update: Update, context: PosContext) -> None:
    """Products at or below their low-stock threshold, emptiest first."""
    default = context.settings.low_stock_threshold
    async with context.reading() as session:
        products = await stock_db.low_stock(session, default_threshold=default)
    if not products:
        await send(update, context, "Nothing is running low. 👍")
        return
    text = lines(
        f"⚠️ <b>Running low</b>: {len(products)}",
        *(stock_line(p, threshold=stock_db.effective_threshold(p, default)) for p in products),
        "",
        f"Receive goods with <code>{esc(RESTOCK_USAGE)}</code>.",
    )
    for chunk in split_message(text):
        await send(update, context, chunk)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("restock", restock),
        CommandHandler("adjust", adjust),
        CommandHandler("stock", stock),
        CommandHandler("lowstock", lowstock),
        CallbackQueryHandler(stock_button, pattern=cb_pattern(STOCK_NS, "page")),
    ]
