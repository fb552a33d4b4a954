"""The product catalog as CSV: import (an upsert by SKU) and export, which round-trip.

Columns: name, price, stock, category, sku, barcode, threshold. ``name``, ``price`` and ``sku``
are required; a missing optional column leaves that field of existing products alone, an empty
cell clears it (no category, no barcode, the store's default threshold; stock stays as it is).
Prices are amounts in the store currency ("2.50"), parsed like everywhere else.

Every row is checked first, against the file and the catalog, and nothing is written while any
row is wrong; then the rows are written in short transactions (see import_rows). Stock changes go
through the stock ledger: an INITIAL movement for a new product, an ADJUSTMENT for an existing
one, noted "import".
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import catalog, csv_safe
from db import stock as stock_db
from db.engine import SessionFactory, make_read_session_factory, run_transaction
from db.errors import PosError
from db.models import MovementReason, Product, code_key
from db.money import parse_money, to_decimal

COLUMNS = ("name", "price", "stock", "category", "sku", "barcode", "threshold")
REQUIRED = ("name", "price", "sku")
NOTE = "import"
BATCH_ROWS = 50  # rows written per transaction
SQLITE_PAUSE_S = 0.15  # between two batches on SQLite (see import_rows)


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
        .where(Product.sku_key == code_key(sku))
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def import_rows(
    factory: SessionFactory,
    *,
    rows: Iterable[ProductRow],
    on_row: Callable[[], None] | None = None,
    currency: str | None = None,
) -> ImportResult:
    """Check every row against the catalog, then upsert them by SKU in short transactions.

    Nothing is written while any row is wrong (``result.errors`` lists them all). Then the rows
    are written BATCH_ROWS per transaction, in product-id order (existing products by id, then
    the new ones in file order): no transaction holds SQLite's write lock for more than a moment,
    and on PostgreSQL the rows are locked in the order a checkout takes them, so the two do not
    deadlock (and a deadlock or serialization failure still runs the batch once more).

    A catalog change made by someone else between the check and the write can still make a batch
    fail: the batches before it stay written, the error names the row, and running the same file
    again finishes the import (an upsert by SKU changes nothing that is already right).
    """
    rows = list(rows)
    async with make_read_session_factory(factory.kw["bind"])() as session:
        ordered, errors = await _check_against_catalog(session, rows)
    result = ImportResult(errors=errors)
    if errors:
        return result
    sqlite = factory.kw["bind"].dialect.name == "sqlite"
    for start in range(0, len(ordered), BATCH_ROWS):
        batch = ordered[start : start + BATCH_ROWS]

        async def write(session: AsyncSession, batch: list[ProductRow] = batch) -> list[str]:
            return await _write_batch(session, batch, currency)

        try:
            outcomes = await run_transaction(factory, write)
        except _RowRefused as refused:
            result.errors.append(refused.error)
            return result
        for outcome in outcomes:
            setattr(result, outcome, getattr(result, outcome) + 1)
            if on_row is not None:
                on_row()
        if sqlite:
            # A writer waiting for the lock (a cashier's add-to-cart) polls at most every 100 ms
            # (SQLite's busy handler): a pause longer than that lets it in before the next batch.
            await asyncio.sleep(SQLITE_PAUSE_S)
    return result


class _RowRefused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


async def _write_batch(session: AsyncSession, batch: list[ProductRow], currency: str | None) -> list[str]:
    outcomes = []
    for row in batch:
        try:
            outcomes.append(await _upsert(session, row, currency))
        except PosError as exc:
            raise _RowRefused(RowError(row.line, exc.message)) from None
    return outcomes


async def _check_against_catalog(
    session: AsyncSession, rows: list[ProductRow]
) -> tuple[list[ProductRow], list[RowError]]:
    """The rows in the order they will be written, and every row the catalog would refuse.

    Plays the writes in that order over the codes already taken, with the checks add_product and
    edit_product make (field limits; a SKU or barcode used by another product, ignoring case).
    """
    keys = {code_key(r.sku) for r in rows} | {code_key(r.barcode) for r in rows if r.barcode}
    existing: dict[str, Product] = {}  # sku_key -> product
    owner: dict[str, int] = {}  # sku or barcode key -> product id (a new product: -line)
    names: dict[int, str] = {}
    key_list = sorted(k for k in keys if k)
    for start in range(0, len(key_list), 500):
        chunk = key_list[start : start + 500]
        query = select(Product).where(or_(Product.sku_key.in_(chunk), Product.barcode_key.in_(chunk)))
        for product in await session.scalars(query):
            existing[product.sku_key] = product
            names[product.id] = catalog.label(product)
            owner[product.sku_key] = product.id
            if product.barcode_key:
                owner.setdefault(product.barcode_key, product.id)

    def order(row: ProductRow) -> tuple[int, int]:
        product = existing.get(code_key(row.sku))
        return (0, product.id) if product else (1, row.line)

    ordered = sorted(rows, key=order)
    errors: list[RowError] = []
    for row in ordered:
        product = existing.get(code_key(row.sku))
        me = product.id if product else -row.line
        try:
            _check_fields(row)
            if product is None:
                _claim(owner, names, code_key(row.sku), me, f"SKU “{row.sku}”")
            sku_key, old_barcode = code_key(row.sku), product.barcode_key if product else None
            keeps_barcode = product is not None and row.barcode is None  # no barcode column
            new_barcode = old_barcode if keeps_barcode else code_key(row.barcode or None)
            if new_barcode and new_barcode not in (sku_key, old_barcode):
                _claim(owner, names, new_barcode, me, f"barcode “{row.barcode}”")
            if old_barcode and old_barcode not in (new_barcode, sku_key) and owner.get(old_barcode) == me:
                del owner[old_barcode]  # given up: a later row may take it
        except (PosError, ValueError) as exc:
            errors.append(RowError(row.line, exc.message if isinstance(exc, PosError) else str(exc)))
            continue
        names.setdefault(me, f"{row.sku} “{row.name}” (line {row.line})")
    errors.sort(key=lambda e: e.line)
    return ordered, errors


def _claim(owner: dict[str, int], names: dict[int, str], key: str, me: int, what: str) -> None:
    other = owner.get(key)
    if other is not None and other != me:
        raise ValueError(f"The {what} is already used by {names[other]}")
    owner[key] = me


def _check_fields(row: ProductRow) -> None:
    """What add_product and edit_product would refuse in the row itself."""
    catalog.clean_text(row.name, "The name", max_len=128)
    catalog.check_price(row.price_minor)
    catalog.clean_code(row.sku, "SKU")
    if row.barcode:
        catalog.clean_code(row.barcode, "barcode")
    if row.category:
        catalog.clean_text(row.category, "The category", max_len=64)


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
