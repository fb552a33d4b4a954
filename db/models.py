"""The POS data model: typed SQLAlchemy 2 declarative classes.

Money is integer minor units; times are timezone-aware UTC (see UtcDateTime).
Relationships are ``lazy="raise"`` so async code never loads anything by accident.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zone type: values are stored as UTC and given their tzinfo back on read.
    Naive datetimes are refused so local times can never slip in unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Role(enum.StrEnum):
    CASHIER = "cashier"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def includes(self, other: Role) -> bool:
        """admin ⊇ manager ⊇ cashier."""
        return self.rank >= other.rank


_ROLE_RANK = {Role.CASHIER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    MOBILE = "mobile"
    POINTS = "points"  # loyalty points, 1 point = 1 minor unit (db/loyalty.py)


class SaleStatus(enum.StrEnum):
    COMPLETED = "completed"
    PARTLY_REFUNDED = "partly_refunded"  # shown as "partially refunded"
    REFUNDED = "refunded"

    @property
    def label(self) -> str:
        return "partially refunded" if self is SaleStatus.PARTLY_REFUNDED else self.value


class ApprovalKind(enum.StrEnum):
    DISCOUNT = "discount"
    REFUND = "refund"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    VOID = "void"  # the cart changed while it waited


class DrawerEntryKind(enum.StrEnum):
    """Why cash went into (+) or out of (−) a till's drawer."""

    FLOAT = "float"  # the opening float, counted in when the shift opens
    SALE = "sale"  # the cash a customer handed over for a sale
    CHANGE = "change"  # the change given back (negative)
    REFUND = "refund"  # cash paid back for a return (negative)
    PAY_IN = "pay_in"  # /cashin: money put in (change from the bank)
    PAY_OUT = "pay_out"  # /cashout: money taken out (a supplier paid from the drawer) (negative)


class MovementReason(enum.StrEnum):
    INITIAL = "initial"
    SALE = "sale"
    REFUND = "refund"
    RESTOCK = "restock"
    ADJUSTMENT = "adjustment"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def code_key(code: str | None) -> str | None:
    """A SKU or barcode as the database compares it: codes are unique ignoring case."""
    return code.lower() if code is not None else None


def _key_default(field: str):
    def default(context) -> str | None:
        return code_key(context.get_current_parameters().get(field))

    return default


class TaxRate(Base):
    """A named tax rate. ``rate_bp`` is in hundredths of a percent: 7.25% is 725."""

    __tablename__ = "tax_rates"
    __table_args__ = (CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    rate_bp: Mapped[int] = mapped_column(Integer)
    # The store default (at most one row; db.taxes keeps it so).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Counter(Base):
    """A named counter claimed inside a transaction (the receipt number): a rollback gives the
    number back, so numbers have no gaps, unlike a PostgreSQL sequence."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rates.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    products: Mapped[list[Product]] = relationship(back_populates="category", lazy="raise")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_products_archived_name", "archived", "name"),
        Index("ix_products_archived_name_key", "archived", "name_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The codes as compared (code_key): their unique indexes make SKU and barcode unique ignoring
    # case in the database itself, and serve every exact look-up. Kept in step by _sync_code_keys
    # (ORM writes) and the column defaults (bulk INSERTs that leave them out).
    sku_key: Mapped[str] = mapped_column(String(64), index=True, unique=True, default=_key_default("sku"))
    barcode_key: Mapped[str | None] = mapped_column(
        String(64), index=True, unique=True, default=_key_default("barcode")
    )
    name: Mapped[str] = mapped_column(String(128))
    # lower(name) as the database computes it: the order search lists products in. Set by triggers
    # on every write (db.search_index.install_sort_key), never by the ORM.
    name_key: Mapped[str] = mapped_column(Text, server_default="", server_onupdate=FetchedValue())
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    # None: the category's rate, else the store default.
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("tax_rates.id"))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # None means "use the store's LOW_STOCK_THRESHOLD".
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    # Set when a sale takes stock to or below the threshold, cleared when stock rises above it:
    # the low-stock alert fires once per crossing.
    low_stock_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship(back_populates="products", lazy="raise")

    @validates("sku", "barcode")
    def _sync_code_keys(self, field: str, value: str | None) -> str | None:
        setattr(self, f"{field}_key", code_key(value))
        return value


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("points_balance >= 0", name="points_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The sum of the customer's points entries, kept in step in the same transaction (a
    # conditional UPDATE spends it, so it never goes below zero); `python -m bot check` proves it.
    points_balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The customer's own Telegram account, once they linked it from a receipt link (asked, never assumed).
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Cart(Base):
    """One cart per chat. ``version`` changes on every edit; checkout keys on (cart, version)."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", lazy="raise", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_lines_cart_product"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="lines", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")


