"""`python -m bot api`: the REST API on uvicorn, at API_LISTEN:API_PORT.

It migrates the database first like every other mode. On SIGTERM or Ctrl-C uvicorn stops
accepting connections and lets the requests in flight finish (up to GRACEFUL_SECONDS) before the
engine is disposed. Uvicorn's access log shows method, path and status, never headers: API keys
stay out of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from api.app import create_api
from bot.logging_setup import configure_logging
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from db.settings import Settings

log = logging.getLogger(__name__)
GRACEFUL_SECONDS = 30


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Uvicorn re-raises the signal it stopped on once it has shut down, so the process would
        # end "killed by SIGTERM"; like the bot's run modes, a requested stop exits 0.
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def run_api(settings: Settings) -> int:
    configure_logging(settings)
    upgrade(settings.database_url)
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        app = create_api(settings, make_session_factory(engine))
        config = uvicorn.Config(
            app,
            host=settings.api_listen,
            port=settings.api_port,
            log_config=None,  # ours (configure_logging): one format, secrets redacted
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            server_header=False,
        )
        log.info(
            "REST API on http://%s:%s (docs at /docs; Ctrl-C or SIGTERM stops)", settings.api_listen, settings.api_port
        )
        await _Server(config).serve()
    finally:
        await engine.dispose()
