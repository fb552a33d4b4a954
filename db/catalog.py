"""The catalog: products, their codes, categories and search.

Stock levels and their ledger live in db/stock.py. Also home of the small input checks the other
operation modules share.
"""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    false,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import audit, money, search_index
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Category, MovementReason, Product, Staff, code_key
from db.text import quoted

if TYPE_CHECKING:
    from db.pagination import CursorPage

MAX_QTY = 9999  # most units of one product on one cart or sale line
MAX_STOCK = 1_000_000
MAX_PER_PAGE = 50
MAX_SEARCH_LEN = 128
CODE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
CODE_FORM = "1 to 64 letters, digits, dots, dashes or underscores"

T = TypeVar("T")
M = TypeVar("M")


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET  # "argument not given", where None means "clear this field"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int  # 1-based, clamped to 1..pages
    pages: int  # at least 1, also when there are no items
    # True when counting stopped at ``total``: more than that many match (see SEARCH_COUNT_CAP).
    more: bool = False

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# --- shared input checks -------------------------------------------------------------------------


def require_int(value: Any, what: str, *, lo: int, hi: int) -> int:
    """``value`` as an int within lo..hi, or InvalidInput naming ``what`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{what} must be a whole number {allowed_range(lo, hi)}.")
    return value


def allowed_range(lo: int, hi: int) -> str:
    """'between 1 and 1,000,000', for a message that refuses a number."""
    return f"between {lo:,} and {hi:,}"


def clean_text(value: Any, what: str, *, max_len: int, required: bool = True) -> str:
    """Trimmed text of at most ``max_len`` characters; empty only when not required."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text.")
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{what} is required.")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is too long: {max_len} characters at most.")
    return text