class Sale(Base):
    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        Index("ix_sales_created_at", "created_at"),
        Index("ix_sales_cashier_created", "cashier_id", "created_at"),
        # Reports find the refunds of a period by when they happened, whenever the sale was. Only
        # refunded sales are in it: a query for sales without a refund time must not pick it.
        Index(
            "ix_sales_refunded_at",
            "refunded_at",
            sqlite_where=text("refunded_at IS NOT NULL"),
            postgresql_where=text("refunded_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The receipt number people see and type: gapless, claimed from Counter "receipt" at checkout.
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # The first payment's method (kept for older readers); the payments table has every part.
    payment_method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)  # what the customer pays, tax included
    # Shelf prices x quantities (tax as on the shelf), all discounts, and the tax inside total.
    gross_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=True)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tendered_minor: Mapped[int | None] = mapped_column(BigInteger)
    change_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[SaleStatus] = mapped_column(_enum(SaleStatus, "sale_status"), default=SaleStatus.COMPLETED)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The till's shift open when the sale was rung up (None: outside any shift, or not at a till).
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)

    lines: Mapped[list[SaleLine]] = relationship(back_populates="sale", lazy="raise", order_by="SaleLine.id")
    payments: Mapped[list[Payment]] = relationship(lazy="raise", order_by="Payment.id")
    discounts: Mapped[list[Discount]] = relationship(lazy="raise", order_by="Discount.id")
    refunds: Mapped[list[Refund]] = relationship(lazy="raise", order_by="Refund.id")
    cashier: Mapped[Staff] = relationship(lazy="raise", foreign_keys=[cashier_id])
    customer: Mapped[Customer | None] = relationship(lazy="raise")


class SaleLine(Base):
    """A line of a sale; name, SKU and unit price are snapshots taken at the moment of sale."""

    __tablename__ = "sale_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # A sale's lines, and everything a report sums of them: reports read the lines of a
        # period's sales from this index alone, without visiting the table.
        Index("ix_sale_lines_sale_product", "sale_id", "product_id", "quantity", "line_total_minor"),
        # Conditional UPDATEs keep this true under races; the constraint is the last guard.
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str] = mapped_column(String(64))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)  # what was paid for the line, tax included
    line_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cart_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # its share of the cart's
    tax_name: Mapped[str] = mapped_column(String(32), default="")
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # inside line_total_minor
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)

    sale: Mapped[Sale] = relationship(back_populates="lines", lazy="raise")


class Payment(Base):
    """One part of a sale's payment; a sale's payments add up to its total exactly."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tendered_minor: Mapped[int | None] = mapped_column(BigInteger)  # cash only
    change_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Discount(Base):
    """A discount on a cart line (cart_line_id) or a whole cart, later recorded on the sale.

    ``percent_bp`` (hundredths of a percent) or ``amount_minor``; ``applied_minor`` is what it
    took off once the sale was priced.
    """

    __tablename__ = "discounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    cart_line_id: Mapped[int | None] = mapped_column(ForeignKey("cart_lines.id", ondelete="CASCADE"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    sale_line_id: Mapped[int | None] = mapped_column(ForeignKey("sale_lines.id"))
    percent_bp: Mapped[int | None] = mapped_column(Integer)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    applied_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(128))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Refund(Base):
    """Money paid back for some units of some lines of one sale."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        Index("ix_refunds_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(128), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The shift of the till it was paid back at (None: outside any shift).
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    # Of amount_minor, the part given back as loyalty points (the points spent on the returned
    # units); the rest goes out by ``method``.
    points_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    lines: Mapped[list[RefundLine]] = relationship(lazy="raise", order_by="RefundLine.id")


