"""Customers: registration with normalised phone and e-mail, search, purchase history."""

from __future__ import annotations

import pytest

from db import checkout, customers
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Role, SaleStatus
from tests.factories import make_customer, make_product, make_staff, run, sell


async def test_register_normalises_phone_and_email(session_factory):
    alice = await run(
        session_factory,
        customers.register_customer,
        name="  Alice Smith ",
        phone="+44 20 7946 0958",
        email="Alice.Smith@Example.COM",
    )
    assert (alice.name, alice.phone, alice.email) == ("Alice Smith", "+442079460958", "Alice.Smith@example.com")
    bob = await run(
        session_factory, customers.register_customer, name="Bob", phone="(201) 555-0123", default_region="US"
    )
    assert bob.phone == "+12015550123"
    carol = await run(session_factory, customers.register_customer, name="Carol", phone="  ", email="")
    assert (carol.phone, carol.email) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 129}, "too long"),
        ({"phone": "12345"}, "country code"),  # no region and no +
        ({"phone": "+1 555"}, "not a valid phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": 2079460958}, "phone number must be text"),
        ({"email": "not-an-address"}, "e-mail"),
        ({"email": "a@b"}, "e-mail"),
    ],
)
async def test_register_refuses_bad_input(session_factory, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        await run(session_factory, customers.register_customer, **({"name": "Dan"} | kwargs))


async def test_duplicate_phone_names_the_existing_customer(session_factory):
    alice = await run(session_factory, make_customer, name="Alice", phone="+44 20 7946 0958")
    with pytest.raises(Conflict, match=f"Alice \\(customer #{alice.id}\\)"):
        await run(session_factory, customers.register_customer, name="Eve", phone="020 7946 0958", default_region="GB")


async def test_get_customer(session_factory):
    alice = await run(session_factory, make_customer, name="Alice")
    assert (await run(session_factory, customers.get_customer, customer_id=alice.id)).name == "Alice"
    with pytest.raises(NotFound):
        await run(session_factory, customers.get_customer, customer_id=alice.id + 1)


async def test_find_by_name_or_phone(session_factory):
    alice = await run(session_factory, make_customer, name="Alice Smith", phone="+44 20 7946 0958")
    bob = await run(session_factory, make_customer, name="Bob Smithers", phone="+1 650-253-0000")
    carol = await run(session_factory, make_customer, name="Carol 100% Real")

    async def found(text: str, **kwargs) -> list[int]:
        return [c.id for c in await run(session_factory, customers.find_customers, text=text, **kwargs)]

    assert await found("smith") == [alice.id, bob.id]
    assert await found("SMITHERS") == [bob.id]
    assert await found("7946 0958") == [alice.id]
    assert await found("+1 (650) 253-0000") == [bob.id]
    assert await found("020 7946 0958", default_region="GB") == [alice.id]
    assert await found("smith", limit=1) == [alice.id]
    assert await found("nobody") == []
    assert await found("100%") == [carol.id]
    assert await found("%") == [carol.id]  # a literal %, not a wildcard
    with pytest.raises(InvalidInput):
        await found("  ")


async def test_customer_history_counts_completed_sales_in_sql(session_factory):
    cashier = await run(session_factory, make_staff, role=Role.MANAGER)
    alice = await run(session_factory, make_customer, name="Alice")
    bob = await run(session_factory, make_customer, name="Bob")
    tea = await run(session_factory, make_product, price_minor=250, stock=100)
    sale_ids = []
    for qty, who in ((1, alice), (2, alice), (4, bob), (3, alice)):
        result = await sell(session_factory, cashier=cashier, items=[(tea, qty)])
        async with session_factory.begin() as session:
            sale = await checkout.get_sale(session, sale_id=result.sale.id)
            sale.customer_id = who.id
        sale_ids.append(sale.id)
    await run(session_factory, checkout.refund_sale, sale_id=sale_ids[1], actor=cashier)

    history = await run(session_factory, customers.customer_history, customer_id=alice.id)
    assert [s.id for s in history.sales] == [sale_ids[3], sale_ids[1], sale_ids[0]]
    assert history.sales[1].status is SaleStatus.REFUNDED
    assert (history.sale_count, history.total_minor) == (2, 250 * 1 + 250 * 3)
    sales, count, total = await run(session_factory, customers.customer_history, customer_id=alice.id, limit=1)
    assert ([s.id for s in sales], count, total) == ([sale_ids[3]], 2, 1000)
    nobody = await run(session_factory, make_customer, name="Nobody")
    assert await run(session_factory, customers.customer_history, customer_id=nobody.id) == ([], 0, 0)
    with pytest.raises(NotFound):
        await run(session_factory, customers.customer_history, customer_id=nobody.id + 1)
