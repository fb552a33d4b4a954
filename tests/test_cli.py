"""`python -m bot <command>`: every command, its output and its exit code, on SQLite and PostgreSQL.

The CLI runs in-process (bot.cli.main) against a fresh, unmigrated database per test, in an empty
directory so no .env is read.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.cli import build_parser, main
from db import backup as backup_db
from db import catalog
from db.catalog_io import COLUMNS
from db.demo import DEMO_STAFF
from db.engine import make_engine, make_session_factory
from db.migrate import current_revision
from db.models import AuditEntry, Sale
from db.periods import PERIOD_FORMS
from db.settings import TOKEN_HELP
from db.staff import MAX_TELEGRAM_ID
from tests import cli_helpers, factories
from tests.cli_helpers import POSTGRES_URL_ENV, execute, run_sync, scalar, table_contents

database_url = cli_helpers.database_url  # fixtures: a fresh unmigrated database, and the CLI's environment
cli_env = cli_helpers.cli_env

GOOD_CSV = """name,price,stock,category,sku,barcode,threshold
Sourdough loaf,4.50,12,Bakery,BAK-1,2000000000015,
Whole milk 1 L,"1,29",30,Dairy,DAI-1,,8
Matches,0.79,0,,HOU-1,,
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(url: str, table: str) -> int:
    return run_sync(scalar(url, f"SELECT count(*) FROM {table}"))


# --- usage and settings ------------------------------------------------------------------------


def test_no_command_prints_usage_and_exits_2(capsys):
    code, _out, err = run(capsys)
    assert code == 2
    assert "usage: python -m bot" in err and "import-products" in err


