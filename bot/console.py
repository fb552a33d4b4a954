"""The console: chat with the bot in a terminal, no token and no network.

The production Application runs over the fake Telegram (bot/testing/chat.py), so what you see is what a
Telegram user would see: each message's visible text, buttons numbered under it. Type a message
(or a /command) to send it; type a button's number to press it. Photos and documents are saved to
./console-files/ and their paths printed. Plain stdin/stdout, so piped input works too:

    printf '/search bread\\n1\\n/cart\\n' | python -m bot console --demo --as cashier

A bare number presses a button only when the newest keyboard is the bot's latest word (no text
message from the bot after it) and has that many buttons; otherwise it is sent as text, and "\\5"
always sends the text "5". "#5" always presses button 5 of the newest keyboard, even when the bot
has said something since (say, "Choose one of the buttons above"): a hint line says so then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from bot.logging_setup import configure_logging
from bot.testing.chat import ChatClient, FakeShop
from bot.testing.fake_telegram import StoredMessage
from db import demo
from db import staff as staff_db
from db.engine import make_engine, make_session_factory, transaction
from db.migrate import upgrade
from db.models import Role
from db.settings import Settings, SettingsError

FILES_DIR = Path("console-files")
DEMO_DB = "demo.db"
QUIT = {"/quit", "/exit"}
HELP = (
    "Type a message or /command; a button's number presses it (\\5 sends the text 5, and #5 presses "
    "button 5 of the newest buttons even after the bot's text). !customer plays a customer on their own "
    "phone (open a receipt's link there: /start r_...), !staff goes back. /quit or Ctrl-D leaves."
)
# The customer the console can play: a Telegram id no real user can have, and not a staff row.
CONSOLE_CUSTOMER_ID = staff_db.FIRST_DEMO_TELEGRAM_ID + 15
PERSONAS = {"!customer", "!staff"}
PRESS_HINT = "(#N presses a button of the message above)"
# Calls that change what the chat shows: a toast answered before any of them is printed first.
CHAT_CHANGES = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup", "deleteMessage"}
)
# In the demo store you are its staff member of your role, so --demo --as cashier is Cal Cashier.
DEMO_USERS = {role: (telegram_id, name) for telegram_id, name, role in reversed(demo.DEMO_STAFF)}
# Anywhere else you are the console user: a Telegram id no real user can have (db/staff.py).
CONSOLE_NAME = "Console"


def database_url(settings: Settings, *, demo_mode: bool, db: str | None) -> str:
    """--db PATH (a SQLite file) or URL; else demo.db with --demo; else DATABASE_URL."""
    if db:
        return db if "://" in db else f"sqlite+aiosqlite:///{db}"
    if demo_mode:
        return f"sqlite+aiosqlite:///{DEMO_DB}"
    return settings.database_url


class Console:
    """Prints what changed in the chat after each action, and turns typed lines into actions."""

    def __init__(self, client: ChatClient, out: TextIO, files_dir: Path = FILES_DIR) -> None:
        self.client = client
        self.out = out
        self.files_dir = files_dir
        self._shown: dict[int, tuple[str, object]] = {}  # message id -> (html, markup) last printed
        self._hinted: tuple[int, str] | None = None  # the keyboard the last press hint was about
        # Saved files are named <session start>-<message id>-<name>: message ids restart with
        # every session, so a later session never overwrites an earlier one's files.
        self._session = datetime.now().strftime("%Y%m%d-%H%M%S")
        self._saved: dict[int, Path] = {}  # message id -> its file, rewritten if the message is edited

    # --- input ---------------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text.lower() in QUIT:
            return False
        before = len(self.client.messages)
        explicit = re.fullmatch(r"#\d{1,3}", text)
        keyboard = self.newest_keyboard() if explicit else self.live_keyboard()
        number = int(text.lstrip("#")) if explicit or re.fullmatch(r"\d{1,3}", text) else 0
        buttons = len(keyboard.buttons) if keyboard else 0
        if explicit and not 1 <= number <= buttons:
            self._print(f"(no button #{number}: the newest message with buttons has {buttons})")
            self._print("")
        elif keyboard is not None and 1 <= number <= buttons:
            _label, data = keyboard.buttons[number - 1]
            calls = len(self.client.fake.calls)
            answer = await self.client.press(data, message=keyboard)
            # In the order they happened: "Preparing the CSV file…" pops up before the file arrives.
            done = [c.method for c in self.client.fake.calls[calls:]]
            toast_first = "answerCallbackQuery" in done and not CHAT_CHANGES.intersection(
                done[: done.index("answerCallbackQuery")]
            )
            if toast_first:
                self._print_toast(answer)
            self.show_changes()
            if not toast_first:
                self._print_toast(answer)
        else:
            await self.client.send(text[1:] if re.fullmatch(r"\\#?\d+", text) else text)
            self.show_changes()
            if not text.startswith("/"):  # a command's answer is no answer to the buttons above
                self._hint(before, again=number > 0)  # a number that went as text: the user meant a button
        return True

    def _hint(self, before: int, *, again: bool) -> None:
        """When the bot answered text with text, under the newest buttons, say how to press them.

        Once per keyboard, unless `again`. Not for a screen edited into a text prompt (the cash
        tendered): there the bot wants text.
        """
        keyboard, messages = self.newest_keyboard(), self.client.messages
        latest = messages[-1] if len(messages) > before else None
        if keyboard is None or latest is None or latest.buttons or latest.kind != "text":
            return
        about = (keyboard.message_id, repr(keyboard.reply_markup))
        if again or self._hinted != about:
            self._hinted = about
            self._print(PRESS_HINT)
            self._print("")

    def newest_keyboard(self) -> StoredMessage | None:
        """The newest message with buttons, whatever came after it."""
        return next((msg for msg in reversed(self.client.messages) if msg.buttons), None)

    def live_keyboard(self) -> StoredMessage | None:
        """The newest keyboard, unless the bot has said something in text since."""
        for msg in reversed(self.client.messages):
            if msg.buttons:
                return msg
            if msg.kind == "text":
                return None
        return None

    # --- output --------------------------------------------------------------------------------
    def show_changes(self) -> None:
        """Print the messages that are new or changed since the last call."""
        for msg in self.client.messages:
            state = (msg.html, msg.reply_markup)
            previous = self._shown.get(msg.message_id)
            if previous == state:
                continue
            self._shown[msg.message_id] = state
            self._print_message(msg, edited=previous is not None)

    def _print_message(self, msg: StoredMessage, *, edited: bool) -> None:
        if edited:
            self._print("(edited)")
        if msg.kind in ("photo", "document"):
            self._print(f"[{msg.kind} saved to {self._save(msg)}]")
            if msg.html:
                self._print(msg.text)
        else:
            self._print(msg.text)
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        n = 0
        for row in rows:
            labels = []
            for button in row:
                n += 1
                labels.append(f"[{n}] {button['text']}")
            self._print("  ".join(labels))
        self._print("")

    def _save(self, msg: StoredMessage) -> str:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        if (path := self._saved.get(msg.message_id)) is not None:
            path.write_bytes(msg.file or b"")
            return str(path)
        name = Path(msg.filename or "").name
        if not name or name.endswith("octet-stream"):  # what PTB calls bytes sent without a name
            name = msg.kind + _extension(msg.file or b"")
        stem, attempt = f"{self._session}-{msg.message_id}", 1
        path = self.files_dir / f"{stem}-{name}"
        while True:
            try:
                with path.open("xb") as file:  # never over an existing file
                    file.write(msg.file or b"")
                break
            except FileExistsError:  # another session started in the same second
                attempt += 1
                path = self.files_dir / f"{stem}-{attempt}-{name}"
        self._saved[msg.message_id] = path
        return str(path)

    def _print_toast(self, answer: dict | None) -> None:
        """The toast or alert Telegram would pop up for a button press, if the bot gave one."""
        if answer and answer.get("text"):
            kind = "alert" if answer.get("show_alert") in (True, "true", "True") else "notice"
            self._print(f"({kind}) {answer['text']}")
            self._print("")

    def _print(self, text: str | None) -> None:
        if text is None:
            return
        self.out.write(text + "\n")
        self.out.flush()


def _extension(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return ".png"
    if content.startswith(b"\xff\xd8"):
        return ".jpg"
    return ".bin"


async def ensure_console_user(factory, role: Role, *, demo_store: bool) -> tuple[int, str]:
    """Who you are in the console: (Telegram id, name).

    In a demo store, its staff member of your role (as seeded: never changed). Otherwise the
    console user, added to the staff or given your role if needed; no other staff row is touched.
    """
    async with transaction(factory) as session:
        if demo_store:
            telegram_id, name = DEMO_USERS[role]
            member = await staff_db.get_active_staff(session, telegram_id=telegram_id)
            if member is not None and member.role is role and member.name == name:
                return telegram_id, name
        member = await staff_db.get_active_staff(session, telegram_id=staff_db.CONSOLE_TELEGRAM_ID)
        if member is None or member.role is not role:
            member = await staff_db.add_staff(
                session, telegram_id=staff_db.CONSOLE_TELEGRAM_ID, role=role, name=CONSOLE_NAME
            )
        return member.telegram_id, member.name or CONSOLE_NAME


async def console_session(
    settings: Settings,
    *,
    url: str,
    role: Role,
    seed_demo: bool,
    stdin: TextIO,
    stdout: TextIO,
    files_dir: Path = FILES_DIR,
) -> int:
    """Run the chat until EOF or /quit. The database must be migrated already."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        if seed_demo:
            async with transaction(factory) as session:
                summary = await demo.seed_demo(
                    session, currency=settings.currency, tz=settings.tz, default_threshold=settings.low_stock_threshold
                )
            if summary is not None:
                stdout.write(
                    f"Demo store created: {summary.products} products, {summary.customers} customers, "
                    f"{summary.sales} sales over the last {demo.DAYS} days.\n"
                )
        user_id, name = await ensure_console_user(factory, role, demo_store=seed_demo)
        if user_id == staff_db.CONSOLE_TELEGRAM_ID:
            stdout.write(
                f"Not a demo: you act as the console user “{name} ({role.value})” on "
                f"{make_url(url).render_as_string(hide_password=True)}, and what you do is recorded there.\n"
            )
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_lines, args=(stdin, loop, lines), name="console-stdin", daemon=True).start()
        async with FakeShop(settings, factory) as shop:
            client = shop.client(user_id, name.split()[0] if name else "You", strict=False)
            console = Console(client, stdout, files_dir)
            interactive = stdin.isatty()
            stdout.write(
                f"{settings.store_name} — console. You are {name} ({role.value}), Telegram id {user_id}.\n{HELP}\n\n"
            )
            await _send_line(console, "/start", stdout, echo=True)
            people = {
                "!staff": console,
                "!customer": Console(shop.client(CONSOLE_CUSTOMER_ID, "Customer", strict=False), stdout, files_dir),
            }
            while True:
                if interactive:
                    stdout.write("> ")
                    stdout.flush()
                line = await lines.get()
                if not line:
                    if interactive:
                        stdout.write("\n")
                    break
                if line.strip().lower() in PERSONAS:
                    console = people[line.strip().lower()]
                    who = "a customer on their own phone" if console is people["!customer"] else name
                    stdout.write(f"(you are now {who})\n\n")
                    console.show_changes()  # what arrived in that chat meanwhile (receipts)
                    continue
                if not await _send_line(console, line, stdout, echo=not interactive):
                    break
        return 0
    finally:
        await engine.dispose()


