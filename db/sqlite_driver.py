"""SQLite connections that cross to the database's thread once per statement.

aiosqlite runs each sqlite3 connection in a thread of its own and hands it every call from the
event loop. SQLAlchemy's aiosqlite adapter makes four such calls per statement: make a cursor,
execute, fetch the rows, close the cursor. A hand-over costs far more than a point query (about
120 µs of wall time each on a 2-core machine, against a few µs for the query itself), so a
cashier's update spent most of its database time waiting for threads to wake up.

``connector`` gives SQLAlchemy the same aiosqlite connection, whose cursors do all four steps in
one call to the thread: the statement runs, its rows, description, row count and last row id come
back together, and the sqlite3 cursor is closed there. SQLAlchemy fetches a result's rows all at
once anyway; only a streamed result (``stream()``, which nothing here uses) would now be read
whole too.
Transactions, errors, ``create_function`` and closing are aiosqlite's own. It is plugged in
through ``create_async_engine(async_creator=...)`` (see db.engine.make_engine); nothing else
changes: same driver, same SQL, same locking.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL

# What one statement hands back from the thread: description, rows, row count, last row id.
_Outcome = tuple[Any, list[Any], int, int | None]


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one thread hand-over per statement."""

    def cursor(self) -> Cursor:  # type: ignore[override]  # aiosqlite's is awaited; SQLAlchemy enters ours
        return Cursor(self)

    # Run in the connection's thread, as aiosqlite's own _execute_fetchall is.
    def _statement(self, sql: str, parameters: Sequence[Any]) -> _Outcome:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    def _statements(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> _Outcome:
        cursor = self._conn.cursor()
        try:
            cursor.executemany(sql, seq_of_parameters)
            return cursor.description, [], cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()


class Cursor:
    """What SQLAlchemy's adapter asks of an aiosqlite cursor, with the rows already fetched."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        self._take(await self._connection._execute(self._connection._statement, sql, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Cursor:
        self._take(await self._connection._execute(self._connection._statements, sql, seq_of_parameters))
        return self

    def _take(self, outcome: _Outcome) -> None:
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    async def fetchall(self) -> list[Any]:
        rows, self._rows = list(self._rows), deque()
        return rows

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._rows.clear()


def _open(database: str, kwargs: dict[str, Any]) -> Connection:
    connection = Connection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    # As SQLAlchemy does for the connections aiosqlite.connect makes: a connection never closed
    # (a crash) must not keep the interpreter from exiting.
    connection._thread.daemon = True
    return connection


def connector(url: URL, connect_args: dict[str, Any]) -> Any:
    """The ``async_creator`` for ``url``: a new connection, opened with the arguments SQLAlchemy
    would have given aiosqlite for that URL, plus ``connect_args``."""
    dialect = url.get_dialect()()
    cargs, cparams = dialect.create_connect_args(url)
    (database,) = cargs
    kwargs = {**cparams, **connect_args}

    async def create() -> Connection:
        return await _open(database, kwargs)

    return create
