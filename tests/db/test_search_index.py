"""Product search through the trigram index (db.search_index) finds exactly what the plain
substring query over the columns found before the index existed: same products, same order."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, case, func, insert, or_, select, update
from sqlalchemy import text as sql

from db import catalog
from db.engine import transaction
from db.errors import InvalidInput
from db.models import Category, Product
from tests.factories import make_product, run

# Accents, case pairs whose lower() is special (ẞ, İ, final sigma, Kelvin), LIKE wildcards and
# the escape character, quotes (FTS5 phrase syntax), punctuation and digits.
CATALOG = [
    ("Äpfel GROSS", "Obst & Gemüse", "APF-1", "4006381333931"),
    ("äpfel klein", "obst & gemüse", "apf-2", None),
    ("Crème brûlée", "Desserts", "CRB.1", "12"),
    ("CRÈME FRAÎCHE 30%", "Dairy_Produce", "CF_30", "123"),
    ("50% off_deal", None, "DEAL-50", "ABCD123"),
    ("O'Brien's \"best\" stout", "Drinks", "OB-1", "5000000000001"),
    ("ΟΔΟΣ ΣΟΦΙΑΣ", "Ελληνικά", "GR-1", None),
    ("οδος σοφιας mini", "ελληνικά", "gr-2", "5000000000002"),
    ("İstanbul çayı", "Tea/Coffee", "TR-1", None),
    ("istanbul cayi", "tea/coffee", "tr-2", "9780000000001"),
    ("Straße ẞig", None, "DE_1", None),
    ("KELVIN 273K", "Lab", "K-273", "2730000000000"),
    ("a/b path_name", "Dairy_Produce", "AB.C", "0000"),
    ("Milk", "Dairy", "MILK", "40063813"),
    ("milk chocolate", "Sweets", "MC-1", None),
    ("Oat milk 1 L", "Dairy", "OAT-1", "4006381333948"),
    ("Archived milk", "Dairy", "OLD-1", "4006381333955"),  # archived below: never found
]
ALPHABET = "aAäÄeEéÉèÈßẞiIİıσςΣοΟkK%_/\\'\" -.&0123459LMmkl"
QUERIES_FROM_CATALOG = sorted(
    {
        field[start : start + size]
        for row in CATALOG
        for field in row
        if field
        for start in range(len(field))
        for size in (1, 2, 3, 4, 6)
    }
)


def _lower(column):
    return func.lower(column, type_=String)


async def search_as_before(session, text: str, page: int, per_page: int) -> list[int]:
    """The search query of the release before the index, word for word: the specification.

    Digits only are a code being typed (the fast counter): SKUs and barcodes starting with them."""
    text = text.strip()
    query = select(Product.id).outerjoin(Category, Product.category_id == Category.id)
    query = query.where(Product.archived.is_(False))
    order_by = [_lower(Product.name), Product.id]
    if text.isdigit():
        query = query.where(
            or_(Product.sku.istartswith(text, autoescape=True), Product.barcode.istartswith(text, autoescape=True))
        )
        order_by.insert(0, case((or_(Product.sku == text, Product.barcode == text), 0), else_=1))
    elif text:
        query = query.where(
            or_(
                Product.name.icontains(text, autoescape=True),
                Category.name.icontains(text, autoescape=True),
                Product.sku.icontains(text, autoescape=True),
                Product.barcode.istartswith(text, autoescape=True)
                if len(text) >= 4
                else _lower(Product.barcode) == text.lower(),
            )
        )
        key = text.lower()
        order_by.insert(0, case((or_(_lower(Product.sku) == key, _lower(Product.barcode) == key), 0), else_=1))
    return list(await session.scalars(query.order_by(*order_by).offset((page - 1) * per_page).limit(per_page)))


async def _seed(factory) -> None:
    async with transaction(factory) as session:
        for name, category, sku, barcode in CATALOG:
            await make_product(session, name=name, category=category, sku=sku, barcode=barcode)
        await session.execute(update(Product).where(Product.sku == "OLD-1").values(archived=True))


async def _compare(factory, text: str) -> None:
    async with factory() as session:
        if text.strip().isdigit() and len(text.strip()) < catalog.MIN_DIGITS_SEARCH:
            with pytest.raises(InvalidInput, match="at least 4 digits"):
                await catalog.search_products(session, text=text, page=1, per_page=50)
            return
        found = await catalog.search_products(session, text=text, page=1, per_page=50)
        expected = await search_as_before(session, text, 1, 50)
    assert [p.id for p in found.items] == expected, text
    assert (found.total, found.more) == (len(expected), False), text


def _check_many(factory, loop: asyncio.AbstractEventLoop):
    """A hypothesis run in a worker thread, each example checked on the test's event loop."""

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        st.one_of(
            st.sampled_from(QUERIES_FROM_CATALOG),
            st.sampled_from(QUERIES_FROM_CATALOG).map(str.swapcase),
            st.sampled_from(QUERIES_FROM_CATALOG).map(str.upper),
            st.text(ALPHABET, min_size=1, max_size=6),
        )
    )
    def check(text: str) -> None:
        asyncio.run_coroutine_threadsafe(_compare(factory, text), loop).result()

    return check


async def test_search_finds_what_the_column_scan_found(session_factory):
    await _seed(session_factory)
    for text in ["milk", "MILK", "äpfel", "ÄPFEL", "Σοφιας", "ςοφ", "30%", "off_", "a/b", '"best"', "4006", "12"]:
        await _compare(session_factory, text)
    await asyncio.to_thread(_check_many(session_factory, asyncio.get_running_loop()))


