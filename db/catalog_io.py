"""The product catalog as CSV: import (an upsert by SKU) and export, which round-trip.

Columns: name, price, stock, category, sku, barcode, threshold. ``name``, ``price`` and ``sku``
are required; a missing optional column leaves that field of existing products alone, an empty
cell clears it (no category, no barcode, the store's default threshold; stock stays as it is).
Prices are amounts in the store currency ("2.50"), parsed like everywhere else.

An import is all or nothing: every row is checked first, then every row is written in the
caller's one transaction, each in a savepoint so a row the database refuses is reported with its
line number too; the caller rolls back when there is any error. Stock changes go through the stock
ledger: an INITIAL movement for a new product, an ADJUSTMENT for an existing one, noted "import".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import catalog, csv_safe
from db import stock as stock_db
from db.errors import PosError
from db.models import MovementReason, Product
from db.money import parse_money, to_decimal

COLUMNS = ("name", "price", "stock", "category", "sku", "barcode", "threshold")
REQUIRED = ("name", "price", "sku")
NOTE = "import"


@dataclass(frozen=True)
class ProductRow:
    """One parsed CSV row. A field is None when its column is absent from the file."""

    line: int
    name: str
    price_minor: int
    sku: str
    stock: int | None = None
    category: str | None = None  # "" clears
    barcode: str | None = None  # "" clears
    threshold: int | None = None
    has_threshold: bool = False  # the column exists (an empty cell means "the store default")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class CsvFormatError(PosError):
    """The file as a whole is unusable (no header, unknown columns...)."""


# --- reading -------------------------------------------------------------------------------------


def _whole_number(text: str, what: str, *, hi: int) -> int:
    if not text.isdigit():
        raise ValueError(f"{what} “{text}” is not a whole number")
    value = int(text)
    if value > hi:
        raise ValueError(f"{what} {value} is over {hi}")
    return value


class _Semicolon(csv.excel):
    delimiter = ";"


def _dialect(text: str) -> type[csv.Dialect]:
    # Spreadsheets in many locales save with ";" because "," is their decimal separator.
    header = text.splitlines()[0] if text else ""
    return _Semicolon if header.count(";") > header.count(",") else csv.excel


def read_rows(stream: TextIO, *, currency: str) -> tuple[list[ProductRow], list[RowError]]:
    """Parse and check a CSV file; every problem is reported with its line number.

    Raises CsvFormatError when the header is unusable.
    """
    text = stream.read()
    text = text.removeprefix(csv_safe.BOM)
    reader = csv.reader(io.StringIO(text), dialect=_dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("The file is empty: expected a header line " + ",".join(COLUMNS)) from None
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"Unknown column “{unknown[0]}” in the header: the columns are {','.join(COLUMNS)}")
    duplicated = next((h for h in names if names.count(h) > 1), None)
    if duplicated:
        raise CsvFormatError(f"The column “{duplicated}” appears twice in the header")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CsvFormatError(f"The header has no “{missing[0]}” column: {', '.join(REQUIRED)} are required")

    rows: list[ProductRow] = []
    errors: list[RowError] = []
    seen_codes: dict[str, tuple[int, str]] = {}  # lower-case sku/barcode -> (line, what)
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank lines are harmless
        if len(cells) != len(names):
            errors.append(RowError(line, f"{len(cells)} cells, but the header has {len(names)} columns"))
            continue
        cell = {name: csv_safe.restore(value.strip()) for name, value in zip(names, cells, strict=True)}
        try:
            row = _parse_row(line, cell, currency)
        except (ValueError, PosError) as exc:
            errors.append(RowError(line, exc.message if isinstance(exc, PosError) else str(exc)))
            continue
        problem = None
        for code, what in ((row.sku, "SKU"), (row.barcode, "barcode")):
            if not code:
                continue
            earlier = seen_codes.get(code.lower())
            if earlier is not None and not (what == "barcode" and earlier == (line, "SKU")):
                problem = f"{what} “{code}” is already the {earlier[1]} of line {earlier[0]}"
                break
            seen_codes[code.lower()] = (line, what)
        if problem:
            errors.append(RowError(line, problem))
            continue
        rows.append(row)
    return rows, errors


def _parse_row(line: int, cell: dict[str, str], currency: str) -> ProductRow:
    name, sku = cell["name"], cell["sku"]
    if not name:
        raise ValueError("the name is empty")
    if not sku:
        raise ValueError("the SKU is empty (products are matched by SKU)")
    if not cell["price"]:
        raise ValueError("the price is empty")
    price_minor = parse_money(cell["price"], currency)
    stock = None
    if cell.get("stock"):
        stock = _whole_number(cell["stock"], "the stock", hi=catalog.MAX_STOCK)
    threshold = None
    if cell.get("threshold"):
        threshold = _whole_number(cell["threshold"], "the threshold", hi=catalog.MAX_STOCK)
    return ProductRow(
        line=line,
        name=name,
        price_minor=price_minor,
        sku=sku,
        stock=stock,
        category=cell.get("category"),
        barcode=cell.get("barcode"),
        threshold=threshold,
        has_threshold="threshold" in cell,
    )


# --- writing to the database ---------------------------------------------------------------------


async def _by_sku(session: AsyncSession, sku: str) -> Product | None:
    """Match on the SKU only (ignoring case), not on barcodes as catalog.get_by_sku does."""
    query = (
        select(Product)
        .where(func.lower(Product.sku, type_=String) == sku.lower())
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def import_rows(
    session: AsyncSession,
    *,
    rows: Iterable[ProductRow],
    on_row: Callable[[], None] | None = None,
    currency: str | None = None,
) -> ImportResult:
    """Upsert each row by SKU in the caller's transaction; collect per-row errors.

    Never commits. When ``result.errors`` is not empty the caller must roll back.
    """
    result = ImportResult()
    for row in rows:
        try:
            async with session.begin_nested():
                outcome = await _upsert(session, row, currency)
        except PosError as exc:
            result.errors.append(RowError(row.line, exc.message))
        else:
            if outcome == "added":
                result.added += 1
            elif outcome == "updated":
                result.updated += 1
            else:
                result.unchanged += 1
        if on_row is not None:
            on_row()
    return result


async def _upsert(session: AsyncSession, row: ProductRow, currency: str | None) -> str:
    product = await _by_sku(session, row.sku)
    if product is None:
        product = await catalog.add_product(
            session,
            name=row.name,
            price_minor=row.price_minor,
            stock=0,
            category=row.category or None,
            sku=row.sku,
            barcode=row.barcode or None,
            low_stock_threshold=row.threshold,
            currency=currency,
        )
        if row.stock:
            await stock_db.move_stock(
                session, product_id=product.id, delta=row.stock, reason=MovementReason.INITIAL, staff_id=None, note=NOTE
            )
        return "added"

    fields: dict = {}
    if row.name != product.name:
        fields["name"] = row.name
    if row.price_minor != product.price_minor:
        fields["price_minor"] = row.price_minor
    if row.category is not None:
        current = product.category.name if product.category else ""
        if row.category.lower() != current.lower():
            fields["category"] = row.category or None
    if row.barcode is not None and row.barcode.lower() != (product.barcode or "").lower():
        fields["barcode"] = row.barcode or None
    if row.has_threshold and row.threshold != product.low_stock_threshold:
        fields["low_stock_threshold"] = row.threshold
    if fields:
        await catalog.edit_product(session, product_id=product.id, currency=currency, **fields)
    delta = 0 if row.stock is None else row.stock - product.stock
    if delta:
        await stock_db.adjust(session, product_id=product.id, delta=delta, reason=NOTE)
    return "updated" if fields or delta else "unchanged"


# --- export --------------------------------------------------------------------------------------


async def export_products(session: AsyncSession, *, currency: str, include_archived: bool = False) -> str:
    """The catalog as CSV text (header + one row per product, by SKU) that import reads back."""
    query = select(Product).options(selectinload(Product.category))
    if not include_archived:
        query = query.where(Product.archived.is_(False))
    products = (await session.scalars(query)).all()
    # Sorted here, not in SQL: the same order on every backend whatever its collation.
    products = sorted(products, key=lambda p: p.sku.lower())
    return csv_safe.write(
        [
            COLUMNS,
            *(
                [
                    product.name,
                    to_decimal(product.price_minor, currency),
                    product.stock,
                    product.category.name if product.category else "",
                    product.sku,
                    product.barcode or "",
                    product.low_stock_threshold,
                ]
                for product in products
            ),
        ]
    )
