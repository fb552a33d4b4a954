"""Dialog state in the database: a PTB `BasePersistence` on our own tables (db/dialogs.py).

What is stored is plain data as JSON: numbers, strings, lists, dicts (keys too may be tuples or
numbers), enums and dataclasses of our own modules (a checkout's `Draft`), tagged so they read
back as they were. Anything else (an ORM row, a Telegram object) is refused when written. Every
row carries FORMAT_VERSION; a row of another version, or one that no longer decodes (a class
renamed by a later release), is discarded with a log line and the user starts that dialog again.

PTB writes persistence on a timer and after the handler returned; a dialog's step must be stored
before its screen goes out, so handlers/dialogs.py writes through this class in the handler path
(see there). The timer and the shutdown flush offer the same data again.

A write of what the row already holds is skipped: the persistence remembers the text of every row
it read at start and wrote since (only one bot process is active at a time, and it loads the rows
after it became active, so nothing else changes them). A step that stores the dialog's state and
the chat's draft is then two statements (upserts), and a user's empty data, empty before, costs
none. What it cannot be sure of (a row it could not decode, a write that failed, two writes of one
row at once) it forgets, and the next write goes to the database.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import logging
from collections import defaultdict
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from db import dialogs
from db.engine import SessionFactory, transaction

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Classes a stored value may name: our own code only, never something a row could smuggle in.
TRUSTED_MODULES = ("handlers.", "db.")
# PTB's timer flush; the handler path writes at once (handlers/dialogs.py), so this is only a backstop.
UPDATE_INTERVAL = 300


class NotPlainData(TypeError):
    pass


def encode(value: Any) -> Any:
    """`value` as JSON-ready data, with tags for what JSON lacks."""
    if value is None or (isinstance(value, bool | int | float | str) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, enum.Enum):
        return {"$enum": _name(type(value)), "v": encode(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$data": _name(type(value)), "v": fields}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    raise NotPlainData(f"{type(value).__qualname__} is not plain data: store its id instead")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$tuple" in value:
        return tuple(decode(v) for v in value["$tuple"])
    if "$dict" in value:
        return {_hashable(decode(k)): decode(v) for k, v in value["$dict"]}
    if "$enum" in value:
        return _class(value["$enum"])(decode(value["v"]))
    if "$data" in value:
        cls = _class(value["$data"])
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{value['$data']} is not a dataclass")
        return cls(**{name: decode(v) for name, v in value["v"].items()})
    raise ValueError(f"unknown stored value {sorted(value)}")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _name(cls: type) -> str:
    name = f"{cls.__module__}:{cls.__qualname__}"
    if not cls.__module__.startswith(TRUSTED_MODULES):
        raise NotPlainData(f"{name} is not one of ours")
    return name


def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith(TRUSTED_MODULES):
        raise ValueError(f"{name} is not one of ours")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def dumps(value: Any) -> str:
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return decode(json.loads(text))


_UNKNOWN = object()  # what a row holds, when the persistence cannot be sure
Row = tuple[str, int | str]  # ("chat" | "user", owner id) or ("conversation:<name>", key as JSON)


def _conversation(name: str) -> str:
    return f"conversation:{name}"


class DbPersistence(BasePersistence):
    """Conversation states, chat_data and user_data in the database; no bot_data, no callback_data."""

    def __init__(self, session_factory: SessionFactory) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=UPDATE_INTERVAL,
        )
        self.session_factory = session_factory
        # The text each row holds (None: no row), as read at start or last written.
        self._stored: dict[Row, object] = {}
        self._loaded: set[str] = set()  # kinds read in full at start: a row not in _stored is absent
        self._writing: dict[Row, int] = {}  # writes of a row in flight
        self._contended: set[Row] = set()  # rows written by two writes at once: content unsure

    # --- reading, once at start --------------------------------------------------------------
    def _load(self, rows, what: str, kind: str, row_id, value) -> list[tuple[Any, Any]]:
        loaded = []
        for row in rows:
            try:
                if row.version != FORMAT_VERSION:
                    raise ValueError(f"format {row.version}, this release reads {FORMAT_VERSION}")
                loaded.append(value(row))
                self._stored[(kind, row_id(row))] = row.state if kind.startswith("conversation:") else row.data
            except Exception as error:  # an old or broken row must not stop the bot: drop it
                log.warning("discarded stored %s (%s)", what, error)
                self._stored[(kind, row_id(row))] = _UNKNOWN  # still there: the next write replaces it
        self._loaded.add(kind)
        return loaded

    async def get_conversations(self, name: str) -> dict:
        async with self.session_factory() as session:
            rows = await dialogs.conversations(session, name=name)
        kind = _conversation(name)
        pairs = self._load(
            rows, f"step of {name}", kind, lambda r: r.key, lambda r: (tuple(json.loads(r.key)), loads(r.state))
        )
        return dict(pairs)

    async def _get_data(self, kind: str) -> defaultdict[int, dict]:
        async with self.session_factory() as session:
            rows = await dialogs.data(session, kind=kind)
        pairs = self._load(rows, f"{kind} data", kind, lambda r: r.owner_id, lambda r: (r.owner_id, loads(r.data)))
        return defaultdict(dict, pairs)

    async def get_chat_data(self) -> defaultdict[int, dict]:
        return await self._get_data(dialogs.CHAT)

    async def get_user_data(self) -> defaultdict[int, dict]:
        return await self._get_data(dialogs.USER)

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    # --- writing: each call one committed transaction, of the rows that change -----------------
    def _known(self, row: Row) -> object:
        return self._stored.get(row, None if row[0] in self._loaded else _UNKNOWN)

    async def _write(self, changes: list[tuple[Row, str | None]]) -> None:
        """Store each row's new text (None: no row) in one transaction; rows that already hold
        theirs are left alone, and with nothing to change no transaction is opened."""
        changes = [(row, text) for row, text in changes if row in self._writing or self._known(row) != text]
        if not changes:
            return
        for row, _ in changes:
            if self._writing.get(row):
                self._contended.add(row)
            self._writing[row] = self._writing.get(row, 0) + 1
        committed = False
        try:
            async with transaction(self.session_factory) as session:
                for (kind, row_id), text in changes:
                    if kind.startswith("conversation:"):
                        name = kind.partition(":")[2]
                        await dialogs.set_conversation(
                            session, name=name, key=str(row_id), state=text, version=FORMAT_VERSION
                        )
                    else:
                        await dialogs.set_data(
                            session, kind=kind, owner_id=int(row_id), data=text, version=FORMAT_VERSION
                        )
            committed = True
        finally:
            for row, text in changes:
                sure = committed and row not in self._contended
                self._stored[row] = text if sure else _UNKNOWN
                self._writing[row] -= 1
                if not self._writing[row]:
                    del self._writing[row]
                    self._contended.discard(row)

    @staticmethod
    def _step_row(name: str, key: tuple, state: object | None) -> tuple[Row, str | None]:
        return (_conversation(name), json.dumps(list(key))), None if state is None else dumps(state)

    @staticmethod
    def _data_row(kind: str, owner_id: int, data: dict | None) -> tuple[Row, str | None]:
        return (kind, owner_id), dumps(data) if data else None

    async def update_conversation(self, name: str, key: tuple, new_state: object | None) -> None:
        await self._write([self._step_row(name, key, new_state)])

    async def store_step(
        self,
        *,
        step: tuple[str, tuple, object | None] | None,
        chat: tuple[int, dict] | None,
        user: tuple[int, dict] | None,
    ) -> None:
        """A dialog's step (name, key, state; None: unchanged) and the chat's and user's data, in
        one transaction: a crash stores all of them or none (handlers/dialogs.py)."""
        changes = []
        if step is not None:
            changes.append(self._step_row(*step))
        if chat is not None:
            changes.append(self._data_row(dialogs.CHAT, *chat))
        if user is not None:
            changes.append(self._data_row(dialogs.USER, *user))
        await self._write(changes)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await self._write([self._data_row(dialogs.CHAT, chat_id, data)])

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._write([self._data_row(dialogs.USER, user_id, data)])

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._write([self._data_row(dialogs.CHAT, chat_id, None)])

    async def drop_user_data(self, user_id: int) -> None:
        await self._write([self._data_row(dialogs.USER, user_id, None)])

    async def update_bot_data(self, data: dict) -> None:
        return None

    async def update_callback_data(self, data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        return None  # one bot process is active at a time: what it holds in memory is current

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict) -> None:
        return None

    async def flush(self) -> None:
        return None  # every write is committed when it is made
