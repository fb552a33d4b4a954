"""`python -m bot <command>`: run the bot, try it in the console, and manage the store.

Exit codes (docs/deploy.md lists the same): 0 done; 1 the command ran and failed; 2 it could not
start (bad arguments or settings, a missing file or database); 130 interrupted (Ctrl-C). Errors
are one line on stderr. Commands that open the database upgrade it first, so a fresh machine just
works; `check` and `backup` only read and never create a database.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
import sys
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from db import apikeys, catalog_io, csv_safe, demo, ledger, loyalty, money_report, reports
from db import backup as backup_db
from db import shifts as shifts_db
from db import staff as staff_db
from db.engine import (
    SessionFactory,
    make_engine,
    make_read_session_factory,
    make_session_factory,
    run_transaction,
)
from db.errors import InvalidInput, PosError
from db.exports import to_csv
from db.migrate import current_revision, upgrade
from db.money import format_money
from db.periods import PERIOD_FORMS, Period, parse_period
from db.settings import TOKEN_HELP, Settings, SettingsError, load_settings
from db.text import counted

T = TypeVar("T")
ROLES = ("admin", "manager", "cashier")
PROGRESS_MIN_ROWS = 200  # smaller files import in a blink: no bar
MAX_TOP = 100  # best and slowest sellers in `report --top`


class CliError(Exception):
    """A one-line failure with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _telegram_id(text: str) -> int:
    """argparse type: a Telegram user id the staff list can hold (a bad one is exit 2)."""
    value = int(text) if re.fullmatch(r"\d{1,20}", text.strip()) else None
    if value is None or not staff_db.is_telegram_id(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id (a positive whole number)")
    return value


def _positive(highest: int) -> Callable[[str], int]:
    """argparse type: a whole number from 1 to `highest`."""

    def parse(text: str) -> int:
        value = int(text) if re.fullmatch(r"\d{1,9}", text.strip()) else 0
        if not 1 <= value <= highest:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {highest}")
        return value

    return parse


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- the database, for one command -------------------------------------------------------------


def _migrate(settings: Settings) -> None:
    upgrade(settings.database_url)


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    """Run `work` in one transaction (rolled back if it raises) on a fresh engine.

    `write=False` reads in a read-only session: a report or a check run beside the bot does not
    hold SQLite's write lock, so the counter's checkouts do not wait for it.
    """

    async def go() -> T:
        engine = make_engine(settings.database_url)
        try:
            if write:  # retried once after a deadlock or serialization failure (PostgreSQL)
                return await run_transaction(make_session_factory(engine), work)
            async with make_read_session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _with_engine(settings: Settings, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    """Run `work` with a session factory on a fresh engine: for work of several transactions."""

    async def go() -> T:
        engine = make_engine(settings.database_url)
        try:
            return await work(make_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _require_database(settings: Settings) -> None:
    """A database that exists and was migrated (for commands that must not create one)."""
    try:
        backup_db.require_existing(settings.database_url)
    except backup_db.BackupError as exc:
        raise _backup_failure(exc) from None
    if current_revision(settings.database_url) is None:
        raise CliError(
            f"The database {_safe_url(settings.database_url)} (DATABASE_URL) has no tables yet: "
            "run `python -m bot migrate` to create them",
            2,
        )


def _backup_failure(exc: backup_db.BackupError) -> CliError:
    """Exit 2 when nothing could be tried (no database, a bad target), 1 when the copy itself failed."""
    if isinstance(exc, backup_db.NoDatabase):
        return CliError(f"{exc} (run `python -m bot migrate` to create it)", 2)
    return CliError(str(exc), 2 if isinstance(exc, backup_db.BadArguments) else 1)


# --- run modes ---------------------------------------------------------------------------------
# Imported when used: the bot side loads python-telegram-bot and every handler, which the database
# commands do not need.


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.telegram_bot_token is None:
        if not sys.stdin.isatty():
            raise SettingsError(TOKEN_HELP)
        _err(TOKEN_HELP, "Starting the console demo instead (pipenv run console --demo).")
        from bot.console import run_console

        return run_console(settings, demo=True, role="admin", db=None)
    from bot.run import run_polling

    return run_polling(settings)


def cmd_webhook(args: argparse.Namespace) -> int:
    from bot.run import run_webhook

    return run_webhook(load_settings())


def cmd_api(args: argparse.Namespace) -> int:
    from bot.api_server import run_api

    return run_api(load_settings())


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return run_console(load_settings(), demo=args.demo, role=args.role, db=args.db)


# --- database commands -------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    url = _safe_url(settings.database_url)
    before = current_revision(settings.database_url)
    _migrate(settings)
    after = current_revision(settings.database_url)
    if before is None:
        print(f"Created the database at {url} (schema {after}).")
    elif before != after:
        print(f"Upgraded the database at {url} from schema {before} to {after}.")
    else:
        print(f"Database {url} is up to date (schema {after}).")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    settings = load_settings()
    _migrate(settings)

    async def work(session: AsyncSession):
        return await demo.seed_demo(
            session, currency=settings.currency, tz=settings.tz, default_threshold=settings.low_stock_threshold
        )

    summary = _with_session(settings, work)
    if summary is None:
        print("The store already has products: no demo data added.")
    else:
        print(
            f"Demo store added: {counted(summary.products, 'product')} in "
            f"{counted(summary.categories, 'category', 'categories')}, {summary.staff} staff, "
            f"{counted(summary.customers, 'customer')}, {counted(summary.sales, 'sale')} "
            f"({summary.refunds} refunded) over the last {counted(demo.DAYS, 'day')}."
        )
    return 0


def cmd_import_products(args: argparse.Namespace) -> int:
    settings = load_settings()
    source = args.file
    if source != "-" and not Path(source).is_file():
        raise CliError(f"No such file: {source}", 2)
    try:
        with open(source, encoding="utf-8-sig", newline="") if source != "-" else nullcontext(sys.stdin) as stream:
            rows, errors = catalog_io.read_rows(stream, currency=settings.currency)
    except UnicodeDecodeError:
        raise CliError(f"{source} is not UTF-8 text: save it as CSV UTF-8") from None
    if errors:
        _report_bad_rows(errors)
        return 1
    _migrate(settings)
    show_bar = sys.stderr.isatty() and len(rows) >= PROGRESS_MIN_ROWS
    from tqdm import tqdm  # only an import shows a progress bar

    with tqdm(total=len(rows), unit="row", file=sys.stderr, disable=not show_bar, desc="Importing") as bar:

        async def work(factory: SessionFactory) -> catalog_io.ImportResult:
            return await catalog_io.import_rows(factory, rows=rows, on_row=bar.update, currency=settings.currency)

        result = _with_engine(settings, work)
    if result.errors:
        _report_bad_rows(result.errors, written=result.added + result.updated + result.unchanged)
        return 1
    print(
        f"Imported {counted(len(rows), 'product')}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged."
    )
    return 0


def _report_bad_rows(errors: list[catalog_io.RowError], *, written: int = 0) -> None:
    _err(*(str(e) for e in errors[:50]))
    if len(errors) > 50:
        _err(f"... and {len(errors) - 50} more")
    if written:  # the catalog changed under the import: the batches before this one are in
        _err(f"Stopped there: {counted(written, 'row')} before it were imported. Fix it and run the import again.")
    else:
        _err(f"Nothing imported: {counted(len(errors), 'bad row')}. Fix the file and run the import again.")


def cmd_export_products(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.file not in (None, "-") and Path(args.file).exists() and not args.force:
        raise CliError(f"{args.file} already exists (use --force to replace it)", 2)
    _migrate(settings)

    async def work(session: AsyncSession) -> str:
        return await catalog_io.export_products(
            session, currency=settings.currency, include_archived=args.include_archived
        )

    text = _with_session(settings, work, write=False)
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        exported = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
        _err(f"Exported {counted(exported, 'product')} to {args.file}")
    return 0


def _period(text: str, settings: Settings) -> Period:
    try:
        return parse_period(text, settings.tz)
    except PosError as exc:
        raise CliError(exc.message, 2) from None


def cmd_report(args: argparse.Namespace) -> int:
    settings = load_settings()
    period = _period(args.period, settings)
    _migrate(settings)

    async def work(session: AsyncSession):
        summary = await reports.sales_summary(session, period=period, tz=settings.tz, top_n=args.top)
        figures = await money_report.money_summary(session, period=period, tz=settings.tz, top_n=args.top)
        rows = await reports.sale_lines_for_export(session, period=period) if args.csv else None
        return summary, figures, rows

    summary, figures, rows = _with_session(settings, work, write=False)
    print(format_summary(summary, settings))
    if figures.sales_count or figures.refunds_minor:
        print("\n".join(["", "Money", *money_report.summary_lines(figures, currency=settings.currency)]))
    if args.csv:
        data = to_csv(rows, tz=settings.tz, currency=settings.currency)
        if args.csv == "-":
            sys.stdout.buffer.write(data)
        else:
            Path(args.csv).write_bytes(data)
            _err(f"Wrote {counted(len(rows), 'sale line')} to {args.csv}")
    return 0


def format_summary(summary: reports.SalesSummary, settings: Settings) -> str:
    """The sales summary as plain text for a terminal."""
    cur = settings.currency

    def m(minor: int) -> str:
        return format_money(minor, cur)

    def column(count: int, word: str, width: int = 5) -> str:
        """'    1 sale ', '   12 sales': the count right-aligned and the noun padded, for tables."""
        number, noun = counted(count, word).split(" ", 1)
        return f"{number:>{width}} {noun:<{len(word) + 1}}"

    out = [f"{settings.store_name} — sales {summary.period.label}", ""]
    if not summary.sales_count and not summary.refunded_count:
        return "\n".join([*out, "No sales in this period."])
    out += [
        f"Revenue       {m(summary.revenue_minor)} from {counted(summary.sales_count, 'sale')}",
        f"Average sale  {m(summary.average_basket_minor)}",
        f"Units sold    {summary.units_sold}",
    ]
    if summary.refunded_count:
        out.append(f"Refunded      {counted(summary.refunded_count, 'sale')}, {m(summary.refunded_minor)}")
    if summary.by_payment:
        out += ["", "By payment"]
        out += [
            f"  {p.method.value:<8} {column(p.count, 'sale')}  {m(p.revenue_minor):>12}" for p in summary.by_payment
        ]
    if summary.by_cashier:
        out += ["", "By cashier"]
        out += [
            f"  {c.name or c.staff_id!s:<20} {column(c.count, 'sale')}  {m(c.revenue_minor):>12}"
            for c in summary.by_cashier
        ]
    for title, stats in (("Best sellers", summary.best), ("Slowest sellers", summary.worst)):
        if stats:
            out += ["", title]
            out += [
                f"  {s.sku:<10} {s.name:<28} {column(s.quantity, 'unit')} in {column(s.sales_count, 'sale', 4)}"
                f"  {m(s.revenue_minor):>12}"
                for s in stats
            ]
    if summary.unsold_active_count:
        out += ["", f"{counted(summary.unsold_active_count, 'product')} on sale sold nothing in this period."]
    if len(summary.by_day) > 1:
        out += ["", "By day"]
        out += [f"  {d.day:%a %Y-%m-%d} {column(d.count, 'sale')}  {m(d.revenue_minor):>12}" for d in summary.by_day]
    return "\n".join(out)


def cmd_staff(args: argparse.Namespace) -> int:
    settings = load_settings()
    _migrate(settings)
    if args.staff_command == "list":
        members = _with_session(settings, lambda s: staff_db.list_staff(s), write=False)
        if not members:
            print("No staff yet: add an admin with `python -m bot staff add <telegram id> admin <name>`.")
        for member in members:
            state = "" if member.active else "  (removed)"
            print(f"{member.telegram_id:>14}  {member.role.value:<8} {member.name}{state}")
        return 0
    if args.staff_command == "add":

        async def add(session: AsyncSession):
            return await staff_db.add_staff(session, telegram_id=args.telegram_id, role=args.role, name=args.name or "")

        member = _with_session(settings, add)
        print(f"{staff_db.describe(member)} is now {member.role.value}.")
        return 0
    if args.staff_command == "role":

        async def set_role(session: AsyncSession):
            return await staff_db.set_role(session, telegram_id=args.telegram_id, role=args.role)

        member = _with_session(settings, set_role)
        print(f"{staff_db.describe(member)} is now {member.role.value}.")
        return 0

    async def remove(session: AsyncSession):
        return await staff_db.remove_staff(session, telegram_id=args.telegram_id)

    member = _with_session(settings, remove)
    print(f"{staff_db.describe(member)} is no longer on the staff.")
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    settings = load_settings()
    _migrate(settings)
    if args.apikey_command == "list":
        keys = _with_session(settings, lambda s: apikeys.list_keys(s), write=False)
        if not keys:
            print("No API keys yet: make one with `python -m bot apikey new <role> <name>`.")
        for key in keys:
            print(format_api_key(key, settings))
        return 0
    if args.apikey_command == "new":

        async def new(session: AsyncSession):
            return await apikeys.create_key(session, role=args.role, name=args.name or "", actor=None)

        row, key = _with_session(settings, new)
        print(f"API key {apikeys.describe(row)} created. It is shown only this once: store it now.")
        print(key)
        return 0

    async def revoke(session: AsyncSession):
        return await apikeys.revoke_key(session, key_id=args.key_id, actor=None)

    row = _with_session(settings, revoke)
    print(f"API key {apikeys.describe(row)} is revoked: its next request gets 401.")
    return 0


def format_api_key(key, settings: Settings) -> str:
    """One line of `apikey list`: id, name, role, created, last used (store time), state."""

    def when(moment) -> str:
        return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if moment else "never"

    state = f"  revoked {when(key.revoked_at)}" if key.revoked_at else ""
    return (
        f"#{key.id:<4} {key.name:<24} {key.role.value:<8} created {when(key.created_at)}"
        f"  last used {when(key.last_used_at)}{state}"
    )


def cmd_backup(args: argparse.Namespace) -> int:
    settings = load_settings()
    if backup_db.sqlite_file(settings.database_url) is None:
        raise CliError(
            "backup copies SQLite databases; for PostgreSQL use pg_dump -Fc (see docs/deploy.md, Backup and restore)",
            2,
        )
    try:
        size = backup_db.backup_sqlite(settings.database_url, Path(args.file), overwrite=args.force)
    except backup_db.BackupError as exc:
        raise _backup_failure(exc) from None
    print(f"Backed up {_safe_url(settings.database_url)} to {args.file} ({size:,} bytes).")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings()
    _require_database(settings)

    async def work(session: AsyncSession):
        return (
            await ledger.check_ledger(session),
            await ledger.check_drawers(session),
            await loyalty.check_points(session),
        )

    mismatches, drawers, points = _with_session(settings, work, write=False)
    if not mismatches:
        print("Stock ledger OK: every product's stock equals the sum of its movements.")
    else:
        print(f"Stock ledger MISMATCH in {counted(len(mismatches), 'product')}:")
        for m in mismatches:
            print(
                f"  #{m.product_id} {m.sku} “{m.name}”: stock {m.stock}, movements add up to {m.movements_sum} "
                f"({m.difference:+d})"
            )
    if not drawers:
        print("Cash drawers OK: every shift's balance equals the sum of its drawer entries.")
    else:
        print(f"Cash drawer MISMATCH in {counted(len(drawers), 'place')}:")
        cur = settings.currency
        for d in drawers:
            print(
                f"  shift #{d.shift_number}, {d.what}: recorded {format_money(d.recorded, cur)}, "
                f"drawer entries add up to {format_money(d.entries_sum, cur)}"
            )
    if not points:
        print("Points ledger OK: every customer's points balance equals the sum of their entries.")
    else:
        print(f"Points ledger MISMATCH in {counted(len(points), 'customer')}:")
    for p in points:
        print(
            f"  customer #{p.customer_id} “{p.name}”: balance {p.balance}, "
            f"entries add up to {p.entries_sum} ({p.difference:+d})"
        )
    return 1 if mismatches or drawers or points else 0


def cmd_shifts(args: argparse.Namespace) -> int:
    settings = load_settings()
    period = _period(args.period, settings)
    _migrate(settings)
    found = _with_session(
        settings, lambda s: shifts_db.shift_reports(s, start=period.start, end=period.end), write=False
    )
    if not found:
        print(f"No shifts opened {period.label}.")
    for number, report in enumerate(found):
        if number:
            print()
        print("\n".join(shifts_db.report_lines(report, tz=settings.tz)))
    if args.csv:
        data = csv_safe.write(shifts_db.csv_rows(found, tz=settings.tz)).encode("utf-8")
        if args.csv == "-":
            sys.stdout.buffer.write(data)
        else:
            Path(args.csv).write_bytes(data)
            _err(f"Wrote {counted(len(found), 'shift')} to {args.csv}")
    return 0


# --- the parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="POS Bot: a point of sale in a Telegram chat. Settings come from the environment and .env.",
        epilog="Exit codes: 0 done, 1 failed, 2 could not start (bad arguments or settings, a missing file or "
        "database), 130 interrupted. `python -m bot <command> --help` for more.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    def command(name: str, func: Callable[[argparse.Namespace], int], help_text: str, **kwargs: Any):
        p = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        p.set_defaults(func=func)
        return p

    command("run", cmd_run, "Run the bot with long polling (needs TELEGRAM_BOT_TOKEN).")
    command(
        "webhook",
        cmd_webhook,
        "Run the bot as a webhook behind a reverse proxy (needs WEBHOOK_URL and WEBHOOK_SECRET).",
    )
    command("api", cmd_api, "Serve the REST API on API_LISTEN:API_PORT (OpenAPI docs at /docs).")
    p = command(
        "console",
        cmd_console,
        "Chat with the bot in this terminal: the same bot over a fake Telegram, no token, no network.",
    )
    p.add_argument("--demo", action="store_true", help="use a demo store (seeded on first use) in its own file")
    p.add_argument("--as", dest="role", choices=ROLES, default="admin", help="your role (default: admin)")
    p.add_argument("--db", metavar="PATH", help="SQLite file or database URL (default: demo.db with --demo)")

    command("migrate", cmd_migrate, "Create or upgrade the database schema to the newest version.")
    command("demo-data", cmd_demo_data, "Fill an empty store (DATABASE_URL) with demo products, staff and sales.")

    p = command(
        "import-products",
        cmd_import_products,
        "Add or update products from a CSV file (matched by SKU); all or nothing.",
        epilog="Header: " + ",".join(catalog_io.COLUMNS) + " (name, price and sku required). "
        "Stock changes are recorded as stock movements noted 'import'.",
    )
    p.add_argument("file", help="the CSV file, or - for standard input")

    p = command("export-products", cmd_export_products, "Write the catalog as CSV (import reads it back).")
    p.add_argument("file", nargs="?", help="output file (default: standard output)")
    p.add_argument("--include-archived", action="store_true", help="archived products too")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")

    p = command("report", cmd_report, "Print the sales report of a period.")
    p.add_argument("period", nargs="?", default="today", help=f"{PERIOD_FORMS} (default: today)")
    p.add_argument("--csv", metavar="FILE", help="also write the period's sale lines as CSV (- for stdout)")
    p.add_argument(
        "--top",
        type=_positive(MAX_TOP),
        default=5,
        help=f"how many best and slowest sellers (1 to {MAX_TOP}, default 5)",
    )

    p = command("staff", cmd_staff, "List, add, re-role or remove staff.")
    staff_sub = p.add_subparsers(dest="staff_command", metavar="<action>", required=True)
    staff_sub.add_parser("list", help="everyone, active first", description="Everyone on the staff, active first.")
    a = staff_sub.add_parser("add", help="add someone (or re-activate them)", description="Add a staff member.")
    a.add_argument("telegram_id", type=_telegram_id, help="their Telegram user id")
    a.add_argument("role", type=str.lower, choices=ROLES)
    a.add_argument("name", nargs="*", help="their name")
    r = staff_sub.add_parser("role", help="change someone's role", description="Change a staff member's role.")
    r.add_argument("telegram_id", type=_telegram_id)
    r.add_argument("role", type=str.lower, choices=ROLES)
    d = staff_sub.add_parser("remove", help="take someone off the staff", description="Deactivate a staff member.")
    d.add_argument("telegram_id", type=_telegram_id)

    p = command("apikey", cmd_apikey, "List, create or revoke REST API keys.")
    key_sub = p.add_subparsers(dest="apikey_command", metavar="<action>", required=True)
    key_sub.add_parser("list", help="every key", description="Every API key: id, name, role, created, last used.")
    n = key_sub.add_parser(
        "new", help="make a key (printed once, on the last line)", description="Make an API key; it is shown once."
    )
    n.add_argument("role", type=str.lower, choices=ROLES, help="what the key may do")
    n.add_argument("name", nargs="+", help="what the key is for, e.g. web shop")
    v = key_sub.add_parser("revoke", help="revoke a key at once", description="Revoke an API key: it stops at once.")
    v.add_argument("key_id", type=_positive(2**31 - 1), help="the key's id (see apikey list)")

    p = command("backup", cmd_backup, "Copy the SQLite database to a file, safely while the bot runs.")
    p.add_argument("file", help="where to write the copy")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")

    p = command("shifts", cmd_shifts, "Print the X/Z report of each till shift opened in a period.")
    p.add_argument("period", nargs="?", default="today", help=f"{PERIOD_FORMS} (default: today)")
    p.add_argument("--csv", metavar="FILE", help="also write one row per shift as CSV (- for stdout)")

    command(
        "check",
        cmd_check,
        "Check the ledgers: exit 1 if any product's stock disagrees with its movements, any cash "
        "drawer's balance with its entries, or any customer's points with theirs.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "name", None) is not None and isinstance(args.name, list):
        args.name = " ".join(args.name)
    try:
        return args.func(args)
    except SettingsError as exc:
        _err(str(exc))
        return 2
    except CliError as exc:
        _err(exc.message)
        return exc.code
    except InvalidInput as exc:  # a bad argument the parser could not see
        _err(exc.message)
        return 2
    except PosError as exc:
        _err(exc.message)
        return 1
    except SQLAlchemyError as exc:
        missing = _missing_database(exc, args)
        if missing:
            _err(missing)
            return 2
        _err(f"Database error: {_first_line(exc)}")
        return 1
    except OSError as exc:
        _err(f"{type(exc).__name__}: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


def _missing_database(exc: SQLAlchemyError, args: argparse.Namespace) -> str | None:
    """The one line for a PostgreSQL database that does not exist (SQLSTATE 3D000), as SQLite's
    missing file gets; None for any other error."""
    if getattr(getattr(exc, "orig", None), "sqlstate", None) != "3D000":
        return None
    url = make_url(load_settings().database_url)
    return (
        f"No database {url.database} on {url.host or 'localhost'} (DATABASE_URL): create it "
        f"(createdb {url.database}), then run `python -m bot migrate`"
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