COMMANDS = [
    ["run"],
    ["webhook"],
    ["console"],
    ["migrate"],
    ["demo-data"],
    ["import-products"],
    ["export-products"],
    ["report"],
    ["shifts"],
    ["staff"],
    ["staff", "add"],
    ["staff", "list"],
    ["staff", "remove"],
    ["backup"],
    ["check"],
    ["api"],
    ["apikey"],
    ["apikey", "new"],
    ["apikey", "list"],
    ["apikey", "revoke"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m bot {' '.join(command)}")


def test_every_subcommand_is_covered_by_the_help_test():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert {c[0] for c in COMMANDS} == set(subparsers.choices)


def test_unknown_command_and_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["staff", "add", "not-a-number", "cashier"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["staff", "add", "5", "boss"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("CURRENCY", "XYZ"), ("STORE_TIMEZONE", "Mars/Olympus"), ("DATABASE_URL", "mysql://x/y"), ("ADMIN_IDS", "ann")],
)
def test_a_malformed_setting_is_one_line_naming_it_and_exit_2(name, value, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    code, _out, err = run(capsys, "migrate")
    assert code == 2
    assert err.count("\n") == 1 and name in err
    assert not list(tmp_path.iterdir()), "nothing may be created when the settings are wrong"


def test_run_without_token_and_no_terminal_explains_and_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _out, err = run(capsys, "run")
    assert code == 2
    assert err.strip() == TOKEN_HELP


def test_run_with_a_malformed_token_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "12345")
    code, _out, err = run(capsys, "run")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in err and "12345" not in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_run_without_token_at_a_terminal_starts_the_console_demo(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("sys.stdin", _Terminal("/quit\n"))
    code, out, err = run(capsys, "run")
    assert code == 0
    assert TOKEN_HELP in err and "Starting the console demo instead (pipenv run console --demo)." in err
    assert "Demo store created" in out and "Hello, Ada" in out
    assert (tmp_path / "demo.db").is_file() and not (tmp_path / "pos.db").exists()


def test_console_refuses_a_database_it_cannot_use(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "console", "--db", "mysql://shop/pos")
    assert code == 2 and err.startswith("--db must use sqlite+aiosqlite://") and err.count("\n") == 1


def test_webhook_names_the_missing_setting(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    code, _, err = run(capsys, "webhook")
    assert code == 2 and err.startswith("Setting WEBHOOK_URL is required") and err.count("\n") == 1
    monkeypatch.setenv("WEBHOOK_URL", "https://pos.example.com")
    code, _, err = run(capsys, "webhook")
    assert code == 2 and err.startswith("Setting WEBHOOK_SECRET is required") and err.count("\n") == 1
    monkeypatch.setenv("WEBHOOK_SECRET", "no spaces allowed")
    code, _, err = run(capsys, "webhook")
    assert code == 2 and "WEBHOOK_SECRET" in err and "no spaces allowed" not in err
    assert not list(tmp_path.iterdir())


# --- migrate, demo-data, check -----------------------------------------------------------------


def test_migrate_creates_the_schema_and_is_repeatable(cli_env, capsys, monkeypatch):
    shown = make_url(cli_env).render_as_string(hide_password=True)
    code, out, _ = run(capsys, "migrate")
    head = run_sync(scalar(cli_env, "SELECT version_num FROM alembic_version"))
    assert (code, out) == (0, f"Created the database at {shown} (schema {head}).\n")
    assert count(cli_env, "products") == 0
    code, out, _ = run(capsys, "migrate")
    assert (code, out) == (0, f"Database {shown} is up to date (schema {head}).\n")

    # A database an older release made: what it was and what it is now.
    revisions = iter(["0000", head])
    monkeypatch.setattr("bot.cli.current_revision", lambda url: next(revisions))
    code, out, _ = run(capsys, "migrate")
    assert (code, out) == (0, f"Upgraded the database at {shown} from schema 0000 to {head}.\n")


def test_check_refuses_a_missing_sqlite_database_without_creating_it(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'nothing.db'}")
    code, _out, err = run(capsys, "check")
    assert code == 2  # it could not start
    missing = f"No database at {tmp_path / 'nothing.db'} (DATABASE_URL): nothing there yet"
    assert err == missing + " (run `python -m bot migrate` to create it)\n"
    assert not (tmp_path / "nothing.db").exists()


def test_demo_data_then_check_then_a_tampered_ledger(cli_env, capsys):
    code, out, _ = run(capsys, "demo-data")
    assert code == 0 and "Demo store added: 51 products in 6 categories" in out
    products, sales = count(cli_env, "products"), count(cli_env, "sales")
    assert products == 51 and sales > 150

    code, out, _ = run(capsys, "demo-data")  # idempotent
    assert code == 0 and "already has products" in out
    assert count(cli_env, "products") == products and count(cli_env, "sales") == sales

    code, out, _ = run(capsys, "check")
    assert code == 0 and "Stock ledger OK" in out

    run_sync(execute(cli_env, "UPDATE products SET stock = stock + 2 WHERE sku = 'BAK-001'"))
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "MISMATCH in 1 product:" in out and "BAK-001" in out and "(+2)" in out
    assert "Points ledger OK" in out


def test_check_proves_the_points_ledger_and_finds_a_tampered_balance(cli_env, capsys):
    assert run(capsys, "demo-data")[0] == 0
    run_sync(execute(cli_env, "UPDATE customers SET points_balance = 40 WHERE id = 1"))
    run_sync(
        execute(
            cli_env,
            "INSERT INTO points_entries (customer_id, kind, points, reason, created_at) "
            "VALUES (1, 'adjust', 40, 'welcome', CURRENT_TIMESTAMP)",
        )
    )
    code, out, _ = run(capsys, "check")
    assert code == 0 and "Points ledger OK" in out
    run_sync(execute(cli_env, "UPDATE customers SET points_balance = 45 WHERE id = 1"))
    code, out, _ = run(capsys, "check")
    assert code == 1 and "Stock ledger OK" in out
    assert "Points ledger MISMATCH in 1 customer:" in out and "balance 45, entries add up to 40 (+5)" in out


def test_demo_store_is_believable(cli_env, capsys):
    assert run(capsys, "demo-data")[0] == 0
    assert count(cli_env, "categories") == 6
    assert count(cli_env, "customers") >= 5
    staff_ids = {row[1] for row in run_sync(table_contents(cli_env))["staff"]}
    assert {telegram_id for telegram_id, _, _ in DEMO_STAFF} <= staff_ids
    # Ids no Telegram user can have: demo data in a real store makes no real person its admin.
    assert all(telegram_id > MAX_TELEGRAM_ID for telegram_id in staff_ids)
    low = run_sync(scalar(cli_env, "SELECT count(*) FROM products WHERE stock <= coalesce(low_stock_threshold, 5)"))
    assert 3 <= low <= 15
    # A month of sales: spread over the days, none in the future, with refunds.
    days = run_sync(scalar(cli_env, "SELECT count(DISTINCT substr(CAST(created_at AS TEXT), 1, 10)) FROM sales"))
    assert days >= 25
    assert run_sync(scalar(cli_env, "SELECT count(*) FROM sales WHERE status = 'refunded'")) == 2
    today = datetime.now(UTC).date()
    code, out, _ = run(capsys, "report", f"{today - timedelta(days=31)}..{today}")
    assert code == 0 and "Revenue" in out and "Cal Cashier" in out and "Refunded      2 sales" in out
    code, out, _ = run(capsys, "report", f"{today + timedelta(days=1)}")
    assert code == 0 and "No sales in this period." in out


async def _audit_and_refunds(url: str) -> tuple[list[AuditEntry], dict[str, datetime]]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            entries = list((await session.scalars(select(AuditEntry))).all())
            refunded = (await session.scalars(select(Sale).where(Sale.refunded_at.is_not(None)))).all()
            return entries, {f"sale #{sale.id}": sale.refunded_at for sale in refunded}
    finally:
        await engine.dispose()


def test_the_demo_audit_log_tells_the_month_as_it_happened(cli_env, capsys):
    assert run(capsys, "demo-data")[0] == 0
    now = datetime.now(UTC)
    entries, refunded = run_sync(_audit_and_refunds(cli_env))
    assert len(refunded) == 2 and all(e.created_at <= now for e in entries)
    assert min(e.created_at for e in entries) < now - timedelta(days=30)  # the store opened a month ago
    # Each refund is logged when it was made (days ago), by the manager who made it.
    refunds = [e for e in entries if e.action == "refund"]
    assert sorted(e.created_at for e in refunds) == sorted(refunded.values())
    for entry in refunds:
        assert entry.created_at == refunded[entry.details.split(":")[0]] and entry.actor_name == "Mia Manager"
    # Today's log (as /audit today shows it) holds this morning's shelf counts only, not the whole month.
    today = [e for e in entries if e.created_at.date() == now.date()]
    assert today and {e.action for e in today} == {"adjust"} and len(today) <= len(entries) // 10
    assert {e.actor_name for e in entries if e.action in ("restock", "adjust")} == {"Mia Manager"}


# --- import and export -------------------------------------------------------------------------


def test_import_adds_then_updates_through_the_stock_ledger(cli_env, capsys, tmp_path):
    code, out, err = run(capsys, "import-products", str(write(tmp_path, "a.csv", GOOD_CSV)))
    assert (code, err) == (0, "")
    assert "3 products: 3 added, 0 updated, 0 unchanged" in out
    rows = run_sync(table_contents(cli_env))
    assert count(cli_env, "products") == 3
    notes = {(r[2], r[3], r[6]) for r in rows["stock_movements"]}  # quantity, reason, note
    assert notes == {(12, "initial", "import"), (30, "initial", "import")}
    assert run_sync(scalar(cli_env, "SELECT price_minor FROM products WHERE sku = 'DAI-1'")) == 129
    assert run_sync(scalar(cli_env, "SELECT low_stock_threshold FROM products WHERE sku = 'DAI-1'")) == 8
    assert run_sync(scalar(cli_env, "SELECT barcode FROM products WHERE sku = 'BAK-1'")) == "2000000000015"

    changed = GOOD_CSV.replace("Sourdough loaf,4.50,12", "Sourdough loaf,4.90,10").replace(",0,,HOU-1", ",5,,HOU-1")
    code, out, _ = run(capsys, "import-products", str(write(tmp_path, "b.csv", changed)))
    assert code == 0 and "0 added, 2 updated, 1 unchanged" in out
    assert run_sync(scalar(cli_env, "SELECT stock FROM products WHERE sku = 'BAK-1'")) == 10
    assert run_sync(scalar(cli_env, "SELECT price_minor FROM products WHERE sku = 'BAK-1'")) == 490
    adjustments = run_sync(
        scalar(cli_env, "SELECT count(*) FROM stock_movements WHERE reason = 'adjustment' AND note = 'import'")
    )
    assert adjustments == 2
    assert run(capsys, "check")[0] == 0


def test_an_import_with_bad_rows_changes_nothing(cli_env, capsys, tmp_path):
    assert run(capsys, "import-products", str(write(tmp_path, "a.csv", GOOD_CSV)))[0] == 0
    before = run_sync(table_contents(cli_env))
    bad = (
        "name,price,stock,category,sku,barcode,threshold\n"
        "Sourdough loaf,9.99,99,Bakery,BAK-1,,\n"  # fine on its own: must not be applied either
        "Cheap thing,abc,1,,X-1,,\n"
        ",1.00,1,,X-2,,\n"
        "Negative,1.00,-4,,X-3,,\n"
        "Twin,1.00,1,,BAK-1,,\n"
        "Too precise,1.005,1,,X-4,,\n"
        "Short row,1.00\n"
    )
    code, out, err = run(capsys, "import-products", str(write(tmp_path, "bad.csv", bad)))
    assert code == 1 and out == ""
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}: " in err
    assert "line 2:" not in err
    assert "Nothing imported: 6 bad rows" in err
    assert run_sync(table_contents(cli_env)) == before


def test_a_row_the_database_refuses_rolls_back_the_whole_import(cli_env, capsys, tmp_path):
    assert run(capsys, "import-products", str(write(tmp_path, "a.csv", GOOD_CSV)))[0] == 0
    before = run_sync(table_contents(cli_env))
    clash = (
        "name,price,stock,sku,barcode\n"
        "New thing,1.00,5,NEW-1,\n"
        "Stolen barcode,1.00,5,NEW-2,2000000000015\n"  # BAK-1's barcode
        "Archive me not,2.00,3,HOU-1,\n"
    )
    code, _out, err = run(capsys, "import-products", str(write(tmp_path, "clash.csv", clash)))
    assert code == 1
    assert "line 3: " in err and "2000000000015" in err and "BAK-1" in err
    assert "Nothing imported: 1 bad row." in err
    assert run_sync(table_contents(cli_env)) == before


@pytest.mark.parametrize(
    ("header", "message"),
    [("", "empty"), ("name,price,colour,sku", "Unknown column “colour”"), ("name,stock,sku", "no “price” column")],
)
def test_an_unusable_header_is_one_line_and_exit_1(header, message, cli_env, capsys, tmp_path):
    code, _out, err = run(capsys, "import-products", str(write(tmp_path, "h.csv", header + "\n" if header else "")))
    assert code == 1 and message in err and err.count("\n") == 1


def test_a_large_import_shows_a_progress_bar_on_a_terminal_only(cli_env, capsys, monkeypatch, tmp_path):
    rows = "".join(f"Item {i},1.{i % 100:02d},{i % 7},Bulk,BULK-{i:04d},,\n" for i in range(250))
    big = write(tmp_path, "big.csv", "name,price,stock,category,sku,barcode,threshold\n" + rows)
    captured, terminal = sys.stderr, _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["import-products", str(big)]) == 0
    assert "Importing: 100%" in terminal.getvalue() and "250/250" in terminal.getvalue()
    monkeypatch.setattr("sys.stderr", captured)
    code, out, err = run(capsys, "import-products", str(big))  # not a terminal: no bar
    assert (code, err) == (0, "") and "250 unchanged" in out


def test_import_of_a_missing_file_exits_2(cli_env, capsys, tmp_path):
    code, _out, err = run(capsys, "import-products", str(tmp_path / "nope.csv"))
    assert code == 2 and "No such file" in err


def test_import_reads_semicolon_files_and_standard_input(cli_env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("name;price;sku\nTea;2,50;T-1\n"))
    code, out, _ = run(capsys, "import-products", "-")
    assert code == 0 and "1 added" in out
    assert run_sync(scalar(cli_env, "SELECT price_minor FROM products WHERE sku = 'T-1'")) == 250


def test_export_round_trips_through_import(cli_env, capsys, tmp_path, monkeypatch):
    assert run(capsys, "demo-data")[0] == 0
    code, exported, _ = run(capsys, "export-products")
    assert code == 0
    assert exported.startswith("\ufeff")  # spreadsheets read accents and emoji
    rows = list(csv.reader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 52
    target = tmp_path / "catalog.csv"
    code, _, err = run(capsys, "export-products", str(target))
    assert code == 0 and "Exported 51 products" in err
    assert target.read_text(encoding="utf-8") == exported

    # Re-importing it into the same store changes nothing...
    before = run_sync(table_contents(cli_env))
    code, out, _ = run(capsys, "import-products", str(target))
    assert code == 0 and "51 unchanged" in out
    assert run_sync(table_contents(cli_env)) == before

    # ...and into an empty store it rebuilds the same catalog.
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}")
    assert run(capsys, "import-products", str(target))[0] == 0
    code, again, _ = run(capsys, "export-products")
    assert again == exported


# --- reports -----------------------------------------------------------------------------------


async def _sell_one(url: str, sku: str) -> None:
    """One card sale of one unit, by a new cashier."""
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        cashier = await factories.run(factory, factories.make_staff, name="Una")
        product = await factories.run(factory, catalog.get_by_sku, sku=sku)
        await factories.sell(factory, cashier=cashier, items=[(product, 1)])
    finally:
        await engine.dispose()


def test_one_of_anything_is_singular(cli_env, capsys, tmp_path):
    code, out, _ = run(
        capsys, "import-products", str(write(tmp_path, "one.csv", "name,price,stock,sku\nTea,2.50,5,T-1\n"))
    )
    assert code == 0 and out.startswith("Imported 1 product: 1 added")
    code, _, err = run(capsys, "import-products", str(write(tmp_path, "bad.csv", "name,price,sku\nTea,abc,T-1\n")))
    assert code == 1 and "Nothing imported: 1 bad row." in err
    code, _, err = run(capsys, "export-products", str(tmp_path / "catalog.csv"))
    assert code == 0 and f"Exported 1 product to {tmp_path / 'catalog.csv'}" in err

    run_sync(_sell_one(cli_env, "T-1"))
    code, out, err = run(capsys, "report", "--csv", str(tmp_path / "sales.csv"))
    assert code == 0 and f"Wrote 1 sale line to {tmp_path / 'sales.csv'}" in err
    assert "Revenue       $2.50 from 1 sale\n" in out
    assert "  card         1 sale   " in out and "  Una                      1 sale   " in out
    assert "Tea                              1 unit  in    1 sale   " in out
    assert "1 sales" not in out and "1 units" not in out and " sales  " not in out

    run_sync(execute(cli_env, "UPDATE products SET stock = stock + 1 WHERE sku = 'T-1'"))
    code, out, _ = run(capsys, "check")
    assert code == 1 and "Stock ledger MISMATCH in 1 product:" in out


def test_report_of_an_empty_day_and_a_bad_period(cli_env, capsys):
    code, out, _ = run(capsys, "report")
    assert code == 0 and "No sales in this period." in out
    code, out, err = run(capsys, "report", "fortnight")
    assert code == 2 and "“fortnight” is not a period" in err and err.count("\n") == 1


def test_report_prints_the_summary_and_writes_csv(cli_env, capsys, tmp_path):
    assert run(capsys, "demo-data")[0] == 0
    target = tmp_path / "month.csv"
    today = datetime.now(UTC).date()
    code, out, err = run(capsys, "report", f"{today - timedelta(days=31)}..{today}", "--csv", str(target))
    assert code == 0
    assert "Revenue" in out and "By payment" in out and "Best sellers" in out
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("\ufeffSale,Time (UTC),Cashier")  # a byte order mark for spreadsheets
    assert len(lines) > 200 and f"Wrote {len(lines) - 1} sale lines" in err


# --- staff -------------------------------------------------------------------------------------


def test_staff_add_list_role_remove(cli_env, capsys):
    code, out, _ = run(capsys, "staff", "list")
    assert code == 0 and "No staff yet" in out
    code, out, _ = run(capsys, "staff", "add", "555", "admin", "Ann", "Owner")
    assert code == 0 and "Ann Owner (555) is now admin." in out
    assert run(capsys, "staff", "add", "556", "CASHIER", "Bo")[0] == 0
    code, out, _ = run(capsys, "staff", "role", "556", "manager")
    assert code == 0 and "is now manager" in out
    code, out, _ = run(capsys, "staff", "list")
    assert "555  admin    Ann Owner" in out and "556  manager  Bo" in out

    code, out, err = run(capsys, "staff", "remove", "555")
    assert code == 1 and "last admin" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "staff", "remove", "556")
    assert code == 0 and "Bo (556) is no longer on the staff." in out
    code, out, err = run(capsys, "staff", "remove", "556")
    assert code == 1 and "No active staff member" in err
    code, out, _ = run(capsys, "staff", "list")
    assert "Bo  (removed)" in out
    audit = run_sync(scalar(cli_env, "SELECT count(*) FROM audit_log WHERE actor_name = 'system'"))
    assert audit >= 4


# --- backup ------------------------------------------------------------------------------------


def test_backup_restores_to_an_identical_database(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    live = tmp_path / "live.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{live}")
    assert run(capsys, "demo-data")[0] == 0
    backup = tmp_path / "backups" / "pos-backup.db"
    backup.parent.mkdir()
    code, out, err = run(capsys, "backup", str(backup))
    assert (code, err) == (0, "")
    assert "Backed up" in out and str(backup) in out

    # Restore = copy the file into place while the bot is stopped.
    restored = tmp_path / "restored.db"
    shutil.copyfile(backup, restored)
    original = run_sync(table_contents(f"sqlite+aiosqlite:///{live}"))
    copy = run_sync(table_contents(f"sqlite+aiosqlite:///{restored}"))
    assert copy == original and len(copy["sales"]) > 150
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{restored}")
    assert run(capsys, "check")[0] == 0

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{live}")
    code, _, err = run(capsys, "backup", str(backup))
    assert (code, err) == (2, f"{backup} already exists (use --force to replace it)\n")
    assert run(capsys, "backup", "--force", str(backup))[0] == 0
    code, _, err = run(capsys, "backup", str(live))
    assert code == 2 and "the database itself" in err and err.count("\n") == 1
    nowhere = tmp_path / "no-such-folder" / "pos.db"
    code, _, err = run(capsys, "backup", str(nowhere))
    assert code == 2
    assert err == f"No folder {nowhere.parent} to write pos.db in: create it first, or choose another path\n"
    assert not nowhere.parent.exists()


def test_backup_of_a_missing_database_creates_nothing(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")
    code, _, err = run(capsys, "backup", str(tmp_path / "copy.db"))
    assert code == 2 and "No database at" in err and "(run `python -m bot migrate` to create it)" in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_backup_on_postgresql_points_to_pg_dump(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://pos@127.0.0.1:1/pos")
    code, _out, err = run(capsys, "backup", "x.dump")
    assert code == 2 and "pg_dump" in err and err.count("\n") == 1
    assert not (tmp_path / "x.dump").exists()


def test_database_errors_are_one_line_exit_1(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    code, _out, err = run(capsys, "check")
    assert code == 1 and err.count("\n") == 1


# --- settings and arguments say what is wrong (issue #10) ------------------------------------------
@pytest.mark.parametrize("value", ["nonsense://", "sqlite:///pos.db", "postgresql+nosuchdriver://pos@127.0.0.1/pos"])
def test_a_malformed_database_url_names_it_and_exits_2(value, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", value)
    for command in ("migrate", "check", "report"):
        code, _out, err = run(capsys, command)
        assert code == 2 and err.count("\n") == 1, err
        assert "DATABASE_URL" in err and "sqlite+aiosqlite://" in err and "postgresql+asyncpg://" in err
    assert not list(tmp_path.iterdir()), "nothing may be created when the settings are wrong"


def test_a_postgresql_database_that_does_not_exist_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    name = f"pos_missing_{uuid.uuid4().hex[:12]}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", make_url(base).set(database=name).render_as_string(hide_password=False))
    for argv in (["check"], ["migrate"], ["report"], ["staff", "list"], ["export-products"]):
        code, _out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1, (argv, err)
        assert f"No database {name} on " in err and "(DATABASE_URL)" in err and "migrate" in err


def test_check_on_a_database_never_migrated_is_one_line_and_exit_2(cli_env, capsys):
    sqlite_path = backup_db.sqlite_file(cli_env)
    if sqlite_path is not None:
        sqlite_path.touch()  # an empty SQLite file is an empty database
    code, _out, err = run(capsys, "check")
    assert code == 2 and err.count("\n") == 1, err
    assert "(DATABASE_URL) has no tables yet" in err and "python -m bot migrate" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["staff", "add", "99999999999999999999", "cashier"],
        ["staff", "add", "0", "cashier"],
        ["staff", "role", "-5", "admin"],
        ["staff", "remove", "99999999999999999999"],
        ["report", "--top", "-1"],
        ["report", "--top", "0"],
        ["apikey", "revoke", "99999999999999999999"],
    ],
)
def test_a_bad_argument_exits_2_before_touching_the_database(argv, cli_env, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    sqlite_path = backup_db.sqlite_file(cli_env)
    if sqlite_path is not None:
        assert not sqlite_path.exists(), "the database was not even created"
    else:
        assert current_revision(cli_env) is None, "the database was not even migrated"


def test_report_with_extreme_dates_shows_the_accepted_forms(cli_env, capsys):
    for period in ("9999-12-31", "0001-01-01", "2026-01-01..9999-12-31"):
        code, out, err = run(capsys, "report", period)
        assert code == 2 and err.count("\n") == 1 and PERIOD_FORMS in err, err
        assert out == ""


def test_export_products_refuses_to_overwrite_without_force(cli_env, capsys, tmp_path):
    target = write(tmp_path, "products.csv", "keep me\n")
    code, _out, err = run(capsys, "export-products", str(target))
    assert code == 2 and err == f"{target} already exists (use --force to replace it)\n"
    assert target.read_text(encoding="utf-8") == "keep me\n"
    code, _out, _err = run(capsys, "export-products", str(target), "--force")
    assert code == 0 and target.read_text(encoding="utf-8-sig").startswith("name,")
