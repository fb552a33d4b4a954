"""/start, /help and /cancel: greeting, the commands of your role, leaving a dialog."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from db.models import Role
from handlers.access import requires
from handlers.context import PosContext
from handlers.menu import commands_for, publish_menu
from handlers.render import esc, lines
from handlers.reply import send


def _command_list(role: Role) -> str:
    return "\n".join(f"/{name} — {esc(description)}" for name, description in commands_for(role))


@requires(Role.CASHIER)
async def start(update: Update, context: PosContext) -> None:
    """Greet a staff member by name and role, and refresh their command menu."""
    staff = context.staff
    assert staff is not None
    name = staff.name or (update.effective_user.first_name if update.effective_user else "")
    await publish_menu(context.bot, staff.telegram_id, staff.role)
    await send(
        update,
        context,
        lines(
            f"Hello, {esc(name)}! This is <b>{esc(context.settings.store_name)}</b>.",
            f"You are signed in as <b>{staff.role.value}</b>.",
            "",
            "Type a product name to search, or use a command:",
            _command_list(staff.role),
        ),
    )


@requires(Role.CASHIER)
async def help_command(update: Update, context: PosContext) -> None:
    """List the commands this staff member may use."""
    assert context.staff is not None
    await send(
        update, context, lines(f"<b>Your commands ({context.staff.role.value})</b>", _command_list(context.staff.role))
    )


@requires(Role.CASHIER)
async def cancel(update: Update, context: PosContext) -> None:
    """/cancel outside any dialog: nothing to leave."""
    await send(update, context, "There is nothing to cancel. /help lists your commands.")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
    ]


def late_handlers() -> list[BaseHandler]:
    """Registered after every dialog, so a dialog's own /cancel wins."""
    return [CommandHandler("cancel", cancel)]
