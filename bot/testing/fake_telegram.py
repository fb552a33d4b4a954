"""A fake Telegram Bot API: answers the methods the bot uses, locally, and records every call.

It enforces the limits Telegram enforces, so a test fails where production would:
text over 4096 characters, captions over 1024, callback data over 64 bytes, more than 100 buttons,
HTML that Telegram would not parse, and an edit that changes nothing ("message is not modified").

Used by the tests and by the console (see bot/testing/chat.py for the chat client on top of it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from telegram.request import BaseRequest, RequestData

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100

FAKE_TOKEN = "123456789:FAKE-token-for-offline-use_0000000000"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "POS Bot", "username": "pos_test_bot"}

# Tags Telegram's HTML parse mode understands.
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
}
_TOKEN_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


class BadRequest(Exception):
    """What Telegram answers with HTTP 400."""


def html_to_text(html: str) -> str:
    """Parse Telegram HTML like Telegram does; return the visible text or raise BadRequest."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(html):
        out.append(html[pos : match.start()])
        pos = match.end()
        closing, tag, _attrs, entity = match.groups()
        if tag:
            tag = tag.lower()
            if tag not in ALLOWED_TAGS:
                raise BadRequest(f'Can\'t parse entities: unsupported start tag "{tag}" at byte offset {match.start()}')
            if closing:
                if not stack or stack[-1] != tag:
                    raise BadRequest(
                        f'Can\'t parse entities: unmatched end tag "</{tag}>" at byte offset {match.start()}'
                    )
                stack.pop()
            else:
                stack.append(tag)
        elif entity:
            out.append(unescape(f"&{entity};"))
        else:
            raise BadRequest(f"Can't parse entities: unexpected {match.group(0)!r} at byte offset {match.start()}")
    out.append(html[pos:])
    if stack:
        raise BadRequest(f"Can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class StoredMessage:
    """A message the bot sent, as it currently is after edits."""

    chat_id: int
    message_id: int
    html: str = ""  # the text or caption as the bot sent it (HTML)
    reply_markup: dict | None = None
    kind: str = "text"  # text | photo | document
    file: bytes | None = None
    filename: str | None = None
    deleted: bool = False
    edits: int = 0

    @property
    def text(self) -> str:
        """What the user sees."""
        return html_to_text(self.html)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def to_api(self) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": _chat(self.chat_id),
            "from": BOT_USER,
        }
        if self.kind == "text":
            msg["text"] = self.text
        else:
            if self.html:
                msg["caption"] = self.text
            if self.kind == "photo":
                msg["photo"] = [
                    {
                        "file_id": f"photo-{self.message_id}",
                        "file_unique_id": f"p{self.message_id}",
                        "width": 800,
                        "height": 400,
                    }
                ]
            else:
                msg["document"] = {
                    "file_id": f"doc-{self.message_id}",
                    "file_unique_id": f"d{self.message_id}",
                    "file_name": self.filename or "file",
                }
        if self.reply_markup:
            msg["reply_markup"] = self.reply_markup
        return msg


def _chat_of(params: dict) -> int | None:
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Shop group"}
    return {"id": chat_id, "type": "private", "first_name": "User"}


