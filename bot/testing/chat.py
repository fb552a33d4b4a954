"""A chat client over the production Application and the fake Telegram.

`send("/cart")` and `tap("Checkout")` build real Telegram updates and run them through
`Application.process_update`; what the bot sent back is read from the fake Telegram.
Tests use it, and so does the console.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application, shutdown, startup
from bot.testing.fake_telegram import FAKE_TOKEN, FakeTelegram, StoredMessage

_update_ids = itertools.count(1)


@dataclass
class ChatClient:
    application: Application
    fake: FakeTelegram
    user_id: int
    first_name: str = "Ann"
    chat_id: int | None = None  # defaults to the private chat with the user
    strict: bool = True  # fail when a button press goes unanswered or a handler raises
    last_answer: dict[str, Any] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.chat_id is None:
            self.chat_id = self.user_id

    # --- what the user sees ------------------------------------------------------------------
    @property
    def messages(self) -> list[StoredMessage]:
        return self.fake.chat_messages(self.chat_id)

    @property
    def last_reply(self) -> StoredMessage:
        msgs = self.messages
        if not msgs:
            raise AssertionError("the bot has not said anything in this chat")
        return msgs[-1]

    @property
    def text(self) -> str:
        """The visible text of the last reply."""
        return self.last_reply.text

    @property
    def buttons(self) -> list[str]:
        """Labels of the buttons on the newest message that has any."""
        msg = self._keyboard_message()
        return [label for label, _ in msg.buttons] if msg else []

    @property
    def photos(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.kind == "photo"]

    @property
    def documents(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.kind == "document"]

    def _keyboard_message(self) -> StoredMessage | None:
        for msg in reversed(self.messages):
            if msg.buttons:
                return msg
        return None

    # --- what the user does ------------------------------------------------------------------
    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name, "language_code": "en"}

    def _chat(self) -> dict[str, Any]:
        if self.chat_id < 0:
            return {"id": self.chat_id, "type": "supergroup", "title": "Shop group"}
        return {"id": self.chat_id, "type": "private", "first_name": self.first_name}

    async def send(self, text: str) -> StoredMessage | None:
        """Type a message (a /command or plain text) and return the newest message in the chat."""
        await self._process(self._message_payload(text))
        msgs = self.messages
        return msgs[-1] if msgs else None

    def message_update(self, text: str) -> Update:
        """The update `send(text)` would process, to queue it instead (application.update_queue)."""
        return Update.de_json(self._message_payload(text), self.application.bot)

    def _message_payload(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.fake.next_id(),
            "date": int(time.time()),
            "chat": self._chat(),
            "from": self._user(),
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return {"update_id": next(_update_ids), "message": message}

    async def send_photo(self, content: bytes, caption: str | None = None, *, as_file: bool = False) -> None:
        """Send a picture: a compressed photo, or with `as_file` an image sent as a document."""
        file_id = self.fake.upload(content)
        message: dict[str, Any] = {
            "message_id": self.fake.next_id(),
            "date": int(time.time()),
            "chat": self._chat(),
            "from": self._user(),
        }
        if as_file:
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": "code.png",
                "mime_type": "image/png",
                "file_size": len(content),
            }
        else:
            size = {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 800, "height": 600}
            message["photo"] = [{**size, "file_size": len(content)}]
        if caption is not None:
            message["caption"] = caption
        await self._process({"update_id": next(_update_ids), "message": message})

    async def inline(self, query: str) -> dict[str, Any] | None:
        """Type `@bot query` in any chat; returns what the bot answered (None: no answer at all)."""
        query_id = f"iq{next(_update_ids)}"
        update = {
            "update_id": next(_update_ids),
            "inline_query": {"id": query_id, "from": self._user(), "query": query, "offset": ""},
        }
        await self._process(update)
        return self.fake.inline_answers.get(query_id)

    async def tap(self, label: str, *, message: StoredMessage | None = None) -> dict[str, Any] | None:
        """Press a button by its exact label (or else a regex search) on the newest keyboard.

        Returns the callback answer (text, show_alert) the bot gave.
        """
        msg = message or self._keyboard_message()
        if msg is None:
            raise AssertionError("there are no buttons to tap")
        data = self._find(msg, label)
        return await self.press(data, message=msg)

    async def press(self, data: str, *, message: StoredMessage | None = None) -> dict[str, Any] | None:
        """Send a callback query with this exact data (forged or replayed payloads, too)."""
        msg = message or self._keyboard_message() or self.last_reply
        query_id = f"q{next(_update_ids)}"
        update = {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": query_id,
                "from": self._user(),
                "chat_instance": f"ci{self.chat_id}",
                "data": data,
                "message": msg.to_api(),
            },
        }
        await self._process(update)
        self.last_answer = self.fake.answered_queries.get(query_id)
        if self.strict and self.last_answer is None:
            raise AssertionError(f"button press {data!r} was not answered")
        return self.last_answer

    @staticmethod
    def _find(msg: StoredMessage, label: str) -> str:
        for text, data in msg.buttons:
            if text == label:
                return data
        for text, data in msg.buttons:
            if re.search(label, text):
                return data
        raise AssertionError(f"no button {label!r} among {[t for t, _ in msg.buttons]}")

    async def _process(self, payload: dict[str, Any]) -> None:
        errors = self.application.bot_data.setdefault("recent_errors", [])
        before = len(errors)
        await self.application.process_update(Update.de_json(payload, self.application.bot))
        if self.strict and len(errors) > before:
            raise AssertionError(f"a handler raised: {errors[-1]!r}") from errors[-1]


class FakeShop:
    """The production Application over the fake Telegram, started and ready for chat clients.

    async with FakeShop(settings, session_factory) as shop:
        ann = shop.client(user_id=1001, first_name="Ann")
        await ann.send("/start")
    """

    def __init__(self, settings, session_factory=None) -> None:
        self.fake = FakeTelegram()
        self.application = build_application(
            settings, request=self.fake, session_factory=session_factory, token=FAKE_TOKEN
        )

    async def __aenter__(self) -> FakeShop:
        await self.application.initialize()
        await startup(self.application)
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.application.shutdown()
        await shutdown(self.application)

    def client(
        self, user_id: int, first_name: str = "Ann", chat_id: int | None = None, strict: bool = True
    ) -> ChatClient:
        return ChatClient(self.application, self.fake, user_id, first_name, chat_id, strict)
