"""The console: the production bot in a terminal over the fake Telegram, driven by piped input."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.console import console_session
from bot.console import database_url as console_database_url
from db import staff as staff_db
from db.engine import make_engine, make_session_factory, transaction
from db.migrate import upgrade_async
from db.models import Role
from db.settings import Settings
from db.staff import CONSOLE_TELEGRAM_ID
from tests import cli_helpers
from tests.cli_helpers import run_sync, scalar

database_url = cli_helpers.database_url  # fixtures: a fresh unmigrated database, and the CLI's environment
cli_env = cli_helpers.cli_env

ROOT = Path(__file__).resolve().parent.parent
CATALOG = """name,price,stock,category,sku
Whole milk 1 L,1.29,10,Dairy,MILK-1
Rye bread,3.20,5,Bakery,RYE-1
Dark chocolate,1.99,0,Snacks,CHOC-1
"""


def settings(**overrides) -> Settings:
    values = {"store_name": "Console Shop", "currency": "USD", "store_timezone": "UTC", "low_stock_threshold": 3}
    return Settings(_env_file=None, **(values | overrides))


async def chat(url: str, lines: str, *, role: Role = Role.CASHIER, files_dir: Path | None = None, **kw) -> str:
    """Run a console session over `url` with `lines` as its piped input; return what it printed."""
    out = io.StringIO()
    code = await console_session(
        settings(**kw),
        url=url,
        role=role,
        seed_demo=False,
        stdin=io.StringIO(lines),
        stdout=out,
        files_dir=files_dir or Path("console-files"),
    )
    assert code == 0
    return out.getvalue()


@pytest.fixture
async def store(database_url, tmp_path, monkeypatch) -> str:
    """A migrated database with three products (imported through the CLI's own code)."""
    monkeypatch.chdir(tmp_path)
    await upgrade_async(database_url)
    from db import catalog_io

    rows, errors = catalog_io.read_rows(io.StringIO(CATALOG), currency="USD")
    assert not errors
    engine = make_engine(database_url)
    assert (await catalog_io.import_rows(make_session_factory(engine), rows=rows)).ok
    await engine.dispose()
    return database_url


# --- the full sale, as a newcomer would pipe it ------------------------------------------------

FULL_SALE = "\n".join(
    [
        "2 milk",  # one product matches: two go into the cart at once (the cart, with Undo)
        "/checkout",  # straight to payment: Exact, $5.00, $10.00, $20.00, Card, …
        "2",  # $5.00 handed over
        "1",  # ✅ Confirm sale
        "/quit",
        "/search never reached",
    ]
)


def test_console_process_with_piped_input_rings_up_a_full_sale(cli_env, capsys, tmp_path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    assert main(["import-products", str(catalog)]) == 0
    capsys.readouterr()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = run_sync(_console_process(env, tmp_path, FULL_SALE + "\n"))
    code, out, err = result
    assert code == 0, err
    shown = make_url(cli_env).render_as_string(hide_password=True)
    assert f"Not a demo: you act as the console user “Console (cashier)” on {shown}, and what you do" in out
    assert "You are Console (cashier), Telegram id 9007199254740993." in out
    assert "Whole milk 1 L" in out and "[2] $5.00" in out
    assert "Tendered: $5.00 · Change: $2.42" in out and "Total: $2.58" in out
    assert "never reached" not in out

    url = cli_env
    assert run_sync(scalar(url, "SELECT count(*) FROM sales")) == 1
    assert run_sync(scalar(url, "SELECT total_minor FROM sales")) == 258
    assert run_sync(scalar(url, "SELECT change_minor FROM sales")) == 242
    assert run_sync(scalar(url, "SELECT stock FROM products WHERE sku = 'MILK-1'")) == 8
    assert run_sync(scalar(url, "SELECT s.telegram_id FROM sales JOIN staff s ON s.id = sales.cashier_id")) == (
        CONSOLE_TELEGRAM_ID
    )
    assert main(["check"]) == 0


async def _console_process(env: dict[str, str], cwd: Path, script: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        "--as",
        "cashier",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(script.encode()), 120)
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    return process.returncode, out.decode(), err.decode()


def test_ctrl_c_leaves_at_once_while_waiting_for_input(cli_env, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code, out = run_sync(_interrupted_console(env, tmp_path))
    assert code == 130
    assert out.endswith("\nBye.\n") and "Traceback" not in out


async def _interrupted_console(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Start the console with a stdin pipe that stays open, wait for its greeting, then SIGINT."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "bot", "console", "--as", "cashier"),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        greeting = await asyncio.wait_for(process.stdout.readuntil(b"/start\n"), 120)
        greeting += await asyncio.wait_for(process.stdout.readuntil(b"\n\n"), 120)  # the bot's answer to /start
        process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stdout.read(), 10)  # it must not wait for a line of input
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, (greeting + rest).decode()


# --- how typed lines become actions ------------------------------------------------------------


async def test_numbers_press_the_newest_keyboard_and_everything_else_is_text(store):
    out = await chat(store, "/search r\n1\n2\n\\1\n99\n")  # r: Dark chocolate and Rye bread
    assert "[1] Dark chocolate" in out
    # "1" opened the product: the search message was edited into the product card.
    assert "(edited)\n📦 Dark chocolate" in out
    # "\1" and "99" (more than the buttons there are) went to the bot as text: a search for them.
    assert "> \\1\n" in out and "> 99\n" in out
    assert out.count("🔎") >= 2


async def test_hash_number_presses_the_newest_buttons_after_the_bot_has_said_something(store):
    to_confirm = "1 milk\n/checkout\n3\n"  # a sale up to its ✅ Confirm screen (Exact, $2.00, $5.00: $5.00)
    out = await chat(store, to_confirm + "abc\n1\n#9\n#1\n")
    before, _, after = out.partition("> abc\n")
    assert "[1] ✅ Confirm sale" in before and "(#N presses" not in before
    # Text where a button was expected: the bot asks for a button, and the console says how to press one.
    assert "Choose one of the buttons above" in after
    # A bare "1" is still text there: the bot asks again, and so does the hint. "#9" is no button.
    assert after.count("(#N presses a button of the message above)") == 2
    assert "> 1\n" in after and "(no button #9: the newest message with buttons has 2)" in after
    assert "Tendered: $5.00 · Change: $3.71" in after.partition("> #1\n")[2]
    assert await cli_helpers.scalar(store, "SELECT count(*) FROM sales") == 1


async def test_button_answers_are_shown(store):
    out = await chat(store, "/search milk\n1\n4\n")
    assert "(notice) Added 1 × Whole milk 1 L." in out


async def test_the_product_card_stays_pressable_after_adding(store):
    # After "Add to cart", the product card (with buttons) is the latest message: 5 presses "🛒 Cart".
    out = await chat(store, "/search rye\n1\n4\n5\n")
    assert "🛒 Cart" in out and "Rye bread" in out
    assert "1 × $3.20 = $3.20" in out


async def test_console_user_has_the_chosen_role(store):
    out = await chat(store, "/report\n", role=Role.CASHIER)
    assert "That needs the manager role; yours is cashier." in out
    out = await chat(store, "/help\n", role=Role.MANAGER)
    assert "You are Console (manager)" in out and "/report" in out
    role = await cli_helpers.scalar(store, "SELECT role FROM staff WHERE telegram_id = :id", id=CONSOLE_TELEGRAM_ID)
    assert role == "manager"


async def test_the_console_user_is_no_telegram_user_and_changes_nobody_else(store):
    assert CONSOLE_TELEGRAM_ID == 2**53 + 1  # above any Telegram user id, within BigInteger, JSON, callback data
    # A real cashier whose id the console's admin used to have: the console must not make them admin.
    engine = make_engine(store)
    async with transaction(make_session_factory(engine)) as session:
        await staff_db.add_staff(session, telegram_id=100001, role=Role.CASHIER, name="Real Rita")
    await engine.dispose()
    out = await chat(store, "/help\n", role=Role.ADMIN)
    assert "Not a demo: you act as the console user “Console (admin)”" in out
    rita = await cli_helpers.scalar(store, "SELECT role || ' ' || name FROM staff WHERE telegram_id = 100001")
    assert rita == "cashier Real Rita"
    role = await cli_helpers.scalar(store, "SELECT role FROM staff WHERE telegram_id = :id", id=CONSOLE_TELEGRAM_ID)
    assert role == "admin"
    assert await cli_helpers.scalar(store, "SELECT count(*) FROM staff") == 2


async def test_photos_and_documents_are_saved_and_their_paths_printed(store, tmp_path):
    await chat(store, "1 milk\n/checkout\n1\n1\n")  # an exact-cash sale, so the report has data
    files = tmp_path / "files"
    out = await chat(store, "/report today\n1\n", role=Role.ADMIN, files_dir=files)
    saved = sorted(files.iterdir())
    assert [p.suffix for p in saved] == [".png", ".csv"]
    assert saved[0].read_bytes().startswith(b"\x89PNG")
    assert "Whole milk 1 L" in saved[1].read_text(encoding="utf-8")
    for path in saved:
        assert f"saved to {path}]" in out
    # The toast pops up when the button is pressed, before the file it announces arrives.
    assert out.index("(notice) Preparing the CSV file") < out.index("[document saved to")

    # A later session (whose message ids start over) keeps the earlier session's files.
    again = await chat(store, "/report today\n1\n", role=Role.ADMIN, files_dir=files)
    assert len(list(files.iterdir())) == 4 and all(f"saved to {path}]" not in again for path in saved)


async def test_end_of_input_and_quit_leave_cleanly(store):
    out = await chat(store, "")
    assert "Hello, Console" in out  # /start is sent for you
    out = await chat(store, "/quit\n/help\n")
    assert "> /help" not in out


def test_console_database_defaults():
    base = settings(database_url="postgresql+asyncpg://pos@db/pos")
    assert console_database_url(base, demo_mode=True, db=None) == "sqlite+aiosqlite:///demo.db"
    assert console_database_url(base, demo_mode=True, db="x.db") == "sqlite+aiosqlite:///x.db"
    assert console_database_url(base, demo_mode=False, db=None) == "postgresql+asyncpg://pos@db/pos"
    assert console_database_url(base, demo_mode=False, db="sqlite+aiosqlite:///y.db") == "sqlite+aiosqlite:///y.db"


# --- the customer's own phone: !customer ---------------------------------------------------------
class _Typist:
    """Piped input that types the receipt link the console printed (it cannot be known before)."""

    def __init__(self, out: io.StringIO, lines: list[str]) -> None:
        self.out, self.lines = out, lines

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        import re
        import time

        if not self.lines:
            return ""
        line = self.lines.pop(0)
        if line == "<the link>":
            for _ in range(600):  # the link is printed once the console got that far
                found = re.search(r"\?start=(r_[A-Za-z0-9_-]+)", self.out.getvalue())
                if found:
                    return f"/start {found[1]}\n"
                time.sleep(0.05)
            return "/quit\n"
        time.sleep(0.2)  # one line after the other, as typed
        return line + "\n"


async def test_the_console_plays_the_customer_from_the_link_to_points(store):
    out = io.StringIO()
    typed = [
        "2 milk",
        "/checkout",
        "7",  # 👤 Customer
        "3",  # New customer
        "Ann Example",
        "skip",
        "skip",
        "5",  # Card
        "1",  # ✅ Confirm sale
        "2",  # 📲 Send to customer (after 📄 PDF)
        "!customer",
        "<the link>",
        "1",  # ✅ Yes, keep them here
        "/points",
        "!staff",
        "/quit",
    ]
    code = await console_session(
        settings(loyalty_earn_percent=5),
        url=store,
        role=Role.CASHIER,
        seed_demo=False,
        stdin=_Typist(out, typed),
        stdout=out,
        files_dir=Path("console-files"),
    )
    assert code == 0
    printed = out.getvalue()
    assert "(you are now a customer on their own phone)" in printed
    assert "Keep your receipts and points here?" in printed
    assert "your receipts will arrive in this chat" in printed
    assert "Your points: 13 points (worth $0.13)" in printed  # 5% of 2 × $1.29