@dataclass
class FakeTelegram(BaseRequest):
    """A `BaseRequest` that never touches the network. Give it to ApplicationBuilder.request()."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], StoredMessage] = field(default_factory=dict)
    commands: dict[str, list[dict]] = field(default_factory=dict)  # scope (json) -> commands
    answered_queries: dict[str, dict] = field(default_factory=dict)
    inline_answers: dict[str, dict] = field(default_factory=dict)  # inline query id -> answerInlineQuery
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content, for getFile and downloads
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    # Slow replies on demand: a request for a held chat waits until its gate is set (hold()).
    held: dict[int, asyncio.Event] = field(default_factory=dict)
    _reply_waiters: dict[int, asyncio.Event] = field(default_factory=dict)

    # --- BaseRequest -------------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_timeouts
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # a download of a file getFile described
            content = self.files.get(url.rsplit("/", 1)[-1])
            return (200, content) if content is not None else self._error(404, "Not Found: file")
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = request_data.multipart_data if request_data and request_data.contains_files else {}
        gate = self.held.get(_chat_of(params))
        if gate is not None:
            await gate.wait()
        self.calls.append(Call(api_method, params))
        handler = getattr(self, f"_api_{api_method}", None)
        if handler is None:
            return self._error(404, f"Not Found: method {api_method} is not faked")
        try:
            result = handler(params, files)
        except BadRequest as exc:
            return self._error(400, f"Bad Request: {exc}")
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _error(code: int, description: str) -> tuple[int, bytes]:
        return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()

    # --- helpers for tests -------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def chat_messages(self, chat_id: int) -> list[StoredMessage]:
        return [m for (c, _), m in sorted(self.messages.items()) if c == chat_id and not m.deleted]

    def next_id(self) -> int:
        return next(self._ids)

    def hold(self, chat_id: int) -> asyncio.Event:
        """Make every request for this chat wait until the returned gate is set (slow replies)."""
        return self.held.setdefault(chat_id, asyncio.Event())

    def reply_seen(self, chat_id: int) -> asyncio.Event:
        """An event set when the bot next sends a message to this chat."""
        return self._reply_waiters.setdefault(chat_id, asyncio.Event())

    def upload(self, content: bytes) -> str:
        """Keep a file a user sends (a photo) and return its file_id, as Telegram's servers do."""
        file_id = f"file{self.next_id()}"
        self.files[file_id] = content
        return file_id

    # --- validation --------------------------------------------------------------------------
    @staticmethod
    def _check_text(html: str, limit: int, what: str) -> None:
        text = html_to_text(html)
        if len(text) > limit:
            raise BadRequest(f"{what} is too long ({len(text)} > {limit})")

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # reply keyboards and removals are accepted as they are
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not button.get("text"):
                    raise BadRequest("button text is empty")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise BadRequest("BUTTON_DATA_INVALID")
        if count > MAX_BUTTONS:
            raise BadRequest("reply markup is too long")
        return markup

    def _message(self, params: dict) -> StoredMessage:
        key = (int(params["chat_id"]), int(params["message_id"]))
        msg = self.messages.get(key)
        if msg is None or msg.deleted:
            raise BadRequest("message to edit not found")
        return msg

    def _store(self, msg: StoredMessage) -> dict:
        self.messages[(msg.chat_id, msg.message_id)] = msg
        waiter = self._reply_waiters.pop(msg.chat_id, None)
        if waiter is not None:
            waiter.set()
        return msg.to_api()

    # --- Bot API methods ---------------------------------------------------------------------
    def _api_getMe(self, params, files):
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendMessage(self, params, files):
        html = str(params.get("text", ""))
        if not html.strip():
            raise BadRequest("message text is empty")
        self._check_text(html, MAX_TEXT, "message")
        markup = self._check_markup(params.get("reply_markup"))
        return self._store(StoredMessage(int(params["chat_id"]), self.next_id(), html, markup))

    def _api_editMessageText(self, params, files):
        msg = self._message(params)
        if msg.kind != "text":
            raise BadRequest("there is no text in the message to edit")
        html = str(params.get("text", ""))
        self._check_text(html, MAX_TEXT, "message")
        return self._edit(msg, html, self._check_markup(params.get("reply_markup")))

    def _api_editMessageReplyMarkup(self, params, files):
        msg = self._message(params)
        return self._edit(msg, msg.html, self._check_markup(params.get("reply_markup")))

    @staticmethod
    def _edit(msg: StoredMessage, html: str, markup: dict | None) -> dict:
        if html == msg.html and markup == msg.reply_markup:
            raise BadRequest(NOT_MODIFIED)
        msg.html, msg.reply_markup, msg.edits = html, markup, msg.edits + 1
        return msg.to_api()

    def _api_deleteMessage(self, params, files):
        self._message(params).deleted = True
        return True

    def _send_file(self, params, files, kind: str, field_name: str):
        caption = str(params.get("caption", "") or "")
        self._check_text(caption, MAX_CAPTION, "message caption")
        content, filename = None, None
        for name, value in files.items():
            if name == field_name or params.get(field_name) == f"attach://{name}":
                filename, content = value[0], value[1]
        if content is not None and not isinstance(content, bytes):
            content = content.read()
        markup = self._check_markup(params.get("reply_markup"))
        msg = StoredMessage(int(params["chat_id"]), self.next_id(), caption, markup, kind, content, filename)
        return self._store(msg)

    def _api_sendPhoto(self, params, files):
        return self._send_file(params, files, "photo", "photo")

    def _api_sendDocument(self, params, files):
        return self._send_file(params, files, "document", "document")

    def _api_getFile(self, params, files):
        file_id = str(params.get("file_id", ""))
        content = self.files.get(file_id)
        if content is None:
            raise BadRequest("wrong file_id or the file is temporarily unavailable")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content), "file_path": file_id}

    def _api_answerInlineQuery(self, params, files):
        query_id = str(params["inline_query_id"])
        if query_id in self.inline_answers:
            raise BadRequest("query is too old and response timeout expired or query ID is invalid")
        results = params.get("results", [])
        if isinstance(results, str):
            results = json.loads(results)
        if len(results) > 50:
            raise BadRequest("RESULTS_TOO_MUCH")
        for result in results:
            content = result.get("input_message_content") or {}
            self._check_text(str(content.get("message_text", "")), MAX_TEXT, "message")
            if not result.get("title") or len(str(result.get("id", "")).encode()) > 64:
                raise BadRequest("RESULT_ID_INVALID or empty title")
        self.inline_answers[query_id] = {**params, "results": results}
        return True

    def _api_answerCallbackQuery(self, params, files):
        query_id = str(params["callback_query_id"])
        if query_id in self.answered_queries:
            raise BadRequest("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise BadRequest("MESSAGE_TOO_LONG")
        self.answered_queries[query_id] = params
        return True

    def _api_setMyCommands(self, params, files):
        scope = params.get("scope") or {"type": "default"}
        self.commands[json.dumps(scope, sort_keys=True)] = list(params.get("commands", []))
        return True

    def _api_deleteMyCommands(self, params, files):
        scope = params.get("scope") or {"type": "default"}
        self.commands.pop(json.dumps(scope, sort_keys=True), None)
        return True

    def _api_sendChatAction(self, params, files):
        return True

    def _api_setWebhook(self, params, files):
        return True

    def _api_deleteWebhook(self, params, files):
        return True

    def _api_getUpdates(self, params, files):
        return []

    def _api_close(self, params, files):
        return True

    def _api_logOut(self, params, files):
        return True

    def commands_for_chat(self, chat_id: int) -> list[str]:
        """The command menu a chat sees (its own scope, else the default)."""
        for scope in ({"type": "chat", "chat_id": chat_id}, {"type": "default"}):
            found = self.commands.get(json.dumps(scope, sort_keys=True))
            if found is not None:
                return [c["command"] for c in found]
        return []
