"""Carts: one per chat, kept in the database.

Every change bumps ``cart.version``; checkout keys the sale on (cart, version), so a screen drawn
for an older version can never ring up a different cart. A change first locks the cart row
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers) so it
cannot interleave with a checkout of the same cart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import MAX_QTY, get_or_add, is_row_id, require_int
from db.errors import InvalidInput, NotFound
from db.models import Cart, CartLine, Category, Customer, Discount, Product
from db.quote import cart_row_columns, cart_rows, quote_cart

_MAX_CHAT_ID = 2**63 - 1


@dataclass(frozen=True)
class CartLineView:
    product_id: int
    name: str
    sku: str
    unit_price_minor: int
    quantity: int
    line_total_minor: int
    stock: int
    archived: bool
    discount_minor: int = 0  # this line's own discount
    discount_reason: str = ""

    @property
    def sellable(self) -> bool:
        """False when checkout would refuse this line as it stands."""
        return not self.archived and self.quantity <= self.stock


@dataclass(frozen=True)
class CartView:
    cart_id: int
    chat_id: int
    version: int
    customer_id: int | None
    lines: list[CartLineView]
    total_minor: int  # what the customer pays: after discounts, tax included
    item_count: int
    gross_minor: int = 0  # shelf prices x quantities
    discount_minor: int = 0  # line and cart discounts together
    cart_discount_minor: int = 0
    cart_discount_reason: str = ""
    tax_minor: int = 0
    prices_include_tax: bool = True

    @property
    def is_empty(self) -> bool:
        return not self.lines


def check_chat_id(chat_id: Any) -> int:
    return require_int(chat_id, "The chat id", lo=-_MAX_CHAT_ID, hi=_MAX_CHAT_ID)


async def get_or_create_cart(session: AsyncSession, *, chat_id: int) -> Cart:
    """The chat's cart, read fresh; created (version 1) on first use."""
    chat_id = check_chat_id(chat_id)
    query = select(Cart).where(Cart.chat_id == chat_id).execution_options(populate_existing=True)
    cart, _ = await get_or_add(session, query, lambda: Cart(chat_id=chat_id, version=1))
    return cart


async def locked_cart(session: AsyncSession, chat_id: int) -> Cart:
    """The chat's cart, read fresh and locked for this transaction (created on first use)."""
    chat_id = check_chat_id(chat_id)
    lock = select(Cart).where(Cart.chat_id == chat_id).with_for_update().execution_options(populate_existing=True)
    locked = await session.scalar(lock)
    if locked is None:
        await get_or_create_cart(session, chat_id=chat_id)
        locked = await session.scalar(lock)
    assert locked is not None
    return locked


async def bump(session: AsyncSession, cart: Cart) -> None:
    # Safe as plain ORM arithmetic: the row is locked by _locked_cart.
    cart.version += 1
    await session.flush()


async def get_cart_view(
    session: AsyncSession, *, chat_id: int, prices_include_tax: bool = True, cart: Cart | None = None
) -> CartView:
    """The cart with each line's current product name, price, stock, discount and the total the
    customer would pay now (priced by db.quote, as checkout prices it). ``cart``: the chat's cart
    row when the caller holds it fresh (read or locked in this transaction)."""
    if cart is None:
        cart, rows = await _cart_with_rows(session, chat_id)
    else:
        rows = await cart_rows(session, cart_id=cart.id)
    quote = await quote_cart(session, cart_id=cart.id, prices_include_tax=prices_include_tax, rows=rows)
    priced = {line.product_id: line.priced for line in quote.lines}
    lines = [
        CartLineView(
            product_id=row.product_id,
            name=row.name,
            sku=row.sku,
            unit_price_minor=row.price_minor,
            quantity=row.quantity,
            line_total_minor=row.price_minor * row.quantity,
            stock=row.stock,
            archived=row.archived,
            discount_minor=priced[row.product_id].line_discount_minor,
            discount_reason=getattr(quote.line_discounts.get(row.product_id), "reason", ""),
        )
        for row in rows
    ]
    return CartView(
        cart_id=cart.id,
        chat_id=cart.chat_id,
        version=cart.version,
        customer_id=cart.customer_id,
        lines=lines,
        total_minor=quote.total_minor,
        item_count=sum(line.quantity for line in lines),
        gross_minor=quote.cart.gross_minor,
        discount_minor=quote.cart.discount_minor,
        cart_discount_minor=quote.cart.cart_discount_minor,
        cart_discount_reason=quote.cart_discount.reason if quote.cart_discount else "",
        tax_minor=quote.cart.tax_minor,
        prices_include_tax=prices_include_tax,
    )


