"""Inline mode for staff: `@<bot> milk` in any chat lists matching products with price and stock,
so a cashier can quote a price to a customer in another chat. Strangers get an empty list (the
guard answers them); results are never cached (cache_time 0), so prices are always current.
"""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.ext import BaseHandler, InlineQueryHandler

from db import catalog as catalog_db
from db.errors import PosError
from db.models import Role
from handlers.access import requires
from handlers.context import PosContext
from handlers.render import clip, esc, money

RESULTS = 20


@requires(Role.CASHIER)
async def inline_query(update: Update, context: PosContext) -> None:
    """Products matching the query, each a message quoting its name, price and stock."""
    query = update.inline_query
    text = " ".join(query.query.split())
    results = []
    if text:
        try:
            async with context.reading() as session:
                found = await catalog_db.search_products(session, text=text, page=1, per_page=RESULTS)
        except PosError:  # too long, or too few digits: nothing to list, the box says so below
            found = None
        for product in found.items if found else []:
            price = money(product.price_minor, context.currency)
            stock = f"{product.stock} in stock" if product.stock > 0 else "out of stock"
            quote = f"<b>{esc(clip(product.name, 128))}</b>: {price} ({stock})"
            results.append(
                InlineQueryResultArticle(
                    id=str(product.id),
                    title=f"{clip(product.name, 64)} — {price}",
                    description=f"{stock} · SKU {clip(product.sku, 64)}",
                    input_message_content=InputTextMessageContent(quote),
                )
            )
    await query.answer(results, cache_time=0, is_personal=True)


def handlers() -> list[BaseHandler]:
    return [InlineQueryHandler(inline_query)]