# Characters that end a line, and characters that show nothing (format controls such as zero-width
# spaces, fillers that render blank): a name made only of these looks empty in every list.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def _shows_nothing(char: str) -> bool:
    return char in _BLANK or unicodedata.category(char) in {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn"}


def clean_name(value: Any, what: str, *, max_len: int, required: bool = True) -> str:
    """Like clean_text, for a name: on one line, without control characters, and visible."""
    text = clean_text(value, what, max_len=max_len, required=required)
    if any(char in _LINE_BREAKS for char in text):
        raise InvalidInput(f"{what} must be on one line.")
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise InvalidInput(f"{what} must not contain control characters such as tabs.")
    if text and all(_shows_nothing(char) for char in text):
        raise InvalidInput(f"{what} has no visible characters.")
    return text


def optional_name(value: Any, what: str, *, max_len: int) -> str | None:
    """Like clean_name, but None or blank text gives None ("not given")."""
    if value is None:
        return None
    return clean_name(value, what, max_len=max_len, required=False) or None


def optional_text(value: Any, what: str, *, max_len: int) -> str | None:
    """Like clean_text, but None or blank text gives None ("not given")."""
    if value is None:
        return None
    return clean_text(value, what, max_len=max_len, required=False) or None


MAX_ROW_ID = 2**31 - 1  # ids are 32-bit INTEGER columns: PostgreSQL refuses a larger parameter


def is_row_id(value: Any) -> bool:
    """Whether ``value`` can be a row id; a forged or mistyped one is "not found", not a crash."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def lowered(column: Any) -> Any:
    return func.lower(column, type_=String)


def clean_code(value: Any, what: str) -> str:
    code = clean_text(value, f"The {what}", max_len=64)
    if not CODE_RE.fullmatch(code):
        raise InvalidInput(f"{quoted(code)} is not a valid {what}: use {CODE_FORM}.")
    return code


def check_price(value: Any) -> int:
    return require_int(value, "The price", lo=0, hi=money.MAX_PRICE_MINOR)


def _check_threshold(value: Any) -> int | None:
    if value is None:
        return None
    return require_int(value, "The low-stock threshold", lo=0, hi=MAX_STOCK)


def _check_paging(page: Any, per_page: Any) -> tuple[int, int]:
    return (
        require_int(page, "The page", lo=1, hi=1_000_000),
        require_int(per_page, "The page size", lo=1, hi=MAX_PER_PAGE),
    )


def label(product: Product) -> str:
    """How a product is named in messages and the audit log."""
    return f"{product.sku} “{product.name}”"


# --- lookups -------------------------------------------------------------------------------------


async def get_product(session: AsyncSession, *, product_id: int) -> Product:
    """A product (archived too) with its category loaded, read fresh from the database."""
    if not is_row_id(product_id):
        raise NotFound(f"No product #{product_id}.")
    product = await session.get(Product, product_id, options=[selectinload(Product.category)], populate_existing=True)
    if product is None:
        raise NotFound(f"No product #{product_id}.")
    return product


def _code_matches(key: str | None) -> Any:
    """Products whose SKU or barcode is ``key`` (a code_key): served by the two unique indexes."""
    return or_(Product.sku_key == key, Product.barcode_key == key)


async def get_by_sku(session: AsyncSession, *, sku: str) -> Product:
    """The product whose SKU, or else barcode, equals ``sku`` ignoring case (archived too)."""
    code = sku.strip() if isinstance(sku, str) else ""
    if not code:
        raise InvalidInput("Give a SKU or barcode.")
    key = code_key(code)
    query = (
        select(Product)
        .where(_code_matches(key))
        .order_by(case((Product.sku_key == key, 0), else_=1), Product.id)
        .limit(1)
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    product = await session.scalar(query)
    if product is None:
        raise NotFound(f"No product with SKU {quoted(code)}.")
    return product


async def find_product(session: AsyncSession, *, ref: str) -> Product:
    """The product a manager names: by SKU or barcode, else by id (``42`` or ``#42``), else by its
    exact name ignoring case (archived too). A name two products share is refused: give the SKU."""
    text = " ".join(ref.split()) if isinstance(ref, str) else ""
    if not text:
        raise InvalidInput("Give a SKU, barcode, id or the product's exact name.")
    if len(text) > 128:
        raise NotFound("No product has so long a name, SKU or barcode.")
    if CODE_RE.fullmatch(text):
        try:
            return await get_by_sku(session, sku=text)
        except NotFound:
            pass
    number = text.lstrip("#")
    if re.fullmatch(r"\d{1,10}", number) and is_row_id(int(number)):
        try:
            return await get_product(session, product_id=int(number))
        except NotFound:
            pass
    named = list(
        (
            await session.scalars(
                select(Product)
                .where(lowered(Product.name) == text.lower())
                .order_by(Product.archived, Product.id)
                .limit(3)
                .options(selectinload(Product.category))
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    if len(named) > 1:
        skus = ", ".join(p.sku for p in named[:2])
        raise Conflict(f"Several products are named “{text}” ({skus}…): give the SKU instead.")
    if not named:
        raise NotFound(f"No product with SKU, barcode, id or name “{text}”.")
    return named[0]


async def _ensure_code_free(session: AsyncSession, code: str, *, what: str, exclude_id: int | None) -> None:
    """A SKU or barcode must not match any other product's SKU or barcode (ignoring case).

    The unique indexes on the keys refuse a twin SKU (or barcode) that a concurrent transaction
    wrote after this check (see _flush_unique); a SKU equal to another product's barcode is only
    refused here.
    """
    query = select(Product).where(_code_matches(code_key(code)))
    if exclude_id is not None:
        query = query.where(Product.id != exclude_id)
    other = await session.scalar(query.limit(1))
    if other is not None:
        raise Conflict(f"The {what} {quoted(code)} is already used by {label(other)}.")


async def _flush_unique(session: AsyncSession) -> None:
    # The checks above run first; this catches a concurrent twin that won the race.
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("That SKU or barcode was just taken by another product.") from None


# --- categories ----------------------------------------------------------------------------------


async def get_or_add(session: AsyncSession, query: Select[Any], new: Callable[[], M]) -> tuple[M, bool]:
    """The row ``query`` finds, else ``new()`` inserted; (row, created).

    The insert runs in a savepoint: when a concurrent transaction inserted the same unique row
    first, that row is returned instead of an IntegrityError.
    """
    found = await session.scalar(query)
    if found is not None:
        return found, False
    try:
        async with session.begin_nested():
            row = new()
            session.add(row)
    except IntegrityError:
        found = await session.scalar(query)
        if found is None:
            raise
        return found, False
    return row, True


async def get_or_create_category(session: AsyncSession, *, name: str) -> Category:
    """The category named ``name`` ignoring case, created when there is none."""
    name = clean_name(name, "The category", max_len=64)
    query = select(Category).where(lowered(Category.name) == name.lower()).order_by(Category.id).limit(1)
    category, _ = await get_or_add(session, query, lambda: Category(name=name))
    return category


async def list_categories(session: AsyncSession) -> list[tuple[Category, int]]:
    """Every category with its number of active products, by name."""
    active_count = func.count(Product.id)
    query = (
        select(Category, active_count)
        .outerjoin(Product, (Product.category_id == Category.id) & Product.archived.is_(False))
        .group_by(Category.id)
        .order_by(lowered(Category.name), Category.id)
    )
    return [(category, count) for category, count in (await session.execute(query)).all()]


# --- products ------------------------------------------------------------------------------------


async def _auto_sku(session: AsyncSession, product_id: int) -> str:
    base = f"P{product_id:05d}"
    candidate, n = base, 1
    while True:
        taken = await session.scalar(
            select(Product.id).where(Product.id != product_id, _code_matches(code_key(candidate)))
        )
        if taken is None:
            return candidate
        n += 1
        candidate = f"{base}-{n}"


def _price_text(price_minor: int, currency: str | None) -> str:
    """A price for the audit log: money when the currency is known (every caller in the app passes
    it), else the bare minor units."""
    return money.format_money(price_minor, currency) if currency else str(price_minor)


async def add_product(
    session: AsyncSession,
    *,
    name: str,
    price_minor: int,
    stock: int = 0,
    category: str | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    low_stock_threshold: int | None = None,
    actor: Staff | None = None,
    currency: str | None = None,
) -> Product:
    """Add a product; initial stock becomes an INITIAL movement; SKU "P00042" when none is given.

    ``currency`` only makes the audit entry show the price as money ("$2.50").
    """
    name = clean_name(name, "The name", max_len=128)
    price_minor = check_price(price_minor)
    stock = require_int(stock, "The stock", lo=0, hi=MAX_STOCK)
    threshold = _check_threshold(low_stock_threshold)
    if sku is not None:
        sku = clean_code(sku, "SKU")
        await _ensure_code_free(session, sku, what="SKU", exclude_id=None)
    barcode = optional_text(barcode, "The barcode", max_len=64)
    if barcode is not None:
        barcode = clean_code(barcode, "barcode")
        if sku is None or barcode.lower() != sku.lower():
            await _ensure_code_free(session, barcode, what="barcode", exclude_id=None)
    category = optional_name(category, "The category", max_len=64)
    category_row = await get_or_create_category(session, name=category) if category else None

    product = Product(
        name=name,
        # A placeholder until the id is known: never visible outside this transaction.
        sku=sku or f"~new-{uuid.uuid4().hex}",
        barcode=barcode,
        category_id=category_row.id if category_row else None,
        price_minor=price_minor,
        stock=0,
        low_stock_threshold=threshold,
        low_stock_alerted=False,
        archived=False,
    )
    session.add(product)
    await _flush_unique(session)
    if sku is None:
        product.sku = await _auto_sku(session, product.id)
        await _flush_unique(session)
    if stock:
        from db.stock import move_stock  # db.stock builds on this module: imported here, not at the top

        staff_id = actor.id if actor else None
        await move_stock(session, product_id=product.id, delta=stock, reason=MovementReason.INITIAL, staff_id=staff_id)
    await audit.record(
        session,
        actor=actor,
        action="product_add",
        details=f"{label(product)}: price {_price_text(price_minor, currency)}, stock {stock}"
        + (f", category “{category_row.name}”" if category_row else ""),
    )
    return await get_product(session, product_id=product.id)


async def edit_product(
    session: AsyncSession,
    *,
    product_id: int,
    name: str | _Unset = UNSET,
    price_minor: int | _Unset = UNSET,
    category: str | _Unset | None = UNSET,
    sku: str | _Unset = UNSET,
    barcode: str | _Unset | None = UNSET,
    low_stock_threshold: int | _Unset | None = UNSET,
    actor: Staff | None = None,
    currency: str | None = None,
) -> Product:
    """Change only the given fields. ``category``/``barcode``/``low_stock_threshold`` None clears."""
    product = await get_product(session, product_id=product_id)
    before = label(product)
    changes: list[str] = []

    if name is not UNSET:
        new_name = clean_name(name, "The name", max_len=128)
        if new_name != product.name:
            changes.append(f"name “{product.name}” → “{new_name}”")
            product.name = new_name
    if price_minor is not UNSET:
        new_price = check_price(price_minor)
        if new_price != product.price_minor:
            changes.append(f"price {_price_text(product.price_minor, currency)} → {_price_text(new_price, currency)}")
            product.price_minor = new_price
    if category is not UNSET:
        category = optional_name(category, "The category", max_len=64)
        new_category = await get_or_create_category(session, name=category) if category else None
        old_name = product.category.name if product.category else "none"
        if (new_category.id if new_category else None) != product.category_id:
            changes.append(f"category “{old_name}” → “{new_category.name if new_category else 'none'}”")
            product.category_id = new_category.id if new_category else None
    if sku is not UNSET:
        new_sku = clean_code(sku, "SKU")
        if new_sku != product.sku:
            await _ensure_code_free(session, new_sku, what="SKU", exclude_id=product.id)
            changes.append(f"SKU {product.sku} → {new_sku}")
            product.sku = new_sku
    if barcode is not UNSET:
        new_barcode = optional_text(barcode, "The barcode", max_len=64)
        new_barcode = clean_code(new_barcode, "barcode") if new_barcode else None
        if new_barcode != product.barcode:
            if new_barcode is not None:
                await _ensure_code_free(session, new_barcode, what="barcode", exclude_id=product.id)
            changes.append(f"barcode {product.barcode or 'none'} → {new_barcode or 'none'}")
            product.barcode = new_barcode
    if low_stock_threshold is not UNSET:
        new_threshold = _check_threshold(low_stock_threshold)
        if new_threshold != product.low_stock_threshold:
            old = product.low_stock_threshold
            changes.append(
                f"low-stock threshold {'default' if old is None else old} → "
                f"{'default' if new_threshold is None else new_threshold}"
            )
            product.low_stock_threshold = new_threshold
            if new_threshold is not None and product.stock > new_threshold:
                product.low_stock_alerted = False

    if changes:
        await _flush_unique(session)
        await audit.record(session, actor=actor, action="product_edit", details=f"{before}: " + "; ".join(changes))
    return await get_product(session, product_id=product.id)


async def set_price(
    session: AsyncSession, *, product_id: int, price_minor: int, actor: Staff | None = None, currency: str | None = None
) -> Product:
    """Change a product's price; past sales keep the price they were sold at."""
    price_minor = check_price(price_minor)
    product = await get_product(session, product_id=product_id)
    old = product.price_minor
    if old != price_minor:
        product.price_minor = price_minor
        await session.flush()
        details = f"{label(product)}: {_price_text(old, currency)} → {_price_text(price_minor, currency)}"
        await audit.record(session, actor=actor, action="price", details=details)
    return product


async def _set_archived(session: AsyncSession, product_id: int, archived: bool, actor: Staff | None) -> Product:
    product = await get_product(session, product_id=product_id)
    if product.archived == archived:
        state = "archived" if archived else "not archived"
        raise Conflict(f"{label(product)} is already {state}.")
    product.archived = archived
    await session.flush()
    await audit.record(session, actor=actor, action="archive" if archived else "unarchive", details=label(product))
    return product


async def archive_product(session: AsyncSession, *, product_id: int, actor: Staff | None = None) -> Product:
    """Hide a product from sale; its past sales still resolve."""
    return await _set_archived(session, product_id, True, actor)


async def unarchive_product(session: AsyncSession, *, product_id: int, actor: Staff | None = None) -> Product:
    return await _set_archived(session, product_id, False, actor)


# --- finding products ----------------------------------------------------------------------------


async def paginate(
    session: AsyncSession,
    query: Select[Any],
    *,
    page: int,
    per_page: int,
    order_by: list[Any],
    count_cap: int | None = None,
) -> Page[Product]:
    """One page of ``query``; with ``count_cap``, counting stops after that many rows."""
    page, per_page = _check_paging(page, per_page)
    counted_rows = query if count_cap is None else query.limit(count_cap + 1)
    total = await session.scalar(select(func.count()).select_from(counted_rows.subquery())) or 0
    more = count_cap is not None and total > count_cap
    if more:
        total = count_cap
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = await session.scalars(
        query.order_by(*order_by)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    return Page(items=list(rows.all()), total=total, page=page, pages=pages, more=more)


MIN_BARCODE_PREFIX = 4
# A search counts its matches up to here ("more than 500"): an exact count of a common word in a
# big catalog would read every match, and nobody pages through 500 products.
SEARCH_COUNT_CAP = 500


def _matches_columns(text: str) -> ColumnElement[bool]:
    """The search condition over the columns themselves (a scan): the definition of a match."""
    return or_(
        Product.name.icontains(text, autoescape=True),
        Category.name.icontains(text, autoescape=True),
        Product.sku.icontains(text, autoescape=True),
        Product.barcode.istartswith(text, autoescape=True)
        if len(text) >= MIN_BARCODE_PREFIX
        else lowered(Product.barcode) == text.lower(),
    )


MIN_DIGITS_SEARCH = 4  # a search of digits only matches codes from their start, from this many digits


async def search_products(session: AsyncSession, *, text: str, page: int = 1, per_page: int = 8) -> Page[Product]:
    """Active products whose name, category or SKU contains ``text`` (ignoring case), or whose
    barcode starts with it.

    An exact SKU or barcode match comes first, then the rest by name. Empty text lists everything.
    Digits only are a code: SKUs and barcodes starting with them, at least MIN_DIGITS_SEARCH digits.
    A barcode is a long run of digits: matching "20" anywhere inside barcodes would drown the
    results, so barcodes match from their start, and only from MIN_BARCODE_PREFIX characters on.
    The trigram index (db.search_index) finds the matches when it can: for texts of at least
    three characters. Counting stops at SEARCH_COUNT_CAP (``Page.more``).

    "By name" is by ``Product.name_key`` (lower(name), stored) and id, which
    ix_products_archived_name_key serves. The exact matches (two at most) are fetched apart by the
    code indexes and put first; the rest come in name order: when more than SEARCH_COUNT_CAP
    products match, by walking that index and testing each product until the page is full (a
    common word fills page one after a few hundred rows, whatever the catalog's size); else from
    the matches the trigram index found, sorted (a few hundred at most).
    """
    text = clean_text(text, "The search text", max_len=MAX_SEARCH_LEN, required=False)
    page, per_page = _check_paging(page, per_page)
    query = select(Product).outerjoin(Category, Product.category_id == Category.id)
    active = Product.archived == false()
    if text.isdigit():
        # Digits are a code being typed: "0" must not list every SKU and barcode containing a zero.
        if len(text) < MIN_DIGITS_SEARCH:
            raise InvalidInput(
                f"Type at least {MIN_DIGITS_SEARCH} digits to search by code, or a word of the product's name."
            )
        match = and_(
            active,
            or_(Product.sku.istartswith(text, autoescape=True), Product.barcode.istartswith(text, autoescape=True)),
        )
        exact = or_(Product.sku == text, Product.barcode == text)
        return await _search_page(session, query, match, match, exact, page=page, per_page=per_page)
    if not text:
        return await _search_page(session, query, active, active, None, page=page, per_page=per_page)
    indexed_active = active
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # "+ 0" keeps SQLite's planner off the name indexes when it reads the trigram index's
        # matches: with them, it may walk the whole catalog testing each row against the ids the
        # index found, instead of fetching those rows by id.
        indexed_active = (type_coerce(Product.archived, Integer) + 0) == 0
    return await _search_page(
        session,
        query,
        and_(_matches(session, text), indexed_active),
        and_(_matches_columns(text), active),
        _code_matches(code_key(text)),
        page=page,
        per_page=per_page,
        stream_count=dialect == "postgresql" and _indexed(session, text),
    )


async def _search_page(
    session: AsyncSession,
    query: Select[Any],
    indexed: ColumnElement[bool],
    tested: ColumnElement[bool],
    exact: ColumnElement[bool] | None,
    *,
    page: int,
    per_page: int,
    stream_count: bool = False,
) -> Page[Product]:
    """One page of the products of ``query`` that match (``indexed``: the condition as an index
    serves it; ``tested``: the same condition tested on a product's own columns, both for active
    products only), those matching ``exact`` first, then by name (see search_products)."""
    counted = query.with_only_columns(Product.id).where(indexed).limit(SEARCH_COUNT_CAP + 1)
    count = select(func.count()).select_from(counted.subquery())
    if stream_count:
        total = await _count_streamed(session, count)
    else:
        total = await session.scalar(count) or 0
    more = total > SEARCH_COUNT_CAP
    total = min(total, SEARCH_COUNT_CAP)
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    by_name = [Product.name_key, Product.id]
    load = (selectinload(Product.category),)
    first: list[Product] = []
    if exact is not None and total:
        # Their ids by the code indexes alone (two at most), then those products tested on their
        # columns: given the whole condition and the ORDER BY, SQLite's planner walks the name index.
        ids = list(await session.scalars(select(Product.id).where(exact)))
        if ids:
            found = await session.scalars(
                query.where(Product.id.in_(ids), tested)
                .order_by(*by_name)
                .options(*load)
                .execution_options(populate_existing=True)
            )
            first = list(found.all())
    offset = (page - 1) * per_page
    items = first[offset : offset + per_page]
    wanted = per_page - len(items)
    if wanted and total > len(first):
        rest = query.where(Product.id.not_in([p.id for p in first])) if first else query
        if more:  # many matches: walk the name index, testing each product until the page is full
            rest, order_by = rest.where(tested), by_name
        else:  # few: sort what the index found (``|| ''``: no planner walks the name index for them)
            rest, order_by = rest.where(indexed), [Product.name_key + "", Product.id]
        found = await session.scalars(
            rest.order_by(*order_by)
            .offset(max(0, offset - len(first)))
            .limit(wanted)
            .options(*load)
            .execution_options(populate_existing=True)
        )
        items += found.all()
    return Page(items=items, total=total, page=page, pages=pages, more=more)


# PostgreSQL's planner, told to stop after SEARCH_COUNT_CAP + 1 rows, reckons that walking
# product_search in id order (a merge join, ILIKE on each row) or scanning it finds them soonest:
# for a common word that tests thousands of rows (12 ms at 100,000 products on a quiet machine,
# 70-140 ms on a loaded one). Reading the trigram index's matches and looking each up by id stops
# after about as many rows as it counts (2 ms). These settings, for the count alone, leave it that.
_STREAMED_COUNT_SETTINGS = ("enable_mergejoin", "enable_hashjoin", "enable_seqscan")


async def _count_streamed(session: AsyncSession, count: Select[Any]) -> int:
    """``count`` on PostgreSQL with the planner kept on the trigram index (see above); the
    settings are the transaction's (set_config's is_local) and put back right after."""
    names = _STREAMED_COUNT_SETTINGS
    read = ", ".join(f"current_setting('{name}')" for name in names)
    off = ", ".join(f"set_config('{name}', 'off', true)" for name in names)
    before = (await session.execute(sql_text(f"SELECT {read}, {off}"))).one()[: len(names)]
    total = await session.scalar(count) or 0
    back = ", ".join(f"set_config('{name}', :v{i}, true)" for i, name in enumerate(names))
    await session.execute(sql_text(f"SELECT {back}"), {f"v{i}": value for i, value in enumerate(before)})
    return total


def _indexed(session: AsyncSession, text: str) -> bool:
    """Whether the trigram index answers a search for ``text`` (see _matches)."""
    dialect = session.get_bind().dialect.name
    return search_index.matching_ids(text, dialect, min_barcode_prefix=MIN_BARCODE_PREFIX) is not None


def _matches(session: AsyncSession, text: str) -> ColumnElement[bool]:
    """Products matching ``text`` as search_products defines it: read from the trigram index
    (db.search_index) when it can answer, else tested on the columns (the query must join Category)."""
    indexed = search_index.matching_ids(text, session.get_bind().dialect.name, min_barcode_prefix=MIN_BARCODE_PREFIX)
    return _matches_columns(text) if indexed is None else Product.id.in_(indexed)


async def list_products(
    session: AsyncSession,
    *,
    text: str | None = None,
    category: str | None = None,
    archived: bool | None = False,
    cursor: str | None = None,
    limit: int = 50,
) -> CursorPage[Product]:
    """Products by id, a page at a time: matching ``text`` like search_products, in the category
    named ``category`` (ignoring case), archived or not (None: both)."""
    from db.pagination import keyset_page  # db.pagination builds on this module

    query = (
        select(Product)
        .outerjoin(Category, Product.category_id == Category.id)
        .options(selectinload(Product.category))
        .execution_options(populate_existing=True)
    )
    text = optional_text(text, "The search text", max_len=MAX_SEARCH_LEN)
    if text:
        query = query.where(_matches(session, text))
    category = optional_text(category, "The category", max_len=64)
    if category:
        query = query.where(lowered(Category.name) == category.lower())
    if archived is not None:
        query = query.where(Product.archived.is_(archived))
    return await keyset_page(session, query, id_column=Product.id, cursor=cursor, limit=limit, newest_first=False)


async def products_in_category(
    session: AsyncSession, *, category_id: int, page: int = 1, per_page: int = 8
) -> Page[Product]:
    """Active products of a category: in stock first, then by name."""
    category = await session.get(Category, category_id) if is_row_id(category_id) else None
    if category is None:
        raise NotFound(f"No category #{category_id}.")
    query = select(Product).where(Product.category_id == category.id, Product.archived.is_(False))
    in_stock_first = case((Product.stock > 0, 0), else_=1)
    return await paginate(
        session, query, page=page, per_page=per_page, order_by=[in_stock_first, lowered(Product.name), Product.id]
    )
