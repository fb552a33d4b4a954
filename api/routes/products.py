"""/v1/products: the catalog, and /v1/products/{id}/stock: restock or adjust."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CashierKey, Change, Create, ManagerKey, ReadSession, SettingsDep
from api.schemas.common import Code, Id, ListOf, Text, problem_responses
from api.schemas.products import ProductCreate, ProductOut, ProductPatch, StockChange
from db import catalog, taxes
from db import stock as stock_db
from db.catalog import UNSET
from db.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/products", tags=["products"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}")]
Cursor = Annotated[Code | None, Query(description="`next_cursor` of the previous page")]


async def _out(session, products: list, settings) -> list[ProductOut]:
    """The products as the API shows them, each with the tax rate it is taxed at now."""
    rates = await taxes.rates_for(session, [p.id for p in products])
    return [ProductOut.of(p, settings.currency, settings.tz, rates.get(p.id)) for p in products]


async def _one(session, product, settings) -> ProductOut:
    (out,) = await _out(session, [product], settings)
    return out


@router.get("", response_model=ListOf[ProductOut], responses=problem_responses(403))
async def list_products(
    session: ReadSession,
    settings: SettingsDep,
    _caller: CashierKey,
    q: Annotated[Text | None, Query(description="Name, category or SKU contains it; a barcode starts with it")] = None,
    category: Annotated[Text | None, Query(description="Category name, ignoring case")] = None,
    archived: Annotated[bool, Query(description="false: products on sale; true: archived ones")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ListOf[ProductOut]:
    """Products by id, a page at a time."""
    page = await catalog.list_products(
        session, text=q, category=category, archived=archived, cursor=cursor, limit=limit
    )
    items = await _out(session, list(page.items), settings)
    return ListOf[ProductOut](items=items, next_cursor=page.next_cursor)


@router.get("/sku/{sku}", response_model=ProductOut, responses=problem_responses(403, 404))
async def get_product_by_sku(sku: Code, session: ReadSession, settings: SettingsDep, _caller: CashierKey) -> ProductOut:
    """One product by SKU or barcode, ignoring case (archived too)."""
    product = await catalog.get_by_sku(session, sku=sku)
    return await _one(session, product, settings)


@router.get("/{product_id}", response_model=ProductOut, responses=problem_responses(403, 404))
async def get_product(product_id: Id, session: ReadSession, settings: SettingsDep, _caller: CashierKey) -> ProductOut:
    """One product by id (archived too)."""
    product = await catalog.get_product(session, product_id=product_id)
    return await _one(session, product, settings)


@router.post("", status_code=201, response_model=ProductOut, responses=problem_responses(403, 409))
async def create_product(body: ProductCreate, caller: ManagerKey, writer: Create, settings: SettingsDep) -> Response:
    """Add a product. `stock` is its initial stock, recorded as an `initial` stock movement."""

    async def work(session):
        product = await catalog.add_product(
            session,
            name=body.name,
            price_minor=body.price.minor(settings.currency, "price"),
            stock=body.stock,
            category=body.category,
            sku=body.sku,
            barcode=body.barcode,
            low_stock_threshold=body.low_stock_threshold,
            actor=caller.staff,
            currency=settings.currency,
        )
        if body.tax_rate is not None:
            await taxes.set_product_rate(session, product=product, name=body.tax_rate, actor=caller.staff)
        return await _one(session, product, settings)

    return await writer.run(work, status=201)


@router.patch("/{product_id}", response_model=ProductOut, responses=problem_responses(403, 404, 409))
async def patch_product(
    product_id: Id, body: ProductPatch, caller: ManagerKey, writer: Change, settings: SettingsDep
) -> Response:
    """Change the fields sent (name, price, category, SKU, barcode, low-stock threshold, tax rate)."""
    given = body.model_fields_set

    def field(name: str):
        return getattr(body, name) if name in given else UNSET

    price = UNSET
    if "price" in given:
        price = body.price.minor(settings.currency, "price") if body.price is not None else None

    async def work(session):
        product = await catalog.edit_product(
            session,
            product_id=product_id,
            name=field("name"),
            price_minor=price,
            category=field("category"),
            sku=field("sku"),
            barcode=field("barcode"),
            low_stock_threshold=field("low_stock_threshold"),
            actor=caller.staff,
            currency=settings.currency,
        )
        if "tax_rate" in given:
            await taxes.set_product_rate(session, product=product, name=body.tax_rate, actor=caller.staff)
        return await _one(session, product, settings)

    return await writer.run(work)


async def _set_archived(product_id: int, archived: bool, caller, writer, settings) -> Response:
    async def work(session):
        change = catalog.archive_product if archived else catalog.unarchive_product
        await change(session, product_id=product_id, actor=caller.staff)
        product = await catalog.get_product(session, product_id=product_id)
        return await _one(session, product, settings)

    return await writer.run(work)


@router.post("/{product_id}/archive", response_model=ProductOut, responses=problem_responses(403, 404, 409))
async def archive_product(product_id: Id, caller: ManagerKey, writer: Change, settings: SettingsDep) -> Response:
    """Take a product off sale (409 if it already is); its past sales still show it."""
    return await _set_archived(product_id, True, caller, writer, settings)


@router.post("/{product_id}/unarchive", response_model=ProductOut, responses=problem_responses(403, 404, 409))
async def unarchive_product(product_id: Id, caller: ManagerKey, writer: Change, settings: SettingsDep) -> Response:
    """Put an archived product back on sale (409 if it is not archived)."""
    return await _set_archived(product_id, False, caller, writer, settings)


@router.post("/{product_id}/stock", response_model=ProductOut, responses=problem_responses(403, 404))
async def change_stock(
    product_id: Id, body: StockChange, caller: ManagerKey, writer: Create, settings: SettingsDep
) -> Response:
    """Restock or adjust: one stock movement, as /restock and /adjust in the chat; the product after it."""

    async def work(session):
        if body.type == "restock":
            product = await stock_db.restock(
                session,
                product_id=product_id,
                qty=body.quantity,
                note=body.reason,
                actor=caller.staff,
                default_threshold=settings.low_stock_threshold,
            )
        else:
            product = await stock_db.adjust(
                session,
                product_id=product_id,
                delta=body.quantity,
                reason=body.reason,
                actor=caller.staff,
                default_threshold=settings.low_stock_threshold,
            )
        return await _one(session, product, settings)

    return await writer.run(work)
