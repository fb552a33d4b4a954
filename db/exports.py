"""Sale lines as CSV or Excel files: pure functions over db.reports.ExportRow, no database.

openpyxl is imported inside to_xlsx: importing this module (the bot does, at start) stays cheap.
The bot makes its files in a worker process (handlers/workers.py) through export_file, which takes
plain data only (export_args).

Times are shown in the store's time zone; money in major units with the currency's decimals.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from zoneinfo import ZoneInfo

from db import csv_safe
from db.money import decimals, to_decimal
from db.reports import ExportRow

XLSX_MAX_COLUMN_WIDTH = 40


def headers(*, tz: ZoneInfo, currency: str) -> list[str]:
    return [
        "Sale",
        f"Time ({tz.key})",
        "Cashier",
        "Customer",
        "Payment",
        "SKU",
        "Product",
        "Quantity",
        f"Unit price ({currency})",
        f"Line total ({currency})",
    ]


EXPORT_KINDS = ("csv", "xlsx")
_ROW_FIELDS = attrgetter(*(f.name for f in fields(ExportRow)))


def export_args(rows: Sequence[ExportRow]) -> list[tuple]:
    """The rows as plain tuples (ints, strings, datetimes) in ExportRow's field order: what a
    worker process is sent for export_file."""
    return [_ROW_FIELDS(row) for row in rows]


def export_file(kind: str, rows: Sequence[tuple], *, tz: str, currency: str) -> bytes:
    """to_csv ("csv") or to_xlsx ("xlsx") of rows given as export_args made them; ``tz`` is the
    store's time zone name."""
    make = {"csv": to_csv, "xlsx": to_xlsx}[kind]
    return make([ExportRow(*row) for row in rows], tz=ZoneInfo(tz), currency=currency)


def to_csv(rows: Sequence[ExportRow], *, tz: ZoneInfo, currency: str) -> bytes:
    """UTF-8 CSV with a byte order mark and a header row, safe to open (db.csv_safe); times as
    ISO 8601 with the store's UTC offset, money as numbers."""
    return csv_safe.write(
        [
            headers(tz=tz, currency=currency),
            *(
                [
                    row.sale_id,
                    _local(row.created_at, tz).isoformat(timespec="seconds"),
                    row.cashier_name,
                    row.customer_name,
                    row.payment_method,
                    row.sku,
                    row.product_name,
                    row.quantity,
                    to_decimal(row.unit_price_minor, currency),
                    to_decimal(row.line_total_minor, currency),
                ]
                for row in rows
            ),
        ]
    ).encode("utf-8")


def to_xlsx(rows: Sequence[ExportRow], *, tz: ZoneInfo, currency: str) -> bytes:
    """An Excel workbook: one sheet, a bold frozen header, numbers as numbers, local times."""
    # openpyxl is imported here, by the one export that needs it, not when the bot starts.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def _text(value: str) -> str:
        # Control characters make an invalid workbook; nothing a shop types needs them.
        return ILLEGAL_CHARACTERS_RE.sub("", value)

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sales"
    header = headers(tz=tz, currency=currency)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    d = decimals(currency)
    money_format = "#,##0" + ("." + "0" * d if d else "")
    widths = [len(h) for h in header]
    for row in rows:
        values = [
            row.sale_id,
            # Excel has no time zones: a naive local time, the zone is named in the header.
            _local(row.created_at, tz).replace(tzinfo=None),
            _text(row.cashier_name),
            _text(row.customer_name),
            _text(row.payment_method),
            _text(row.sku),
            _text(row.product_name),
            row.quantity,
            to_decimal(row.unit_price_minor, currency),
            to_decimal(row.line_total_minor, currency),
        ]
        sheet.append(values)
        cells = sheet[sheet.max_row]
        cells[1].number_format = "yyyy-mm-dd hh:mm:ss"
        for cell in cells[2:7]:
            # openpyxl takes a string starting with "=" for a formula: a name never is one.
            cell.data_type = "s"
        cells[8].number_format = cells[9].number_format = money_format
        widths = [max(w, len(str(v))) for w, v in zip(widths, values, strict=True)]
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(width + 2, XLSX_MAX_COLUMN_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(microsecond=0)
