"""CPU work that must not hold up other chats: a worker process next to the bot.

A worker thread (asyncio.to_thread) keeps the event loop free only while the work releases the
GIL; drawing a chart with matplotlib or writing a spreadsheet with openpyxl is pure Python for most
of its time, so a thread still makes every other chat wait in turns with it. A worker process does
not share the GIL. One process, started ("spawn", never "fork": the bot is an asyncio process with
threads) by the first job and reused by every later one, so its start-up (importing matplotlib)
is paid once per Application; it stops with the Application.

The worker runs at a lower CPU priority (nice 10): on a small machine a chart being drawn then
takes the CPU only when the bot itself (a cashier's update) does not want it.

Only plain data crosses (pickled): the functions run in the worker are module-level and take and
return plain values (dates, ints, strings, bytes), never ORM objects or closures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

WORKER_NICENESS = 10  # added to the worker's nice value: the cashier's updates come first


def _lower_priority() -> None:
    """The worker's initializer: give way to the bot's own process."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # a platform or sandbox without it: run at the bot's priority
        pass


class Workers:
    """Runs ``fn(*args, **kwargs)`` in the worker process and awaits its result."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, partial(fn, *args, **kwargs))
        except BrokenProcessPool:
            # The worker died (killed, out of memory): this job fails, the next one starts a new worker.
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:  # created by the first job: a bot that never draws starts no process
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_lower_priority
            )
        return self._pool

    async def shutdown(self) -> None:
        """Stop the worker (waiting for the job it runs, dropping queued ones); a later job starts a new one."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
