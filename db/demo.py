"""A believable demo store: 51 products in 6 categories, staff, customers and a month of sales.

Everything goes through the real operations (catalog, staff, customers, checkout, refunds), so
the stock ledger, reports, receipts and audit log are exactly what a real month would leave
behind; only the timestamps are moved back afterwards, spread over the last 30 days within opening
hours (an audit entry gets the time of the action it records).
Seeded from a fixed random seed: the same store every time. Skipped when products exist.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import carts, catalog, customers, staff
from db import stock as stock_db
from db.checkout import checkout, refund_sale
from db.models import AuditEntry, CartLine, Customer, PaymentMethod, Product, Role, Sale, Staff, StockMovement
from db.money import decimals

# (telegram id, name, role). The console signs in as the first one of the chosen role. The ids are
# ones no Telegram user can have (db.staff.RESERVED_TELEGRAM_IDS): demo data loaded into a real
# store must not make a real person its admin.
DEMO_STAFF = [
    (staff.FIRST_DEMO_TELEGRAM_ID, "Ada Admin", Role.ADMIN),
    (staff.FIRST_DEMO_TELEGRAM_ID + 1, "Mia Manager", Role.MANAGER),
    (staff.FIRST_DEMO_TELEGRAM_ID + 2, "Cal Cashier", Role.CASHIER),
    (staff.FIRST_DEMO_TELEGRAM_ID + 3, "Cleo Cashier", Role.CASHIER),
]

# category -> [(name, price in major units, own low-stock threshold or None)]
CATALOG: dict[str, list[tuple[str, str, int | None]]] = {
    "Bakery": [
        ("Sourdough loaf", "4.50", None),
        ("Baguette", "2.20", None),
        ("Croissant", "1.60", 6),
        ("Whole wheat bread", "3.40", None),
        ("Cinnamon roll", "2.10", None),
        ("Bagels, 4 pack", "3.80", None),
        ("Blueberry muffin", "2.00", None),
        ("Rye bread", "3.90", None),
    ],
    "Dairy": [
        ("Whole milk 1 L", "1.29", 8),
        ("Semi-skimmed milk 1 L", "1.19", 8),
        ("Greek yogurt 500 g", "2.79", None),
        ("Butter 250 g", "2.49", None),
        ("Cheddar 200 g", "3.29", None),
        ("Mozzarella 125 g", "1.59", None),
        ("Free-range eggs, 12", "3.99", 10),
        ("Cream 200 ml", "1.49", None),
        ("Oat drink 1 L", "1.99", None),
    ],
    "Drinks": [
        ("Still water 1.5 L", "0.89", 12),
        ("Sparkling water 1 L", "0.99", None),
        ("Orange juice 1 L", "2.69", None),
        ("Apple juice 1 L", "2.39", None),
        ("Cola 330 ml", "1.10", None),
        ("Ground coffee 250 g", "5.49", None),
        ("Black tea, 40 bags", "2.99", None),
        ("Green tea, 20 bags", "2.49", None),
        ("Iced tea 500 ml", "1.39", None),
    ],
    "Snacks": [
        ("Salted crisps 150 g", "1.79", None),
        ("Dark chocolate 100 g", "1.99", None),
        ("Milk chocolate 100 g", "1.79", None),
        ("Salted peanuts 200 g", "2.19", None),
        ("Granola bar", "0.99", None),
        ("Oat cookies 200 g", "2.29", None),
        ("Popcorn 100 g", "1.49", None),
        ("Trail mix 250 g", "3.49", None),
    ],
    "Produce": [
        ("Bananas, bunch", "1.49", None),
        ("Apples, 6 pack", "2.99", None),
        ("Tomatoes 500 g", "2.19", None),
        ("Avocado", "1.29", None),
        ("Lemons, 4", "1.79", None),
        ("Carrots 1 kg", "1.09", None),
        ("Potatoes 2 kg", "2.49", None),
        ("Baby spinach 200 g", "1.89", None),
        ("Onions 1 kg", "1.29", None),
    ],
    "Household": [
        ("Dish soap 500 ml", "1.99", None),
        ("Paper towels, 2 rolls", "2.89", None),
        ("Toilet paper, 9 rolls", "5.99", None),
        ("Bin bags, 20", "3.49", None),
        ("Laundry liquid 1 L", "6.99", None),
        ("Sponges, 3", "1.49", None),
        ("AA batteries, 4", "4.99", None),
        ("Matches", "0.79", None),
    ],
}
SKU_PREFIX = {"Bakery": "BAK", "Dairy": "DAI", "Drinks": "DRK", "Snacks": "SNK", "Produce": "PRD", "Household": "HOU"}

# (name, phone, e-mail)
CUSTOMERS = [
    ("Grace Okafor", "+1 202 555 0143", "grace@example.com"),
    ("Alan Brooks", "+44 20 7946 0958", None),
    ("Kofi Mensah", "+254 712 345678", "kofi@example.org"),
    ("Lena Fischer", "+49 30 901820", None),
    ("Priya Nair", "+1 201 555 0123", "priya@example.net"),
    ("Sam Carter", None, "sam@example.org"),
]

# Products left low (or out) at the end of the month: SKU -> units left.
LEFT_LOW = {"DAI-007": 2, "BAK-003": 1, "DRK-006": 0, "SNK-002": 3, "HOU-005": 1}
DAYS = 30
OPENING, CLOSING = time(8, 0), time(20, 0)


@dataclass(frozen=True)
class DemoSummary:
    products: int
    categories: int
    customers: int
    staff: int
    sales: int
    refunds: int


def ean13(code12: str) -> str:
    """Append the EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code12))
    return code12 + str((10 - total % 10) % 10)


