"""SQLite connections that hand each statement to the database's thread once.

aiosqlite runs each sqlite3 connection in a thread of its own and hands it every call from the
event loop. SQLAlchemy's aiosqlite adapter makes four such calls per statement (make a cursor,
execute, fetch the rows, close the cursor) and three more per transaction (BEGIN, COMMIT, and the
rollback the pool gives every connection it takes back). A hand-over costs far more than a point
query (about 100 µs of wall time, waking two threads, against a few µs for the query itself), so a
cashier's update spent most of its database time waiting for threads to wake up.

``connector`` gives SQLAlchemy the same aiosqlite connection, with three changes:

* its cursors do all four steps in one call to the thread: the statement runs, and its rows,
  description, row count and last row id come back together (SQLAlchemy fetches a result's rows
  all at once anyway; only a streamed result, ``stream()``, which nothing here uses, would now be
  read whole too);
* a BEGIN is not sent on its own: it goes with the transaction's first statement, in the same
  call, just before it (a BEGIN IMMEDIATE that cannot get the write lock then fails on that
  statement instead of on the BEGIN: the transaction fails all the same, having done nothing);
* a commit or rollback while no transaction is open (the pool's rollback after a commit, the
  commit of a transaction that ran no statement) does not cross to the thread: sqlite3 would do
  nothing with it there. Whether one is open is read from sqlite3 only while no call is queued
  or running on the connection.

Errors, ``create_function`` and closing are aiosqlite's own. It is plugged in through
``create_async_engine(async_creator=...)`` (see db.engine.make_engine): same driver, same SQL,
same locking.
"""

from __future__ import annotations

import re
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL

# A transaction's BEGIN, in any of SQLite's forms.
_BEGIN = re.compile(r"\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$", re.IGNORECASE)

# What one statement hands back from the thread: description, rows, row count, last row id.
_Outcome = tuple[Any, list[Any], int, int | None]


class Connection(aiosqlite.Connection):
    """An aiosqlite connection that costs one thread hand-over per statement and one per commit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._begin: str | None = None  # a BEGIN to send with the next statement
        self._sent = 0  # calls handed to the thread (counted on the event loop)
        self._done = 0  # calls the thread has finished (counted in the thread)

    def cursor(self) -> Cursor:  # type: ignore[override]  # aiosqlite's is awaited; SQLAlchemy enters ours
        return Cursor(self)

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._sent += 1
        return await super()._execute(self._counted, fn, args, kwargs)

    def _counted(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            self._done += 1

    def _no_transaction(self) -> bool:
        """Whether no transaction is open: only asked of sqlite3 while the thread has nothing to do."""
        if self._sent != self._done or self._connection is None:
            return False
        try:
            return not self._connection.in_transaction
        except sqlite3.ProgrammingError:  # closed meanwhile: let aiosqlite say so, as it would have
            return False

    async def commit(self) -> None:
        self._begin = None
        if not self._no_transaction():
            await super().commit()

    async def rollback(self) -> None:
        self._begin = None
        if not self._no_transaction():
            await super().rollback()

    def _take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    # Run in the connection's thread, as aiosqlite's own _execute_fetchall is.
    def _statement(self, begin: str | None, sql: str, parameters: Sequence[Any]) -> _Outcome:
        cursor = self._conn.cursor()
        try:
            if begin is not None:
                cursor.execute(begin)
            cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    def _statements(self, begin: str | None, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> _Outcome:
        cursor = self._conn.cursor()
        try:
            if begin is not None:
                cursor.execute(begin)
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
        connection = self._connection
        if not parameters and _BEGIN.match(sql):
            connection._begin = sql  # sent with the transaction's first statement
            self._take((None, [], -1, self.lastrowid))
            return self
        self._take(await connection._execute(connection._statement, connection._take_begin(), sql, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Cursor:
        connection = self._connection
        self._take(
            await connection._execute(connection._statements, connection._take_begin(), sql, seq_of_parameters)
        )
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
    # Used in its thread, but for the in_transaction look of commit and rollback (see Connection).
    kwargs = {**kwargs, "check_same_thread": False}
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
