"""Tax rates, for managers: /tax lists them; add, set (a product or a category), default.

The rules (which rate a product gets, what a rate may be) live in db.taxes.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from db import taxes
from db.errors import PosError
from db.models import Role
from handlers.access import requires
from handlers.context import PosContext
from handlers.render import clip, esc, lines
from handlers.reply import send

TAX_USAGE = (
    "/tax — the rates\n"
    "/tax add <name> <rate%> — e.g. /tax add VAT 16%\n"
    "/tax set <sku|category> <name> — that product's or category's rate\n"
    "/tax default <name> — the rate of everything else"
)


def _rate_line(rate) -> str:
    default = " — <b>default</b>" if rate.is_default else ""
    return f"• {esc(clip(rate.name, 32))}: {taxes.format_rate(rate.rate_bp)}{default}"


async def _list(update: Update, context: PosContext) -> None:
    async with context.reading() as session:
        rates = await taxes.list_rates(session)
    include = "include tax" if context.settings.prices_include_tax else "exclude tax (it is added at checkout)"
    if not rates:
        body = "No tax rates yet: sales carry no tax."
    else:
        body = lines(*(_rate_line(rate) for rate in rates))
    await send(update, context, lines("<b>Tax rates</b>", body, f"Shelf prices {include}.", "", esc(TAX_USAGE)))


@requires(Role.MANAGER)
async def tax(update: Update, context: PosContext) -> None:
    """/tax, /tax add <name> <rate%>, /tax set <sku|category> <name>, /tax default <name>"""
    args = context.args or []
    if not args:
        await _list(update, context)
        return
    action, rest = args[0].lower(), args[1:]
    try:
        if action == "add" and len(rest) >= 2:
            rate_bp = taxes.parse_rate(rest[-1])
            async with context.transaction() as session:
                rate = await taxes.add_rate(session, name=" ".join(rest[:-1]), rate_bp=rate_bp, actor=context.staff)
            text = f"✅ Added {esc(rate.name)} {taxes.format_rate(rate.rate_bp)}" + (
                " (the store default)." if rate.is_default else "."
            )
        elif action == "set" and len(rest) >= 2:
            async with context.transaction() as session:
                what = await taxes.assign(session, target=rest[0], name=" ".join(rest[1:]), actor=context.staff)
                rate = await taxes.find_rate(session, " ".join(rest[1:]))
            text = f"✅ {esc(clip(what, 80))} is now taxed at {esc(rate.name)} {taxes.format_rate(rate.rate_bp)}."
        elif action == "default" and rest:
            async with context.transaction() as session:
                rate = await taxes.set_default(session, name=" ".join(rest), actor=context.staff)
            text = f"✅ {esc(rate.name)} {taxes.format_rate(rate.rate_bp)} is the store default."
        else:
            text = esc(TAX_USAGE)
    except PosError as error:
        text = lines(esc(error.message), "", esc(TAX_USAGE))
    await send(update, context, text)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("tax", tax)]
