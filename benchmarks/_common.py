"""Shared plumbing for the benchmarks: throwaway databases, timing, medians and tables.

Benchmarks report ratios measured in the same run on the same machine; absolute numbers are
printed for context only (shared 2-core machines are noisy, so absolute times mean little).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import SessionFactory, make_engine, make_session_factory
from db.models import Base
from db.settings import Settings

POSTGRES_URL_ENV = "POS_TEST_POSTGRES_URL"  # the same variable the tests use


@dataclass
class Database:
    backend: str  # "sqlite" or "postgres"
    engine: AsyncEngine
    factory: SessionFactory
    where: str = ""  # the SQLite file, or the PostgreSQL schema (for a raw driver's connection)


def backends(only: str | None = None) -> list[str]:
    """SQLite always; PostgreSQL when POS_TEST_POSTGRES_URL is set."""
    found = ["sqlite"] + (["postgres"] if os.environ.get(POSTGRES_URL_ENV) else [])
    if only:
        if only not in found:
            raise SystemExit(f"backend {only!r} is not available (set {POSTGRES_URL_ENV} for postgres)")
        return [only]
    return found


@asynccontextmanager
async def database(backend: str) -> AsyncIterator[Database]:
    """A fresh, empty database with the production engine settings, removed afterwards.

    SQLite: a file in a temporary directory (WAL, synchronous=FULL, BEGIN IMMEDIATE as in
    production). PostgreSQL: a unique schema selected with search_path and dropped at the end,
    as tests/conftest.py does.
    """
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pos-bench-") as tmp:
            engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(Base.metadata.create_all)
                yield Database(backend, engine, make_session_factory(engine), str(Path(tmp) / "bench.db"))
            finally:
                await engine.dispose()
        return

    url = os.environ[POSTGRES_URL_ENV]
    schema = f"bench_{uuid.uuid4().hex}"
    admin = make_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)

    @event.listens_for(engine.sync_engine, "do_connect")
    def _use_schema(_dialect, _record, _cargs, cparams) -> None:
        cparams["server_settings"] = {**cparams.get("server_settings", {}), "search_path": schema}

    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield Database(backend, engine, make_session_factory(engine), schema)
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def bench_settings(*, currency: str, timezone: str, admin_id: int) -> Settings:
    """The settings of a benchmark's shop: no token, no .env file, a low-stock threshold of 3."""
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        store_name="Bench Shop",
        currency=currency,
        store_timezone=timezone,
        admin_ids=[admin_id],
        low_stock_threshold=3,
    )


def now() -> float:
    return time.perf_counter()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.2f} MiB"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def machine() -> str:
    """CPUs and load average: how busy the machine was (other jobs make every number noisier)."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min)"


def parser(doc: str | None, *, reps: int) -> argparse.ArgumentParser:
    """A command line with --reps and --backend, the module docstring as help."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=reps, help=f"repetitions per measurement (default {reps})")
    p.add_argument("--backend", choices=["sqlite", "postgres"], help="run one backend only")
    return p


def progress(message: str) -> Callable[[], None]:
    """Print ``message…`` now and its duration when the returned function is called."""
    start = now()
    print(f"  {message}…", end="", flush=True)

    def done() -> None:
        print(f" {now() - start:.1f} s", flush=True)

    return done
