"""`python -m bot shifts [period] [--csv FILE]` and the drawer proofs of `python -m bot check`."""

from __future__ import annotations

import csv
import io

from bot.cli import main
from db import catalog, shifts
from db.csv_safe import BOM, restore
from db.engine import make_engine, make_session_factory
from db.models import PaymentMethod, Role
from tests import cli_helpers, factories
from tests.cli_helpers import execute, run_sync

database_url = cli_helpers.database_url
cli_env = cli_helpers.cli_env
TILL = 31337


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _a_shift(url: str) -> None:
    """Shift #1: float 50.00, a 2.50 sale paid with 5.00 cash, a pay-out to =cmd|' /C calc'!A0, closed
    with 52.00 counted (0.50 short)."""
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        cashier = await factories.run(factory, factories.make_staff, name="Una", role=Role.CASHIER)
        await factories.run(factory, catalog.add_product, name="Tea", sku="T-1", price_minor=250, stock=5)
        tea = await factories.run(factory, catalog.get_by_sku, sku="T-1")
        await factories.run(factory, shifts.open_shift, chat_id=TILL, float_minor=5_000, actor=cashier, currency="USD")
        await factories.sell(
            factory, cashier=cashier, items=[(tea, 1)], chat_id=TILL, method=PaymentMethod.CASH, tendered_minor=500
        )
        await factories.run(
            factory,
            shifts.cash_movement,
            chat_id=TILL,
            amount_minor=200,
            reason="=cmd|' /C calc'!A0",
            actor=cashier,
            pay_in=False,
        )
        await factories.run(factory, shifts.close_shift, number=1, counted_minor=5_000, actor=cashier, chat_id=TILL)
    finally:
        await engine.dispose()


def test_shifts_lists_the_z_reports_and_writes_a_safe_csv(cli_env, capsys, tmp_path):
    code, out, _ = run(capsys, "shifts")
    assert code == 0 and out.startswith("No shifts opened")
    run_sync(_a_shift(cli_env))

    code, out, err = run(capsys, "shifts", "today", "--csv", str(tmp_path / "shifts.csv"))
    assert code == 0, err
    assert "Z report · shift #1" in out and "opened" in out and "by Una" in out
    assert "= Expected in the drawer: $50.50" in out  # 50.00 + 5.00 − 2.50 − 2.00
    assert "Counted: $50.00" in out and "Difference: $0.50 short" in out
    assert "Sales: 1" in out and "Gross sales (shelf prices × quantities): $2.50" in out
    assert f"Wrote 1 shift to {tmp_path / 'shifts.csv'}" in err

    text = (tmp_path / "shifts.csv").read_text(encoding="utf-8")
    assert text.startswith(BOM)
    header, row = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    record = dict(zip(header, row, strict=True))
    assert (record["shift"], record["till"], record["opened_by"]) == ("1", str(TILL), "Una")
    assert (record["float"], record["cash_sales"], record["change"], record["pay_outs"]) == (
        "50.00",
        "5.00",
        "2.50",
        "2.00",
    )
    assert (record["expected"], record["counted"], record["difference"]) == ("50.50", "50.00", "-0.50")
    assert restore(record["closed_by"]) == "Una"

    code, _, err = run(capsys, "shifts", "not-a-period")
    assert code == 2


def test_check_proves_the_drawers_and_finds_a_tampered_entry(cli_env, capsys):
    assert run(capsys, "migrate")[0] == 0
    run_sync(_a_shift(cli_env))
    code, out, _ = run(capsys, "check")
    assert code == 0, out
    assert "Stock ledger OK" in out and "Cash drawers OK" in out

    run_sync(execute(cli_env, "UPDATE drawer_entries SET amount_minor = -150 WHERE kind = 'pay_out'"))
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert "Stock ledger OK" in out
    assert "Cash drawer MISMATCH in 1 place:" in out
    assert "shift #1, balance: recorded $50.50, drawer entries add up to $51.00" in out
