"""handlers/workers.py: CPU work in one spawned worker process, reused, stopped with the Application."""

from __future__ import annotations

import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.app import build_application, shutdown
from db.settings import Settings
from handlers.workers import WORKER_NICENESS, Workers


async def test_jobs_run_in_one_spawned_process_that_is_reused_until_shut_down():
    workers = Workers()
    assert workers._pool is None  # nothing is started before the first job
    first = await workers.run(os.getpid)
    assert first != os.getpid()
    assert await workers.run(os.getpid) == first  # the same worker, kept alive
    assert workers._pool._mp_context.get_start_method() == "spawn"
    process = next(iter(workers._pool._processes.values()))
    await workers.shutdown()
    assert workers._pool is None and not process.is_alive()
    await workers.shutdown()  # twice is harmless
    again = await workers.run(os.getpid)  # a job after a shutdown starts a new worker
    assert again not in (first, os.getpid())
    await workers.shutdown()


async def test_the_worker_gives_way_to_the_bot():
    # A chart being drawn takes the CPU only when the bot's own process does not want it.
    workers = Workers()
    try:
        assert await workers.run(os.nice, 0) == os.nice(0) + WORKER_NICENESS
    finally:
        await workers.shutdown()


async def test_a_worker_that_died_is_replaced_by_the_next_job():
    workers = Workers()
    pid = await workers.run(os.getpid)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        await workers.run(os.getpid)  # in flight or refused: the pool is broken either way
    again = await workers.run(os.getpid)
    assert again not in (pid, os.getpid())
    await workers.shutdown()


async def test_the_application_stops_its_worker(session_factory):
    settings = Settings(_env_file=None, telegram_bot_token=None, store_name="Shop", currency="USD")
    application = build_application(settings, session_factory=session_factory, token="1:fake")
    workers = application.bot_data["services"].workers
    await workers.run(os.getpid)
    process = next(iter(workers._pool._processes.values()))
    await shutdown(application)
    assert workers._pool is None and not process.is_alive()
