"""/staff: who works here, with which role; add, remove and change roles (admins only).

The rules live in db.staff (the last active admin can be neither removed nor demoted, every
change is audited); this module parses, calls it, and refreshes the Telegram command menu of the
person whose role changed.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import staff as staff_db
from db import staff_invites
from db.errors import PosError
from db.models import Role, Staff
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.menu import publish_menu
from handlers.render import button, cb, cb_args, cb_pattern, esc, keyboard, lines, pager_row
from handlers.reply import STALE_BUTTON, refuse, send, show

NS = "staff"
PER_PAGE = 10
MAX_NAME = 128

USAGE = lines(
    "<b>Staff</b>",
    "/staff — everyone, with their role",
    "/staff add &lt;telegram id&gt; &lt;cashier|manager|admin&gt; [name]",
    "/staff remove &lt;telegram id&gt;",
    "/staff role &lt;telegram id&gt; &lt;cashier|manager|admin&gt;",
    "/staff invite &lt;cashier|manager|admin&gt; — a one-time link that adds whoever opens it",
    "A person's Telegram id is shown to them when they write to the bot.",
)

# Buttons carry the role as its rank (ids only in payloads).
_BY_RANK = {role.rank: role for role in Role}


# --- parsing -------------------------------------------------------------------------------------
def parse_telegram_id(text: str) -> int | None:
    """A staff member's Telegram id, as the CLI takes it: a user's (group ids are negative and not
    people) or one of the reserved ids of the console and the demo staff."""
    if not re.fullmatch(r"\d{1,19}", text):
        return None
    value = int(text)
    return value if staff_db.is_telegram_id(value) else None


def parse_role(text: str) -> Role | None:
    try:
        return Role(text.strip().lower())
    except ValueError:
        return None


# --- rendering -----------------------------------------------------------------------------------
def _who(member: Staff) -> str:
    if not member.name:
        return f"user <code>{member.telegram_id}</code>"
    return f"{esc(member.name)} (<code>{member.telegram_id}</code>)"


def _admin_ids_note(context: PosContext, member: Staff) -> str | None:
    """What a restart does for someone listed in ADMIN_IDS (it makes admins only while there is none)."""
    if member.telegram_id not in context.settings.admin_ids:
        return None
    return (
        "They are listed in ADMIN_IDS, which makes admins only while the shop has no active admin: "
        "they stay removed after a restart. Take them out of ADMIN_IDS too."
    )


def _label(member: Staff) -> str:
    return f"{member.name or member.telegram_id} · {member.role.value if member.active else 'removed'}"


def _list_screen(members: list[Staff], page: int):
    active = [m for m in members if m.active]
    former = [m for m in members if not m.active]
    ordered = sorted(active, key=lambda m: (-m.role.rank, m.name.lower(), m.telegram_id)) + sorted(
        former, key=lambda m: (m.name.lower(), m.telegram_id)
    )
    pages = max(1, -(-len(ordered) // PER_PAGE))
    page = min(max(page, 1), pages)
    shown = ordered[(page - 1) * PER_PAGE : page * PER_PAGE]
    rows = [
        f"• {_who(m)} — <b>{m.role.value}</b>" if m.active else f"• {_who(m)} — {m.role.value}, <i>removed</i>"
        for m in shown
    ]
    text = lines(
        f"<b>Staff</b> ({len(active)} active, {len(former)} removed)",
        *rows,
        "",
        "Tap a person to change their role or remove them; /staff help for the commands.",
    )
    buttons = [[button(_label(m), cb(NS, "show", m.telegram_id))] for m in shown]
    return text, keyboard([*buttons, pager_row(NS, "list", page, pages)])


def _member_screen(member: Staff):
    if member.active:
        text = lines(f"<b>{_who(member)}</b>", f"Role: <b>{member.role.value}</b>", "", "Change the role or remove:")
        role_row = [
            button(f"Make {role.value}", cb(NS, "role", member.telegram_id, role.rank))
            for role in Role
            if role != member.role
        ]
        rows = [role_row, [button("Remove", cb(NS, "remove", member.telegram_id))]]
    else:
        text = lines(f"<b>{_who(member)}</b>", f"Removed (was {member.role.value}).", "", "Add them back as:")
        rows = [[button(role.value.capitalize(), cb(NS, "readd", member.telegram_id, role.rank)) for role in Role]]
    rows.append([button("‹ Staff", cb(NS, "list", 1))])
    return text, keyboard(rows)


# --- operations ----------------------------------------------------------------------------------
async def _change(context: PosContext, op: str, telegram_id: int, role: Role | None, name: str = ""):
    """Run one staff change; return (member, None) or (None, error message)."""
    try:
        async with context.transaction() as session:
            if op == "add":
                member = await staff_db.add_staff(
                    session, telegram_id=telegram_id, role=role, name=name, actor=context.staff
                )
            elif op == "role":
                member = await staff_db.set_role(session, telegram_id=telegram_id, role=role, actor=context.staff)
            else:
                member = await staff_db.remove_staff(session, telegram_id=telegram_id, actor=context.staff)
    except PosError as err:
        return None, err.message
    # The person's own menu follows their role; a removed person falls back to the default menu.
    await publish_menu(context.bot, member.telegram_id, member.role if member.active else None)
    return member, None


def _done(op: str, member: Staff) -> str:
    if op == "remove":
        return f"Removed {_who(member)}: they can no longer use the bot."
    if op == "add":
        return f"{_who(member)} is now on the staff as <b>{member.role.value}</b>."
    return f"{_who(member)} is now <b>{member.role.value}</b>."


# --- commands ------------------------------------------------------------------------------------
@requires(Role.ADMIN)
async def staff_command(update: Update, context: PosContext) -> None:
    """/staff, /staff add|remove|role ...: list or change the staff."""
    args = context.args or []
    if not args:
        async with context.reading() as session:
            members = await staff_db.list_staff(session)
        text, markup = _list_screen(members, 1)
        await send(update, context, text, markup)
        return
    verb = args[0].lower()
    if verb == "invite" and len(args) == 2 and parse_role(args[1]):
        await _invite(update, context, parse_role(args[1]))
        return
    telegram_id = parse_telegram_id(args[1]) if len(args) > 1 else None
    if verb == "add" and len(args) >= 3 and telegram_id and parse_role(args[2]):
        name = " ".join(args[3:])[:MAX_NAME]
        op, role = "add", parse_role(args[2])
    elif verb == "remove" and len(args) == 2 and telegram_id:
        op, role, name = "remove", None, ""
    elif verb == "role" and len(args) == 3 and telegram_id and parse_role(args[2]):
        op, role, name = "role", parse_role(args[2]), ""
    else:
        await send(update, context, USAGE)
        return
    member, problem = await _change(context, op, telegram_id, role, name)
    if problem:
        await send(update, context, esc(problem))
        return
    note = _admin_ids_note(context, member) if op == "remove" else None
    await send(update, context, lines(_done(op, member), note))


async def _invite(update: Update, context: PosContext, role: Role) -> None:
    """/staff invite <role>: a one-time link, shown once (only its hash is kept)."""
    try:
        async with context.transaction() as session:
            payload, _invite_row = await staff_invites.make_invite(session, role=role, actor=context.staff)
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    url = f"https://t.me/{context.bot.username}?start={payload}"
    await send(
        update,
        context,
        lines(
            f"✉️ <b>Invitation as {role.value}</b>",
            f"Send this link to the person: it adds them once, within {staff_invites.VALID_HOURS} hours, "
            "after they confirm their name.",
            f'<a href="{esc(url)}">{esc(url)}</a>',
        ),
    )


# --- buttons -------------------------------------------------------------------------------------
@requires(Role.ADMIN)
async def list_button(update: Update, context: PosContext) -> None:
    """‹ › through the staff list."""
    args = await pressed(update, context, NS, "list", 1)
    if args is None:
        return
    async with context.reading() as session:
        members = await staff_db.list_staff(session)
    text, markup = _list_screen(members, args[0])
    await show(update, context, text, markup)


async def _member(context: PosContext, telegram_id: int) -> Staff | None:
    async with context.reading() as session:
        members = await staff_db.list_staff(session)
    return next((m for m in members if m.telegram_id == telegram_id), None)


@requires(Role.ADMIN)
async def show_button(update: Update, context: PosContext) -> None:
    """One person: their role, with buttons to change it or remove them."""
    args = cb_args(update.callback_query.data, NS, "show", 1, telegram_ids=(0,))
    member = await _member(context, args[0]) if args else None
    if member is None:
        await refuse(update, context, "That person is not on the staff list any more.")
        return
    text, markup = _member_screen(member)
    await show(update, context, text, markup)


@requires(Role.ADMIN)
async def remove_button(update: Update, context: PosContext) -> None:
    """Ask before removing someone."""
    args = cb_args(update.callback_query.data, NS, "remove", 1, telegram_ids=(0,))
    member = await _member(context, args[0]) if args else None
    if member is None or not member.active:
        await refuse(update, context, "That person is not on the active staff.")
        return
    text = lines(
        f"Remove {_who(member)}?", "They will no longer be able to use the bot.", _admin_ids_note(context, member)
    )
    markup = keyboard(
        [[button("Yes, remove", cb(NS, "rmok", member.telegram_id)), button("No", cb(NS, "show", member.telegram_id))]]
    )
    await show(update, context, text, markup)


@requires(Role.ADMIN)
async def change_button(update: Update, context: PosContext) -> None:
    """Make cashier/manager/admin, confirm removal, or add a removed person back."""
    data = update.callback_query.data or ""
    action = data.split(":")[1] if data.count(":") >= 1 else ""
    args = cb_args(data, NS, action, 1 if action == "rmok" else 2, telegram_ids=(0,))
    role = _BY_RANK.get(args[1]) if args and action != "rmok" else None
    if args is None or (action != "rmok" and role is None) or parse_telegram_id(str(args[0])) is None:
        await refuse(update, context, STALE_BUTTON)
        return
    op = {"role": "role", "rmok": "remove", "readd": "add"}[action]
    name = ""
    if op == "add":
        former = await _member(context, args[0])
        if former is None or former.active:
            await refuse(update, context, "That person is already on the staff.")
            return
        name = former.name
    member, problem = await _change(context, op, args[0], role, name)
    if problem:
        await refuse(update, context, problem)
        return
    text, markup = _member_screen(member)
    note = _admin_ids_note(context, member) if op == "remove" else None
    await show(update, context, lines(_done(op, member), note, "", text), markup)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("staff", staff_command),
        CallbackQueryHandler(list_button, pattern=cb_pattern(NS, "list")),
        CallbackQueryHandler(show_button, pattern=cb_pattern(NS, "show")),
        CallbackQueryHandler(remove_button, pattern=cb_pattern(NS, "remove")),
        CallbackQueryHandler(change_button, pattern=rf"^{NS}:(role|rmok|readd)(:|$)"),
    ]