def _read_lines(stdin: TextIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    """Feed stdin to the console line by line, then "" at its end.

    A daemon thread rather than asyncio.to_thread: a read blocked in the default executor would hold
    up the event loop's shutdown after Ctrl-C until the next Enter.
    """
    try:
        while line := stdin.readline():
            loop.call_soon_threadsafe(lines.put_nowait, line)
    except (OSError, ValueError):  # stdin closed under us
        pass
    with contextlib.suppress(RuntimeError):  # the loop has already closed: nobody is listening
        loop.call_soon_threadsafe(lines.put_nowait, "")


async def _send_line(console: Console, line: str, stdout: TextIO, *, echo: bool) -> bool:
    if echo and line.strip():
        stdout.write(f"> {line.strip()}\n")
    return await console.handle(line)


def run_console(
    settings: Settings,
    *,
    demo: bool,
    role: str,
    db: str | None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """`python -m bot console`: settings validated by the caller; the token is not needed.

    Ctrl-C leaves at once with "Bye." and exit code 130 (what a shell reports for SIGINT).
    """
    url = database_url(settings, demo_mode=demo, db=db)
    try:
        settings = Settings.model_validate({**settings.model_dump(), "database_url": url})
    except ValidationError as exc:
        message = exc.errors(include_input=False, include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise SettingsError(f"--db {message}") from None
    out = stdout or sys.stdout
    configure_logging(settings, level=logging.WARNING)
    try:
        upgrade(url)
        if demo and make_url(url).get_backend_name() == "sqlite":
            out.write(f"Demo database: {make_url(url).database}\n")
        return asyncio.run(
            console_session(settings, url=url, role=Role(role), seed_demo=demo, stdin=stdin or sys.stdin, stdout=out)
        )
    except KeyboardInterrupt:
        out.write("\nBye.\n")
        out.flush()
        return 130