async def test_the_index_follows_edits_renames_and_new_products(session_factory):
    await _seed(session_factory)
    async with transaction(session_factory) as session:
        oat = await catalog.get_by_sku(session, sku="OAT-1")
        await catalog.edit_product(session, product_id=oat.id, name="Oat drink", barcode="7770001112223")
        await session.execute(update(Category).where(Category.name == "Desserts").values(name="Puddings"))
        await session.execute(
            insert(Product),
            [{"sku": "BULK-1", "name": "Bulk oats", "price_minor": 1, "stock": 0, "archived": False}],
        )
    async with session_factory() as session:
        assert [p.name for p in (await catalog.search_products(session, text="oat milk")).items] == []
        assert [p.name for p in (await catalog.search_products(session, text="oat")).items] == [
            "Bulk oats",
            "Oat drink",
        ]
        assert [p.name for p in (await catalog.search_products(session, text="7770")).items] == ["Oat drink"]
        assert [p.name for p in (await catalog.search_products(session, text="pudd")).items] == ["Crème brûlée"]
        assert (await catalog.search_products(session, text="dessert")).items == []
    for text in ["oat", "4006", "pudd", "bulk", "777", "milk"]:
        await _compare(session_factory, text)


async def test_count_stops_at_the_cap(session_factory):
    rows = [
        {"sku": f"W{i:04d}", "name": f"Widget {i:04d}", "price_minor": 100, "stock": 1, "archived": False}
        for i in range(catalog.SEARCH_COUNT_CAP + 20)
    ]
    await run(session_factory, lambda session: session.execute(insert(Product), rows))
    async with session_factory() as session:
        found = await catalog.search_products(session, text="widget", page=1, per_page=8)
        exact = await catalog.search_products(session, text="widget 00", page=1, per_page=8)
    assert (found.total, found.more, found.pages) == (500, True, 63)
    assert [p.name for p in found.items] == [f"Widget {i:04d}" for i in range(8)]
    assert (exact.total, exact.more) == (100, False)


# More than SEARCH_COUNT_CAP matches: page one and later pages are read by walking the name index.
_PREFIXES = ["Äpfel", "äpfel", "apfel", "ΟΔΟΣ", "οδος", "İstanbul", "istanbul", "Straße", "STRASSE", "zitrone", "Ωmega"]


async def test_pages_of_many_matches_are_those_of_the_column_scan(session_factory):
    count = catalog.SEARCH_COUNT_CAP + 100
    rows = [
        {
            "sku": f"S{i:04d}",
            "barcode": f"4006{i:09d}",
            "name": f"{_PREFIXES[i % len(_PREFIXES)]} Saft {(i * 7919) % count:04d}",
            "price_minor": 100,
            "stock": 1,
            "archived": i % 9 == 0,
        }
        for i in range(count)
    ]
    rows.append({"sku": "SAFT", "name": "Zzz the exact SKU", "price_minor": 1, "stock": 1, "archived": False})
    rows.append({"sku": "4006", "name": "Zzz the exact code", "price_minor": 1, "stock": 1, "archived": False})
    await run(session_factory, lambda session: session.execute(insert(Product), rows))
    async with transaction(session_factory) as session:  # renamed after the insert: the key follows
        await session.execute(update(Product).where(Product.sku == "S0007").values(name="aaa saft renamed"))
        s8 = await catalog.get_by_sku(session, sku="S0008")
        await catalog.edit_product(session, product_id=s8.id, name="0 Saft edited")
    async with session_factory() as session:
        for text in ["saft", "SAFT", "aft", "", "4006"]:
            for page, per_page in [(1, 8), (2, 8), (40, 8), (63, 8), (1, 50), (10, 50)]:
                found = await catalog.search_products(session, text=text, page=page, per_page=per_page)
                expected = await search_as_before(session, text, found.page, per_page)
                assert [p.id for p in found.items] == expected, (text, page, per_page)
                assert len(expected) == per_page, (text, page, per_page)
            first = await catalog.search_products(session, text=text)
            assert (first.total, first.more) == (catalog.SEARCH_COUNT_CAP, True), text
    async with session_factory() as session:
        first = await catalog.search_products(session, text="saft")
        code = await catalog.search_products(session, text="4006")
    # The exact code first, though its name sorts last; the renamed products where their names go.
    assert [p.name for p in first.items[:3]] == ["Zzz the exact SKU", "0 Saft edited", "aaa saft renamed"]
    assert code.items[0].name == "Zzz the exact code"


async def test_the_count_leaves_the_transactions_planner_settings_as_they_were(session_factory):
    # On PostgreSQL the capped count sets planner settings for itself (catalog._count_streamed).
    await _seed(session_factory)
    async with transaction(session_factory) as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's planner settings")
        settings_of = "SELECT current_setting('enable_mergejoin'), current_setting('enable_hashjoin'), " + (
            "current_setting('enable_seqscan')"
        )
        await session.execute(sql("SET LOCAL enable_hashjoin = off"))
        before = (await session.execute(sql(settings_of))).one()
        found = await catalog.search_products(session, text="milk")
        assert [p.name for p in found.items] == ["Milk", "milk chocolate", "Oat milk 1 L"]
        assert (await session.execute(sql(settings_of))).one() == before == ("on", "off", "on")
