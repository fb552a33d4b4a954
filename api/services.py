"""What every request needs, built once by create_api and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from db.engine import SessionFactory
from db.settings import Settings


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    session_factory: SessionFactory
    read_factory: SessionFactory  # sessions that only read: see db.engine.make_read_session_factory