class PointsKind(enum.StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    REFUND = "refund"  # a return: points earned on it taken back, points spent on it given back
    ADJUST = "adjust"  # a manager's manual adjustment, with a reason


class PointsEntry(Base):
    """One change of a customer's loyalty points; the balance is the sum of these."""

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint("points <> 0", name="points_not_zero"),
        Index("ix_points_entries_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[PointsKind] = mapped_column(_enum(PointsKind, "points_kind"))
    points: Mapped[int] = mapped_column(BigInteger)  # signed
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReceiptLink(Base):
    """A sale's link for the customer (t.me/<bot>?start=r_<token>): only the token's SHA-256 is kept.

    The first person to open it holds it (``opened_by``): anyone else gets the same answer as for
    an unknown token.
    """

    __tablename__ = "receipt_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StaffInvite(Base):
    """A one-time link an admin makes (t.me/<bot>?start=i_<token>) that adds its opener as staff.

    Only the token's SHA-256 is kept. The first person to open it holds it (``opened_by``); it is
    used once (``used_by``), and expires.
    """

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[int | None] = mapped_column(BigInteger)
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RefundLine(Base):
    __tablename__ = "refund_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    sale_line_id: Mapped[int] = mapped_column(ForeignKey("sale_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    restock: Mapped[bool] = mapped_column(Boolean, default=True)


class ApprovalRequest(Base):
    """A cashier's action beyond their limit, waiting for a manager. The first answer wins."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ApprovalKind] = mapped_column(_enum(ApprovalKind, "approval_kind"))
    status: Mapped[ApprovalStatus] = mapped_column(
        _enum(ApprovalStatus, "approval_status"), default=ApprovalStatus.PENDING
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the cashier's chat
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the cashier's waiting screen
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    cart_version: Mapped[int | None] = mapped_column(Integer)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was asked
    summary: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    messages: Mapped[list[ApprovalMessage]] = relationship(lazy="raise", order_by="ApprovalMessage.id")


class ApprovalMessage(Base):
    """A manager's copy of a request (its buttons are edited to say who decided)."""

    __tablename__ = "approval_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class StockMovement(Base):
    """The stock ledger: a product's stock always equals the sum of its movements."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_stock_movements_product_created", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)  # signed
    reason: Mapped[MovementReason] = mapped_column(_enum(MovementReason, "movement_reason"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The request that made this movement (a Telegram update), so a replayed one moves nothing.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class Shift(Base):
    """A till's shift (a till is a chat): opened with a float, closed with the cash counted.

    ``expected_minor`` is the drawer's running balance, moved in the same transaction as every
    entry; it always equals the sum of the shift's drawer entries (``python -m bot check``).
    At most one open shift per till: the partial unique index decides a race.
    """

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("float_minor >= 0", name="float_not_negative"),
        CheckConstraint("counted_minor IS NULL OR counted_minor >= 0", name="counted_not_negative"),
        Index(
            "uq_shifts_open_chat",
            "chat_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_shifts_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)  # gapless, from Counter "shift"
    chat_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    float_minor: Mapped[int] = mapped_column(BigInteger)
    expected_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    counted_minor: Mapped[int | None] = mapped_column(BigInteger)
    difference_minor: Mapped[int | None] = mapped_column(BigInteger)  # counted − expected: + over, − short

    opened_by: Mapped[Staff | None] = relationship(lazy="raise", foreign_keys=[opened_by_id])
    closed_by: Mapped[Staff | None] = relationship(lazy="raise", foreign_keys=[closed_by_id])


class DrawerEntry(Base):
    """The cash drawer ledger: cash in (+) and out (−) of one shift's drawer, who, when and why."""

    __tablename__ = "drawer_entries"
    __table_args__ = (
        CheckConstraint(
            "(kind IN ('float', 'sale', 'pay_in') AND amount_minor >= 0)"
            " OR (kind IN ('change', 'refund', 'pay_out') AND amount_minor <= 0)",
            name="sign_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    kind: Mapped[DrawerEntryKind] = mapped_column(_enum(DrawerEntryKind, "drawer_entry_kind"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Subscription(Base):
    """A chat that receives the scheduled report pushes and low-stock alerts."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QuickPin(Base):
    """A product a manager pinned to the cashiers' /quick grid."""

    __tablename__ = "quick_pins"

    id: Mapped[int] = mapped_column(primary_key=True)  # pin order: the grid shows older pins first
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    pinned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """A privileged action: who, when, what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="")


class ApiKey(Base):
    """A REST API key. Only the SHA-256 of the key is stored; the key itself is shown once.

    Each key acts through a staff row of its own (``staff_id``, named after the key): the sales it
    rings up, the stock it moves and its audit entries name it. That row is always a cashier, so an
    admin key never counts as a shop admin; the key's ``role`` decides what it may do.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_enum(Role, "api_key_role"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The rate limit's fixed window: when the current minute began and how many requests it had.
    window_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_count: Mapped[int] = mapped_column(Integer, default=0)

    staff: Mapped[Staff] = relationship(lazy="raise", foreign_keys=[staff_id])
    created_by: Mapped[Staff | None] = relationship(lazy="raise", foreign_keys=[created_by_id])


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of one API key: the request it was first used for and its response.

    ``response_status`` None means the first request is still running; ``claim`` is the token of
    whoever runs it, so a request that outlived its lease cannot complete over its successor.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_records_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    claim: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class JobRunStatus(enum.StrEnum):
    CLAIMED = "claimed"  # a process took it and is sending (or died sending: never sent again)
    SENT = "sent"
    SKIPPED = "skipped"  # found too late to be useful (the bot was down): logged, not sent


class JobRun(Base):
    """One run of a scheduled push, claimed once per (job, scheduled time).

    The unique key is what makes a push go out once: whichever process inserts the row first
    sends it; a second process, a restart or a failover finds the row and sends nothing.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[JobRunStatus] = mapped_column(_enum(JobRunStatus, "job_run_status"), default=JobRunStatus.CLAIMED)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# The product search index lives outside the models (see db.search_index): create_all and drop_all
# build and remove it with the tables.
@event.listens_for(Base.metadata, "after_create")
def _install_search_index(_target, connection, **_kw) -> None:
    from db import search_index

    search_index.install(connection)
    search_index.install_sort_key(connection)


@event.listens_for(Base.metadata, "before_drop")
def _uninstall_search_index(_target, connection, **_kw) -> None:
    from db import search_index

    search_index.uninstall_sort_key(connection)
    search_index.uninstall(connection)


class DialogConversation(Base):
    """Which step of which dialog a chat (and user) is in: PTB's conversation state, as JSON.

    Written by the bot's persistence (bot/persistence.py) before the screen of the step goes out.
    `version` is the format of `state`; a release that cannot read a version discards the row.
    """

    __tablename__ = "dialog_conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # JSON list, e.g. [chat_id, user_id]
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DialogData(Base):
    """The drafts a chat's or a user's dialogs keep (PTB's chat_data / user_data), as JSON."""

    __tablename__ = "dialog_data"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "chat" or "user"
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class InboxUpdate(Base):
    """A Telegram update, stored before Telegram is told it arrived; done once its answer went out.

    The polling loop acknowledges an update by asking for the next ones: by then it is here, so a
    crash drops none. After a restart the bot handles every update not done before new ones.
    """

    __tablename__ = "update_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)  # the update as Telegram sent it (JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