def price_minor(major: str, currency: str) -> int:
    d = decimals(currency)
    # In a currency without minor units (JPY, KRW...) "4.50" would be a rounding error: scale it.
    amount = Decimal(major) * (100 if d == 0 else 10**d)
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


async def seed_demo(
    session: AsyncSession,
    *,
    currency: str,
    tz: ZoneInfo,
    default_threshold: int = 5,
    now: datetime | None = None,
    seed: int = 42,
) -> DemoSummary | None:
    """Fill an empty store with demo data in the caller's transaction; None when products exist."""
    if await session.scalar(select(func.count(Product.id))):
        return None
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = now - timedelta(days=DAYS + 1)

    opened = await _audit_mark(session)
    members: list[Staff] = []
    for telegram_id, name, role in DEMO_STAFF:
        members.append(await staff.add_staff(session, telegram_id=telegram_id, role=role, name=name))
    admin, manager = members[0], members[1]
    sellers = [members[2], members[3], members[2], members[3], manager]  # cashiers do most of it

    shoppers = []
    for name, phone, email in CUSTOMERS:
        shoppers.append(await customers.register_customer(session, name=name, phone=phone, email=email))

    products: list[Product] = []
    popularity: dict[int, float] = {}
    stock: dict[int, int] = {}
    for category, items in CATALOG.items():
        for n, (name, major, threshold) in enumerate(items, start=1):
            sku = f"{SKU_PREFIX[category]}-{n:03d}"
            weight = rng.uniform(0.3, 3.0)
            expected = weight * DAYS * 10 * 2.2 / 51  # units a month at ~10 sales a day, ~2 lines each
            initial = max(6, int(expected * rng.uniform(0.6, 1.4)))
            product = await catalog.add_product(
                session,
                name=name,
                price_minor=price_minor(major, currency),
                stock=initial,
                category=category,
                sku=sku,
                barcode=None if category == "Produce" else ean13(f"200{len(products) + 1:09d}"),
                low_stock_threshold=threshold,
                currency=currency,
                actor=admin,
            )
            products.append(product)
            popularity[product.id] = weight
            stock[product.id] = initial
    for model in (Product, Staff, Customer):
        await session.execute(update(model).values(created_at=start).execution_options(synchronize_session=False))
    await session.execute(update(StockMovement).values(created_at=start))
    await _backdate_audit(session, since=opened, when=start)

    sales: list[tuple[int, datetime]] = []
    low_ids = {p.id for p in products if p.sku in LEFT_LOW}
    today = now.astimezone(tz).date()
    for days_ago in range(DAYS, -1, -1):
        day = today - timedelta(days=days_ago)
        if days_ago and days_ago % 7 == 0:  # the weekly delivery, first thing in the morning
            delivery = datetime.combine(day, time(7, 30), tzinfo=tz).astimezone(UTC)
            unpacked = await _audit_mark(session)
            for product in products:
                if product.id not in low_ids and stock[product.id] < 15:
                    qty = rng.randint(12, 30)
                    await stock_db.restock(
                        session, product_id=product.id, qty=qty, note="weekly delivery", actor=manager
                    )
                    stock[product.id] += qty
                    await _backdate_last_movement(session, product.id, delivery)
            await _backdate_audit(session, since=unpacked, when=delivery)
        busy = 1.4 if day.weekday() >= 4 else 1.0  # Friday to Sunday
        for moment in _sale_times(rng, day, tz, int(rng.randint(5, 9) * busy), now):
            sale_id = await _ring_up(
                session, rng, products, popularity, stock, sellers, shoppers, currency, default_threshold
            )
            if sale_id is not None:
                sales.append((sale_id, moment))
                await session.execute(update(Sale).where(Sale.id == sale_id).values(created_at=moment))
                await session.execute(
                    update(StockMovement).where(StockMovement.sale_id == sale_id).values(created_at=moment)
                )

    refunds = 0
    for sale_id, moment in (sales[len(sales) // 3], sales[2 * len(sales) // 3]):
        refunding = await _audit_mark(session)
        await refund_sale(session, sale_id=sale_id, actor=manager, default_threshold=default_threshold)
        when = moment + timedelta(hours=1)
        await _backdate_audit(session, since=refunding, when=when)
        await session.execute(update(Sale).where(Sale.id == sale_id).values(refunded_at=when))
        await session.execute(
            update(StockMovement)
            .where(StockMovement.sale_id == sale_id, StockMovement.quantity > 0)
            .values(created_at=when)
        )
        refunds += 1

    counted = now - timedelta(hours=2) if now.astimezone(tz).time() > time(10) else now
    counting = await _audit_mark(session)
    for product in products:
        left = LEFT_LOW.get(product.sku)
        current = (await catalog.get_product(session, product_id=product.id)).stock
        if left is not None and current > left:
            await stock_db.adjust(
                session, product_id=product.id, delta=left - current, reason="shelf count", actor=manager
            )
            await _backdate_last_movement(session, product.id, counted)
    await _backdate_audit(session, since=counting, when=counted)

    return DemoSummary(
        products=len(products),
        categories=len(CATALOG),
        customers=len(shoppers),
        staff=len(members),
        sales=len(sales),
        refunds=refunds,
    )


def _sale_times(rng: random.Random, day, tz: ZoneInfo, count: int, now: datetime) -> list[datetime]:
    opening = datetime.combine(day, OPENING, tzinfo=tz)
    seconds = int((datetime.combine(day, CLOSING, tzinfo=tz) - opening).total_seconds())
    moments = sorted(opening + timedelta(seconds=rng.randrange(seconds)) for _ in range(count))
    return [m.astimezone(UTC) for m in moments if m.astimezone(UTC) < now]


async def _ring_up(
    session: AsyncSession,
    rng: random.Random,
    products: list[Product],
    popularity: dict[int, float],
    stock: dict[int, int],
    sellers: list[Staff],
    shoppers: list[Customer],
    currency: str,
    default_threshold: int,
) -> int | None:
    """One sale: lines on the cashier's cart, then the real checkout (stock, ledger, sale)."""
    cashier = rng.choice(sellers)
    cart = await carts.get_or_create_cart(session, chat_id=cashier.telegram_id)
    wanted = rng.choices(products, weights=[popularity[p.id] for p in products], k=rng.choice([1, 1, 2, 2, 3, 4]))
    total = 0
    for product in {p.id: p for p in wanted}.values():
        qty = min(rng.choice([1, 1, 1, 2, 2, 3]), stock[product.id])
        if qty:
            # Straight onto the cart: carts.add_item re-reads everything per tap, too slow for a month.
            session.add(CartLine(cart_id=cart.id, product_id=product.id, quantity=qty))
            stock[product.id] -= qty
            total += qty * product.price_minor
    if not total:
        return None
    await session.flush()
    method = rng.choices([PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.MOBILE], weights=[5, 4, 1])[0]
    tendered = None
    if method is PaymentMethod.CASH:
        note = 10 ** decimals(currency) * (1 if decimals(currency) else 100)
        tendered = total if rng.random() < 0.3 else -(-total // (5 * note)) * 5 * note
    result = await checkout(
        session,
        chat_id=cart.chat_id,
        expected_version=cart.version,
        cashier=cashier,
        payment_method=method,
        tendered_minor=tendered,
        currency=currency,
        default_low_stock_threshold=default_threshold,
        customer_id=rng.choice(shoppers).id if rng.random() < 0.25 else None,
    )
    return result.sale.id


async def _backdate_last_movement(session: AsyncSession, product_id: int, when: datetime) -> None:
    last = await session.scalar(select(func.max(StockMovement.id)).where(StockMovement.product_id == product_id))
    await session.execute(update(StockMovement).where(StockMovement.id == last).values(created_at=when))


async def _audit_mark(session: AsyncSession) -> int:
    """The newest audit entry's id (0 when none): the entries after it are the ones still to come."""
    return await session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))


async def _backdate_audit(session: AsyncSession, *, since: int, when: datetime) -> None:
    """Give the audit entries made after `since` the time of the action they record."""
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.id > since)
        .values(created_at=when)
        .execution_options(synchronize_session=False)
    )
