"""The fake Telegram over HTTP: a tiny Bot API server on loopback, for tests and for trying it out.

It serves ``POST /bot<token>/<method>`` by handing the call to a `FakeTelegram` (the same fake the
tests and the console use in-process), and keeps a queue of updates for ``getUpdates``. Point the
real bot at it with ``TELEGRAM_API_URL=http://127.0.0.1:<port>`` and it runs unchanged, over HTTP,
with no network and no real token:

    python -m bot.testing.fake_server --port 8081 --user-id 1001    # then, in another terminal:
    TELEGRAM_API_URL=http://127.0.0.1:8081 TELEGRAM_BOT_TOKEN=123456789:FAKE-token-for-offline-use_0000000000 \\
        ADMIN_IDS=1001 python -m bot run

Lines typed into the server's terminal arrive at the bot as messages from --user-id; what the bot
sends back is printed. HTTP/1.1 with keep-alive, JSON, form and multipart bodies; nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.testing.fake_telegram import FAKE_TOKEN, Call, FakeTelegram, html_to_text

# Parameters PTB sends JSON-encoded inside form fields; everything else stays a string, as the
# in-process fake gets it (``int(params["chat_id"])`` works on both).
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "allowed_updates",
        "media",
        "link_preview_options",
        "reply_parameters",
        "results",
    }
)
MAX_LONG_POLL = 5.0  # seconds a getUpdates call may wait; short, so a stopping bot is not held up
MAX_BODY = 50 * 1024 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Payload Too Large"}


class FakeBotApiServer:
    """``async with FakeBotApiServer() as server:`` then give the bot ``server.url``."""

    def __init__(
        self, fake: FakeTelegram | None = None, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.fake = fake or FakeTelegram()
        self.token = token  # None accepts any token
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Condition()  # an update was queued, or a call recorded

    @property
    def url(self) -> str:
        """The value for TELEGRAM_API_URL."""
        return f"http://{self.host}:{self.port}"

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> FakeBotApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    # --- what tests do -------------------------------------------------------------------------
    async def queue_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (its update_id is assigned when missing); return the id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        async with self._changed:
            self._changed.notify_all()
        return update["update_id"]

    async def queue_message(self, user_id: int, text: str, first_name: str = "Ann") -> int:
        """Queue a private message (a /command gets its entity) from a user, as Telegram would."""
        message: dict[str, Any] = {
            "message_id": self.fake.next_id(),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return await self.queue_update({"message": message})

    async def wait_for_call(self, method: str, predicate: Callable[[Call], bool] | None = None) -> Call:
        """The first recorded call of `method` that satisfies `predicate`, once there is one.

        Bound the wait with ``asyncio.timeout(...)`` around it.
        """

        def found() -> Call | None:
            return next((c for c in self.fake.calls_to(method) if predicate is None or predicate(c)), None)

        async with self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        call = found()
        assert call is not None
        return call

    async def wait_for_calls(self, count: int) -> None:
        """Until more than `count` calls have been recorded."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.fake.calls) > count)

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # --- HTTP ----------------------------------------------------------------------------------
    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                status, payload = await self._respond(method, target, headers, body)
                _write_response(writer, status, payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping (asyncio's stream callback would log a cancelled task)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", urlsplit(target).path)
        if method not in ("GET", "POST") or match is None:
            return _error(404, "Not Found")
        token, api_method = match.groups()
        if self.token is not None and token != self.token:
            return _error(401, "Unauthorized")
        try:
            params, files = _parse_body(headers, body)
        except ValueError as exc:
            return _error(400, f"Bad Request: {exc}")
        params.update(dict(parse_qsl(urlsplit(target).query)))
        if api_method == "getUpdates":
            return 200, json.dumps({"ok": True, "result": await self._get_updates(params)}).encode()
        request_data = SimpleNamespace(parameters=params, contains_files=bool(files), multipart_data=files)
        status, payload = await self.fake.do_request(urlsplit(target).path, method, request_data)  # type: ignore[arg-type]
        async with self._changed:
            self._changed.notify_all()
        return status, payload

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.fake.calls.append(Call("getUpdates", params))
        async with self._changed:
            self._changed.notify_all()
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), MAX_LONG_POLL)
        # An offset confirms every update before it: Telegram forgets them.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and wait > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait), self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates))
        return self._updates[:limit]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split()
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
            if len(body) > MAX_BODY:
                raise ValueError("body too large")
    else:
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        body = await reader.readexactly(length)
    return method, target, headers, body


def _write_response(writer: asyncio.StreamWriter, status: int, payload: bytes) -> None:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + payload)


def _error(code: int, description: str) -> tuple[int, bytes]:
    return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()


def _decode(name: str, value: str) -> Any:
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parse_body(headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], dict[str, tuple]]:
    """Parameters and files of a Bot API request, whichever way it was encoded."""
    content_type = headers.get("content-type", "").lower()
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body is not an object")
        return data, {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: _decode(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}, {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode("latin-1") + body
        )
        params: dict[str, Any] = {}
        files: dict[str, tuple] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            content = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = (filename, content, part.get_content_type())
            else:
                params[name] = _decode(name, content.decode(part.get_content_charset() or "utf-8"))
        return params, files
    raise ValueError(f"unsupported content type {content_type!r}")


# --- python -m bot.testing.fake_server: type to the bot over HTTP ------------------------------------------
async def _interactive(port: int, user_id: int, token: str | None) -> None:
    server = FakeBotApiServer(token=token, port=port)
    await server.start()
    print(f"Fake Bot API at {server.url} (TELEGRAM_API_URL). Start the bot with:", flush=True)
    print(
        f"  TELEGRAM_API_URL={server.url} TELEGRAM_BOT_TOKEN={token or FAKE_TOKEN} ADMIN_IDS={user_id} "
        "python -m bot run",
        flush=True,
    )
    print(f"Lines you type are messages from user {user_id}; Ctrl-D quits.", flush=True)

    async def show_replies() -> None:
        shown = 0
        while True:
            await server.wait_for_calls(shown)
            for call in server.fake.calls[shown:]:
                if call.method in ("sendMessage", "editMessageText"):
                    with contextlib.suppress(Exception):
                        print(f"[{call.method}] {html_to_text(str(call.params.get('text', '')))}", flush=True)
                elif call.method in ("sendPhoto", "sendDocument"):
                    print(f"[{call.method}] {call.params.get('caption', '')}", flush=True)
            shown = len(server.fake.calls)

    printer = asyncio.create_task(show_replies())
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip():
                await server.queue_message(user_id, line.strip())
    finally:
        printer.cancel()
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.testing.fake_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (default 8081)")
    parser.add_argument("--user-id", type=int, default=1001, help="who the typed messages come from")
    parser.add_argument("--token", help="accept only this bot token (default: any)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_interactive(args.port, args.user_id, args.token))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
