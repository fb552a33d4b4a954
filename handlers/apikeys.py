"""/apikey: the REST API's keys (admins only): list, make one (shown once), revoke one.

The rules live in db.apikeys (only a hash is stored; a revoked key stops at once; creation and
revocation are audited). A new key is shown only in a private chat: in a group everyone would
see it.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from db import apikeys as apikeys_db
from db.errors import PosError
from db.models import ApiKey, Role
from handlers.access import requires
from handlers.context import PosContext
from handlers.render import clip, esc, lines, local_time, split_message
from handlers.reply import send

ROLES = "|".join(role.value for role in Role)
USAGE = lines(
    "<b>API keys</b>",
    "/apikey — every key: id, name, role, created, last used",
    f"/apikey new &lt;{ROLES}&gt; &lt;name&gt; — make a key (shown once)",
    "/apikey revoke &lt;id&gt; — stop a key at once",
)
MAX_NAME = 64


def _line(key: ApiKey, context: PosContext) -> str:
    used = local_time(key.last_used_at, context.tz) if key.last_used_at else "never"
    state = f" · <i>revoked {esc(local_time(key.revoked_at, context.tz))}</i>" if key.revoked_at else ""
    return (
        f"<b>#{key.id}</b> {esc(clip(key.name, MAX_NAME))} · {key.role.value} · "
        f"created {esc(local_time(key.created_at, context.tz))} · last used {esc(used)}{state}"
    )


async def _list(update: Update, context: PosContext) -> None:
    async with context.reading() as session:
        keys = await apikeys_db.list_keys(session)
    if not keys:
        await send(update, context, lines("No API keys yet.", "", USAGE))
        return
    text = lines(f"<b>API keys</b> ({len(keys)})", *(_line(k, context) for k in keys), "", USAGE)
    for part in split_message(text):
        await send(update, context, part)


async def _new(update: Update, context: PosContext, words: list[str]) -> None:
    if len(words) < 2:
        await send(update, context, USAGE)
        return
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await send(update, context, "Make API keys in your private chat with me: here everyone would see the key.")
        return
    try:
        async with context.transaction() as session:
            row, key = await apikeys_db.create_key(
                session, role=words[0], name=" ".join(words[1:]), actor=context.staff
            )
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    await send(
        update,
        context,
        lines(
            f"API key {esc(apikeys_db.describe(row))} created. It is shown only this once: copy it now, "
            "then delete this message.",
            f"<code>{esc(key)}</code>",
            f"Use it as <code>Authorization: Bearer &lt;key&gt;</code>; /apikey revoke {row.id} stops it.",
        ),
    )


async def _revoke(update: Update, context: PosContext, words: list[str]) -> None:
    if len(words) != 1 or not words[0].lstrip("#").isdigit():
        await send(update, context, USAGE)
        return
    key_id = int(words[0].lstrip("#"))
    try:
        async with context.transaction() as session:
            row = await apikeys_db.revoke_key(session, key_id=key_id, actor=context.staff)
    except PosError as err:
        await send(update, context, esc(err.message))
        return
    await send(update, context, f"API key {esc(apikeys_db.describe(row))} is revoked: its next request gets 401.")


@requires(Role.ADMIN)
async def apikey_command(update: Update, context: PosContext) -> None:
    """/apikey, /apikey new <role> <name>, /apikey revoke <id>."""
    words = context.args or []
    if not words:
        await _list(update, context)
    elif words[0].lower() == "new":
        await _new(update, context, words[1:])
    elif words[0].lower() == "revoke":
        await _revoke(update, context, words[1:])
    else:
        await send(update, context, USAGE)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("apikey", apikey_command)]
