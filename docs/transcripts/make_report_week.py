"""Regenerate report-week.txt and report-week.png: a real `/report week` over the demo store.

    .venv/bin/python docs/transcripts/make_report_week.py

The production Application over the fake Telegram, a fresh SQLite file filled by db.demo (a month
of sales through the real checkout), and Mia the manager typing `/report week`. The clock is set
to Sunday 22 November 2026, 20:30 in Berlin, so "this week" is a whole week of trading.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from bot.testing.chat import FakeShop  # noqa: E402
from db import periods  # noqa: E402
from db.demo import seed_demo  # noqa: E402
from db.engine import make_engine, make_session_factory, transaction  # noqa: E402
from db.models import Base  # noqa: E402
from db.settings import Settings  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 20, 30, tzinfo=TZ)
MANAGER_ID = 100002  # Mia Manager in db.demo


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/demo.db"
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        factory = make_session_factory(engine)
        settings = Settings(
            _env_file=None,
            database_url=url,
            store_name="Corner Shop",
            currency="EUR",
            store_timezone=TZ.key,
            admin_ids=[100001],
            low_stock_threshold=5,
        )
        async with transaction(factory) as session:
            await seed_demo(session, currency=settings.currency, tz=TZ, default_threshold=5, now=NOW)
        # "Today" for the report is the day of NOW (parse_period reads the clock through local_today).
        periods.local_today = lambda tz, now=None: NOW.astimezone(tz).date()

        async with FakeShop(settings, factory) as shop:
            mia = shop.client(MANAGER_ID, "Mia")
            before = len(mia.messages)
            await mia.send("/report week")
            replies = mia.messages[before:]
        await engine.dispose()

    photo = next(m for m in replies if m.kind == "photo")
    out = ["> /report week", ""]
    for message in replies:
        if message.kind == "photo":
            out += ["[photo: report-week.png]", message.text]
        else:
            out.append(message.text)
        if message.buttons:
            out.append("  ".join(f"[{label}]" for label, _ in message.buttons))
        out.append("")
    (HERE / "report-week.txt").write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")
    (HERE / "report-week.png").write_bytes(photo.file)
    print("\n".join(out))


if __name__ == "__main__":
    asyncio.run(main())
