"""Sale lines for export, and the CSV and Excel files made of them, read back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from db import csv_safe
from db.exports import headers, to_csv, to_xlsx
from db.models import PaymentMethod
from db.money import to_decimal
from db.periods import period_for_days
from db.reports import ExportRow, sale_lines_for_export

from .builders import Shop, local

TZ = ZoneInfo("America/New_York")


async def test_sale_lines_for_export(session) -> None:
    shop = Shop(session)
    alice, bob = await shop.staff("Alice"), await shop.staff("Bob")
    carol = await shop.customer("Carol")
    apple = await shop.product("Apple", 150, sku="APL")
    bread = await shop.product("Bread", 300, sku="BRD")
    first = await shop.sale(local("America/New_York", 2024, 5, 15, 23, 59), bob, [(bread, 2), (apple, 1)])
    await shop.sale(local("America/New_York", 2024, 5, 15, 10), alice, [(apple, 1)], refunded_at=datetime.now(UTC))
    second = await shop.sale(
        local("America/New_York", 2024, 5, 15, 9), alice, [(apple, 3)], payment=PaymentMethod.CARD, customer=carol
    )
    await shop.sale(local("America/New_York", 2024, 5, 16, 0, 0), alice, [(apple, 1)])  # next day
    # The line keeps the name and price of the moment of sale.
    apple.name, apple.price_minor = "Green apple", 999
    await session.commit()

    rows = await sale_lines_for_export(session, period=period_for_days(date(2024, 5, 15), date(2024, 5, 15), TZ))
    assert rows == [
        ExportRow(first.id, datetime(2024, 5, 16, 3, 59, tzinfo=UTC), "Bob", "", "cash", "BRD", "Bread", 2, 300, 600),
        ExportRow(first.id, datetime(2024, 5, 16, 3, 59, tzinfo=UTC), "Bob", "", "cash", "APL", "Apple", 1, 150, 150),
        ExportRow(
            second.id, datetime(2024, 5, 15, 13, 0, tzinfo=UTC), "Alice", "Carol", "card", "APL", "Apple", 3, 150, 450
        ),
    ]


ROWS = [
    ExportRow(
        7, datetime(2024, 3, 10, 6, 59, 59, 999999, tzinfo=UTC), "Alice", "", "cash", "APL", "Apple", 2, 150, 300
    ),
    ExportRow(
        7, datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC), "Alice", "", "cash", "BRD", 'Bread, "rye"', 1, 1250, 1250
    ),
    ExportRow(
        8, datetime(2024, 3, 10, 7, 0, tzinfo=UTC), "Zoë", "Crème Brûlée", "card", "=1+1", "=SUM(A1:A9)", 3, 5, 15
    ),
    ExportRow(
        9, datetime(2024, 3, 11, 3, 59, tzinfo=UTC), "Bob", "Ann\nLee", "mobile", "X", "Line\none", 1, 10**9, 10**9
    ),
]
# Local times: 01:59:59 EST just before the clocks spring forward, 03:00 EDT just after.
LOCAL_TIMES = [
    "2024-03-10T01:59:59-05:00",
    "2024-03-10T01:59:59-05:00",
    "2024-03-10T03:00:00-04:00",
    "2024-03-10T23:59:00-04:00",
]


def test_csv_reads_back_equal() -> None:
    data = to_csv(ROWS, tz=TZ, currency="EUR")
    raw = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert raw[3][5:7] == ["'=1+1", "'=SUM(A1:A9)"]  # a spreadsheet shows them, never runs them
    table = [[csv_safe.restore(cell) for cell in row] for row in raw]
    assert table[0] == headers(tz=TZ, currency="EUR")
    assert table[0][1] == "Time (America/New_York)" and table[0][8] == "Unit price (EUR)"
    assert table[1:] == [
        [
            str(r.sale_id),
            local_time,
            r.cashier_name,
            r.customer_name,
            r.payment_method,
            r.sku,
            r.product_name,
            str(r.quantity),
            str(to_decimal(r.unit_price_minor, "EUR")),
            str(to_decimal(r.line_total_minor, "EUR")),
        ]
        for r, local_time in zip(ROWS, LOCAL_TIMES, strict=True)
    ]
    assert table[1][8:] == ["1.50", "3.00"]
    assert table[4][8:] == ["10000000.00", "10000000.00"]
    for r, row in zip(ROWS, table[1:], strict=True):
        assert datetime.fromisoformat(row[1]) == r.created_at.replace(microsecond=0)
        assert Decimal(row[9]) * 100 == r.line_total_minor


def test_csv_of_nothing_is_a_header() -> None:
    assert to_csv([], tz=TZ, currency="EUR").decode("utf-8-sig").splitlines() == [
        ",".join(headers(tz=TZ, currency="EUR"))
    ]


def test_csv_money_follows_the_currency() -> None:
    row = ROWS[1]
    assert to_csv([row], tz=TZ, currency="JPY").decode().splitlines()[1].endswith(",1250,1250")
    assert to_csv([row], tz=TZ, currency="KWD").decode().splitlines()[1].endswith(",1.250,1.250")


@pytest.mark.parametrize(("currency", "money_format"), [("EUR", "#,##0.00"), ("JPY", "#,##0")])
def test_xlsx_reads_back_equal(currency: str, money_format: str) -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(ROWS, tz=TZ, currency=currency))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == headers(tz=TZ, currency=currency)
    assert len(values) == len(ROWS) + 1
    for r, row in zip(ROWS, values[1:], strict=True):
        sale_id, created, cashier, customer, payment, sku, name, quantity, unit, total = row
        assert (sale_id, cashier, customer or "", payment, sku, name, quantity) == (
            r.sale_id,
            r.cashier_name,
            r.customer_name,
            r.payment_method,
            r.sku,
            r.product_name,
            r.quantity,
        )
        assert created == r.created_at.astimezone(TZ).replace(tzinfo=None, microsecond=0)
        assert Decimal(str(unit)) == to_decimal(r.unit_price_minor, currency)
        assert Decimal(str(total)) == to_decimal(r.line_total_minor, currency)
    cells = sheet[2]
    assert isinstance(cells[8].value, float | int) and cells[8].number_format == money_format
    assert cells[1].is_date and cells[1].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["G4"].data_type == "s"  # "=SUM(A1:A9)" is a product name, not a formula
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= len("yyyy-mm-dd hh:mm:ss")
    assert sheet.column_dimensions["G"].width >= len("=SUM(A1:A9)")


def test_xlsx_drops_characters_excel_cannot_hold() -> None:
    row = ExportRow(1, datetime(2024, 1, 1, tzinfo=UTC), "A\x00l\x1fice", "", "cash", "S", "P", 1, 1, 1)
    sheet = load_workbook(io.BytesIO(to_xlsx([row], tz=TZ, currency="EUR"))).active
    assert sheet is not None
    assert sheet["C2"].value == "Alice"


def test_xlsx_of_nothing_is_a_header() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx([], tz=TZ, currency="EUR"))).active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [headers(tz=TZ, currency="EUR")]
