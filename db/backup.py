"""Backups of a SQLite database with SQLite's online backup API (safe while the bot is running).

The copy is a consistent snapshot (WAL included), written next to the target and renamed into
place, so a crash halfway never leaves a half-written backup under the target's name. PostgreSQL
is backed up with its own tools (pg_dump); see docs/deploy.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import is_sqlite


class BackupError(Exception):
    """Why the backup could not be made, in one line."""


class BadArguments(BackupError):
    """Nothing was tried: the database or the target is not usable as given."""


class NoDatabase(BadArguments):
    """The SQLite file DATABASE_URL names does not exist."""


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL. Raises for in-memory SQLite."""
    if not is_sqlite(database_url):
        return None
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise BadArguments("DATABASE_URL is an in-memory SQLite database: there is no file to back up")
    return Path(name)


def require_existing(database_url: str) -> None:
    """Refuse to go on when a SQLite database file does not exist (never create one by accident)."""
    path = sqlite_file(database_url)
    if path is not None and not path.is_file():
        raise NoDatabase(f"No database at {path} (DATABASE_URL): nothing there yet")


def backup_sqlite(database_url: str, target: Path, *, overwrite: bool = False) -> int:
    """Copy the live SQLite database to `target`; return the size of the copy in bytes."""
    source = sqlite_file(database_url)
    if source is None:
        raise BadArguments("backup works on SQLite only: for PostgreSQL use pg_dump (see docs/deploy.md)")
    require_existing(database_url)
    target = Path(target)
    if target.resolve() == source.resolve():
        raise BadArguments(f"{target} is the database itself: choose another file")
    if target.exists() and not overwrite:
        raise BadArguments(f"{target} already exists (use --force to replace it)")
    if not target.parent.is_dir():
        raise BadArguments(
            f"No folder {target.parent} to write {target.name} in: create it first, or choose another path"
        )

    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(partial)) as dst:
            src.execute("PRAGMA busy_timeout=15000")
            src.backup(dst)
            # The copy keeps the source's WAL mode: make it a single self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
            problem = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the copy failed its integrity check: {problem}")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
