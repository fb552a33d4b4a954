"""The app factory: the REST API over one session factory, with the store's settings."""

from __future__ import annotations

from fastapi import FastAPI

from api import problems
from api.routes import customers, products, reports, sales, shifts, stock_movements
from api.services import ApiServices
from db.engine import SessionFactory, make_read_session_factory
from db.settings import Settings

DESCRIPTION = """\
The same shop as the Telegram bot, for web, desktop and other systems: one database, one set of
rules (a sale here takes the stock the counter sells).

* **Auth**: `Authorization: Bearer <api key>`. An admin makes keys with `/apikey new <role> <name>`
  in the chat or `python -m bot apikey new <role> <name>`. No key or a bad one: 401; a role too
  small: 403 (a cashier key sells and looks up; a manager key also changes the catalog and stock,
  refunds and reads reports).
* **Money** is integer minor units with the currency: `{"amount": 150, "currency": "USD"}`.
  **Times** are RFC 3339 in the store's time zone; `from`/`to` are store days, both inclusive.
* **Lists** are `{"items": [...], "next_cursor": "…" | null}`: pass `next_cursor` back as `cursor`.
* **Creates** take an `Idempotency-Key` header: a retry with the same key and body answers the
  first response without doing anything again.
* **Errors** are `application/problem+json` (RFC 9457) with a readable `detail`; validation
  errors list each field in `errors`, a stock shortage each product in `shortages`.
* **Rate limit**: `API_RATE_LIMIT` requests a minute per key; above it 429 with `Retry-After`.
* **Sales** take line and sale discounts (a percentage or an amount, always with a reason; a
  cashier key up to CASHIER_MAX_DISCOUNT_PERCENT of the gross, else 403) and one or more payments
  (cash, card, mobile) adding up to the total exactly; only cash gets change.
* **Not yet**: setting a product's tax rate here (use `/tax` in the chat; sales are taxed by it)
  and shifts; until then such requests are refused with a 422 that names the field.
"""


def create_api(settings: Settings, session_factory: SessionFactory) -> FastAPI:
    """The FastAPI app. The caller owns the engine behind ``session_factory`` (and disposes it)."""
    app = FastAPI(title=f"{settings.store_name} — POS API", version="1", description=DESCRIPTION)
    engine = session_factory.kw["bind"]
    app.state.pos = ApiServices(
        settings=settings, session_factory=session_factory, read_factory=make_read_session_factory(engine)
    )
    problems.install(app)
    for module in (products, stock_movements, customers, sales, reports, shifts):
        app.include_router(module.router)
    return app
