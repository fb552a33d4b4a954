"""Scheduled pushes (being written)."""

from __future__ import annotations

from telegram.ext import Application


def schedule(application: Application) -> None:
    """Schedule the report pushes on the application's JobQueue."""
    return None
