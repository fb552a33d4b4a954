"""Helpers for the cashier's counter tests: seeding, reading the database, replays, transcripts."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telegram import Update

from bot.testing.chat import ChatClient
from bot.testing.fake_telegram import StoredMessage
from db import carts, catalog
from db.carts import CartView
from db.engine import SessionFactory, transaction
from db.models import Customer, Product, Sale, SaleLine, StockMovement
from tests.factories import make_customer, make_product

_replay_ids = itertools.count(10_000_000)


async def product(factory: SessionFactory, **fields: Any) -> Product:
    """Add one product (see tests.factories.make_product for the fields)."""
    async with transaction(factory) as session:
        return await make_product(session, **fields)


async def customer(factory: SessionFactory, **fields: Any) -> Customer:
    async with transaction(factory) as session:
        return await make_customer(session, **fields)


async def cart_of(factory: SessionFactory, chat_id: int) -> CartView:
    async with transaction(factory) as session:
        return await carts.get_cart_view(session, chat_id=chat_id)


async def fill(factory: SessionFactory, chat_id: int, *items: tuple[Product, int]) -> CartView:
    """Put products in a chat's cart directly, as another tap or another process would."""
    async with transaction(factory) as session:
        view = await carts.get_cart_view(session, chat_id=chat_id)
        for item, qty in items:
            view = await carts.add_item(session, chat_id=chat_id, product_id=item.id, qty=qty)
        return view


async def stock(factory: SessionFactory, product_id: int) -> int:
    async with factory() as session:
        return (await catalog.get_product(session, product_id=product_id)).stock


async def sales(factory: SessionFactory) -> list[Sale]:
    async with factory() as session:
        return list((await session.scalars(select(Sale).order_by(Sale.id))).all())


async def sale_lines(factory: SessionFactory, sale_id: int) -> list[SaleLine]:
    async with factory() as session:
        rows = await session.scalars(select(SaleLine).where(SaleLine.sale_id == sale_id).order_by(SaleLine.id))
        return list(rows.all())


async def movements(factory: SessionFactory, product_id: int) -> list[StockMovement]:
    async with factory() as session:
        rows = await session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
        return list(rows.all())


async def count(factory: SessionFactory, model: type) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def data_of(message: StoredMessage, label: str) -> str:
    """The callback data of the button with this exact label."""
    for text, data in message.buttons:
        if text == label:
            return data
    raise AssertionError(f"no button {label!r} among {[t for t, _ in message.buttons]}")


async def replay_press(client: ChatClient, data: str, message: StoredMessage, times: int = 2) -> None:
    """Deliver the very same callback update (same update id, same query id) several times."""
    update_id = next(_replay_ids)
    payload = {
        "update_id": update_id,
        "callback_query": {
            "id": f"replay{update_id}",
            "from": {"id": client.user_id, "is_bot": False, "first_name": client.first_name},
            "chat_instance": f"ci{client.chat_id}",
            "data": data,
            "message": message.to_api(),
        },
    }
    raw = json.dumps(payload)
    for _ in range(times):
        await client.application.process_update(Update.de_json(json.loads(raw), client.application.bot))
    errors = client.application.bot_data.get("recent_errors", [])
    assert not errors, f"a handler raised: {errors[-1]!r}"


# --- transcripts -------------------------------------------------------------------------------
@dataclass
class Transcript:
    """Records what a cashier typed and tapped and what the bot showed, as plain text."""

    client: ChatClient
    lines: list[str] = field(default_factory=list)

    def _snapshot(self) -> dict[int, tuple[str, Any]]:
        return {m.message_id: (m.html, m.reply_markup) for m in self.client.messages}

    def _record(self, before: dict[int, tuple[str, Any]]) -> None:
        answer = self.client.last_answer
        for message in self.client.messages:
            if before.get(message.message_id) == (message.html, message.reply_markup):
                continue
            edited = message.message_id in before
            self.lines.append(("(edited in place)\n" if edited else "") + message.text)
            rows = (message.reply_markup or {}).get("inline_keyboard", [])
            for row in rows:
                self.lines.append(" ".join(f"[{b['text']}]" for b in row))
            self.lines.append("")
        if answer and answer.get("text"):
            kind = "alert" if answer.get("show_alert") else "toast"
            self.lines.append(f"({kind}: {answer['text']})")
            self.lines.append("")

    async def send(self, text: str) -> None:
        before = self._snapshot()
        self.lines.append(f"> {text}")
        self.client.last_answer = None
        await self.client.send(text)
        self._record(before)

    async def tap(self, label: str) -> None:
        before = self._snapshot()
        message = self.client._keyboard_message()
        assert message is not None
        shown = next((t for t, _ in message.buttons if t == label), None) or next(
            t for t, _ in message.buttons if re.search(label, t)
        )
        self.lines.append(f"> [{shown}]")
        await self.client.tap(label)
        self._record(before)

    async def send_photo(self, content: bytes, what: str) -> None:
        before = self._snapshot()
        self.lines.append(f"> (photo of {what})")
        self.client.last_answer = None
        await self.client.send_photo(content)
        self._record(before)

    @property
    def interactions(self) -> int:
        """Messages typed or sent and buttons tapped: each one a round trip to Telegram."""
        return sum(1 for line in self.lines if line.startswith("> "))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"

    def save(self, path: str, header: str = "") -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(header + self.text(), encoding="utf-8")