async def _cart_with_rows(session: AsyncSession, chat_id: int) -> tuple[Cart, list[Row[Any]]]:
    """The chat's cart (created on first use) and its cart_rows, read in one statement."""
    chat_id = check_chat_id(chat_id)
    found = (
        await session.execute(
            select(Cart, *cart_row_columns())
            .outerjoin(CartLine, CartLine.cart_id == Cart.id)
            .outerjoin(Product, Product.id == CartLine.product_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(Cart.chat_id == chat_id)
            .order_by(CartLine.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    if not found:
        return await get_or_create_cart(session, chat_id=chat_id), []
    return found[0].Cart, [row for row in found if row.id is not None]


async def quantity_in_cart(session: AsyncSession, *, chat_id: int, product_id: int) -> int:
    """How many of a product the chat's cart holds: 0 when none (or no cart yet). Only reads."""
    chat_id = check_chat_id(chat_id)
    if not is_row_id(product_id):
        return 0
    quantity = await session.scalar(
        select(CartLine.quantity)
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.chat_id == chat_id, CartLine.product_id == product_id)
    )
    return quantity or 0


async def _line_to_put(session: AsyncSession, cart: Cart, product_id: int) -> Row[Any]:
    """(the cart's line of the product or None, the product's name, stock, archived), read in one
    statement; NotFound when there is no such product."""
    if not is_row_id(product_id):
        raise NotFound(f"No product #{product_id}.")
    found = (
        await session.execute(
            select(CartLine, Product.name, Product.stock, Product.archived)
            .select_from(Product)
            .outerjoin(CartLine, and_(CartLine.product_id == Product.id, CartLine.cart_id == cart.id))
            .where(Product.id == product_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"No product #{product_id}.")
    return found


def _check_quantity(name: str, stock: int, archived: bool, quantity: int) -> None:
    if archived:
        raise InvalidInput(f"“{name}” is archived and no longer for sale.")
    if quantity > MAX_QTY:
        raise InvalidInput(f"At most {MAX_QTY} of one product per sale.")
    if stock <= 0:
        raise InvalidInput(f"“{name}” is out of stock.")
    if quantity > stock:
        raise InvalidInput(f"Only {stock} of “{name}” in stock.")


async def _line(session: AsyncSession, cart: Cart, product_id: int) -> CartLine | None:
    return await session.scalar(select(CartLine).where(CartLine.cart_id == cart.id, CartLine.product_id == product_id))


async def _put_line(session: AsyncSession, cart: Cart, product_id: int, *, add: int = 0, qty: int = 0) -> CartView:
    """Set the product's line to ``qty``, or to what it holds plus ``add``; the cart after."""
    line, name, stock, archived = await _line_to_put(session, cart, product_id)
    if add:
        qty = (line.quantity if line is not None else 0) + add
    elif line is not None and line.quantity == qty:
        return await get_cart_view(session, chat_id=cart.chat_id, cart=cart)
    _check_quantity(name, stock, archived, qty)
    if line is None:
        session.add(CartLine(cart_id=cart.id, product_id=product_id, quantity=qty))
    else:
        line.quantity = qty
    await bump(session, cart)
    return await get_cart_view(session, chat_id=cart.chat_id, cart=cart)


async def add_item(session: AsyncSession, *, chat_id: int, product_id: int, qty: int = 1) -> CartView:
    """Add ``qty`` of a product, on top of what the cart already holds of it."""
    qty = require_int(qty, "The quantity", lo=1, hi=MAX_QTY)
    return await _put_line(session, await locked_cart(session, chat_id), product_id, add=qty)


async def set_quantity(session: AsyncSession, *, chat_id: int, product_id: int, qty: int) -> CartView:
    """Set a line's quantity; 0 removes the line."""
    qty = require_int(qty, "The quantity", lo=0, hi=MAX_QTY)
    if qty == 0:
        return await remove_line(session, chat_id=chat_id, product_id=product_id)
    return await _put_line(session, await locked_cart(session, chat_id), product_id, qty=qty)


async def remove_line(session: AsyncSession, *, chat_id: int, product_id: int) -> CartView:
    """Remove a product from the cart; a line already gone is not an error (double tap)."""
    cart = await locked_cart(session, chat_id)
    line = await _line(session, cart, product_id)
    if line is not None:
        await session.delete(line)
        await bump(session, cart)
    return await get_cart_view(session, chat_id=chat_id, cart=cart)


async def remove_archived(session: AsyncSession, *, chat_id: int) -> CartView:
    """Remove the lines of products no longer on sale (archived since they were added)."""
    cart = await locked_cart(session, chat_id)
    archived = select(Product.id).where(Product.archived.is_(True))
    removed = await session.execute(
        delete(CartLine).where(CartLine.cart_id == cart.id, CartLine.product_id.in_(archived))
    )
    if removed.rowcount:
        await bump(session, cart)
    return await get_cart_view(session, chat_id=chat_id, cart=cart)


async def clear_cart(session: AsyncSession, *, chat_id: int) -> CartView:
    """Remove every line and the customer."""
    cart = await locked_cart(session, chat_id)
    removed = await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    dropped = await session.execute(delete(Discount).where(Discount.cart_id == cart.id))
    if removed.rowcount or dropped.rowcount or cart.customer_id is not None:
        cart.customer_id = None
        await bump(session, cart)
    return await get_cart_view(session, chat_id=chat_id, cart=cart)


async def set_customer(session: AsyncSession, *, chat_id: int, customer_id: int | None) -> CartView:
    """Attach a customer to the cart (None detaches)."""
    if customer_id is not None:
        customer_id = require_int(customer_id, "The customer id", lo=1, hi=_MAX_CHAT_ID)
        if await session.get(Customer, customer_id) is None:
            raise NotFound(f"No customer #{customer_id}.")
    cart = await locked_cart(session, chat_id)
    if cart.customer_id != customer_id:
        cart.customer_id = customer_id
        await bump(session, cart)
    return await get_cart_view(session, chat_id=chat_id, cart=cart)
