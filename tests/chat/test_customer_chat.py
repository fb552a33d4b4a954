"""The customer's own chat: from a receipt link to /points, /receipts and /stop; the token matrix;
a linked customer refused everything of the staff's."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from db.engine import transaction
from db.models import Customer, ReceiptLink, Sale, utcnow
from handlers import customer_chat
from handlers.barcodes import decode
from handlers.customer_chat import BAD_LINK, FAILED_TRIES
from tests.chat.conftest import CASHIER_ID
from tests.chat.counter_helpers import fill, product, sales
from tests.chat.security_helpers import db_checksum
from tests.chat.test_receipts import pdf_text
from tests.chat.test_security_matrix import COMMAND_TEXT, PAYLOADS, screen, visible_calls, world  # noqa: F401

CUSTOMER_ID, OTHER_ID = 7001, 7002
LINK = re.compile(r"https://t\.me/pos_test_bot\?start=(r_[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"loyalty_earn_percent": Decimal(5)})


@pytest.fixture
def ann(shop):
    return shop.client(CUSTOMER_ID, "Ann")


@pytest.fixture
def other(shop):
    return shop.client(OTHER_ID, "Otto")


async def sell_and_link(cashier, session_factory, *, price_minor: int = 1000) -> str:
    """The cashier sells (no customer), taps 📲 Send to customer: the start payload of the link."""
    item = await product(session_factory, name="Coffee beans", price_minor=price_minor, stock=10)
    await fill(session_factory, CASHIER_ID, (item, 1))
    await cashier.send("/checkout")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert "📲 Send to customer" in cashier.buttons
    await cashier.tap("📲 Send to customer")
    found = LINK.search(cashier.text)
    assert found, cashier.text
    qr, pdf = cashier.messages[-3], cashier.messages[-2]  # to scan from the screen; to print or mail
    assert qr.kind == "photo" and decode(qr.file) == [found[0]]
    assert pdf.kind == "document" and "Scan to keep this receipt in Telegram" in pdf_text(pdf.file)
    return found[1]


async def linked(session_factory, telegram_id: int) -> Customer | None:
    async with session_factory() as session:
        return await session.scalar(select(Customer).where(Customer.telegram_id == telegram_id))


async def test_the_whole_customer_journey(cashier, ann, session_factory):
    payload = await sell_and_link(cashier, session_factory)
    assert len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
    async with session_factory() as session:
        stored = (await session.scalars(select(ReceiptLink))).one()
        assert payload[2:] not in stored.token_hash and len(stored.token_hash) == 64  # only its hash
        assert timedelta(days=89) < stored.expires_at - utcnow() <= timedelta(days=90)

    transcript = []

    async def say(text: str) -> None:
        await ann.send(text)
        transcript.append(f"> {text}\n{ann.text}")

    await say(f"/start {payload}")
    assert "Coffee beans" in ann.text and "Total: $10.00" in ann.text
    assert "Keep your receipts and points here?" in ann.text
    assert ann.buttons == ["✅ Yes, keep them here", "No, thanks"]
    await ann.tap("✅ Yes, keep them here")
    transcript.append(f"[taps ✅ Yes, keep them here]\n{ann.text}")
    assert "your receipts will arrive in this chat" in ann.text
    assert "Points: 50 points (worth $0.50)" in ann.text  # 5% of the sale it came from
    customer = await linked(session_factory, CUSTOMER_ID)
    assert customer is not None and customer.name == "Ann" and customer.points_balance == 50
    [sale] = await sales(session_factory)
    assert sale.customer_id == customer.id

    await say("/points")
    assert "Your points: 50 points (worth $0.50)" in ann.text and "+50 earned" in ann.text

    # The next sale to Ann arrives in her chat by itself.
    tea = await product(session_factory, name="Green tea", price_minor=400, stock=10)
    await fill(session_factory, CASHIER_ID, (tea, 1))
    await cashier.send("/checkout")
    await cashier.tap("👤 Customer")
    await cashier.tap("Find customer")
    await cashier.send("Ann")
    await cashier.tap(next(b for b in cashier.buttons if b.startswith("Ann")))
    await cashier.tap("⭐ Points (50)")
    await cashier.tap("Card")
    await cashier.tap("✅ Confirm sale")
    assert "Green tea" in ann.text and "Payment: Points $0.50" in ann.text
    assert "⭐ Points earned: 18 · balance: 18 points" in ann.text  # 5% of 3.50 = 17.5 -> 18
    transcript.append(f"[the cashier sells Green tea to Ann]\n{ann.text}")

    await say("/receipts")
    assert len(ann.buttons) == 2 and ann.buttons[0].startswith("#2 ")
    await ann.tap(ann.buttons[1])
    assert "Coffee beans" in ann.text

    await say("/sale 1")  # a staff command: only her own commands are listed
    assert "/points" in ann.text and "Coffee beans" not in ann.text

    await say("/stop")
    assert "no longer kept in this chat" in ann.text
    assert await linked(session_factory, CUSTOMER_ID) is None
    await ann.send("/points")
    assert "not on its staff list" in ann.text  # a stranger again
    print("\n\n".join(transcript))  # the report's transcript (pytest -s)


async def test_no_thanks_keeps_nothing(cashier, ann, session_factory):
    payload = await sell_and_link(cashier, session_factory)
    before = await db_checksum(session_factory, shop_only=True)
    await ann.send(f"/start {payload}")
    await ann.tap("No, thanks")
    assert "nothing is kept" in ann.text
    assert await linked(session_factory, CUSTOMER_ID) is None
    # Opening the link only notes who holds it: the shop's data is as it was.
    async with session_factory() as session:
        assert (await session.scalars(select(ReceiptLink.opened_by))).one() == CUSTOMER_ID
    await ann.send(f"/start {payload}")  # the holder may open it again
    assert "Coffee beans" in ann.text
    async with transaction(session_factory) as session:
        await session.execute(update(ReceiptLink).values(opened_by=None))
    assert await db_checksum(session_factory, shop_only=True) == before


@pytest.mark.parametrize("case", ["unknown", "malformed", "too long", "expired", "another's", "replaced", "forged yes"])
async def test_every_bad_link_gets_the_same_answer(cashier, ann, other, fake, session_factory, case):
    payload = await sell_and_link(cashier, session_factory)
    if case == "unknown":
        payload = "r_" + "A" * 32
    elif case == "malformed":
        payload = "r_" + "!" * 32
    elif case == "too long":
        payload = payload + "x" * 40
    elif case == "expired":
        async with transaction(session_factory) as session:
            await session.execute(update(ReceiptLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    elif case == "another's":
        await other.send(f"/start {payload}")
        assert "Keep your receipts" in other.text
    elif case == "replaced":  # the cashier made a new link: the old one stops working
        receipt = next(m for m in reversed(cashier.messages) if any(b == "📲 Send to customer" for b, _ in m.buttons))
        await cashier.tap("📲 Send to customer", message=receipt)
    before = await db_checksum(session_factory)
    if case == "forged yes":  # a "Yes" for a sale whose link this person never opened
        [sale] = await sales(session_factory)
        await ann.press(f"me:yes:{sale.id}", message=screen(fake, CUSTOMER_ID))
        assert ann.last_answer["text"] == BAD_LINK
    else:
        await ann.send(f"/start {payload}")
        assert ann.text == BAD_LINK
        assert ann.buttons == []
    assert await db_checksum(session_factory) == before
    assert await linked(session_factory, CUSTOMER_ID) is None


async def test_strangers_trying_many_links_are_ignored_after_a_few(cashier, ann, shop, session_factory, monkeypatch):
    payload = await sell_and_link(cashier, session_factory)
    now = [1000.0]
    monkeypatch.setattr(customer_chat, "_clock", lambda: now[0])
    for n in range(FAILED_TRIES):
        await ann.send(f"/start r_{'B' * 31}{n}")
        assert ann.text == BAD_LINK
    replies = len(ann.messages)
    await ann.send(f"/start r_{'C' * 32}")
    await ann.send(f"/start {payload}")  # even a good one: nothing is looked up
    assert len(ann.messages) == replies
    now[0] += customer_chat.FAILED_WINDOW + 1
    await ann.send(f"/start {payload}")
    assert "Keep your receipts and points here?" in ann.text


async def test_a_linked_customer_sees_only_their_own_receipts(cashier, ann, other, fake, session_factory):
    await ann.send(f"/start {await sell_and_link(cashier, session_factory)}")
    await ann.tap("✅ Yes, keep them here")
    await other.send(f"/start {await sell_and_link(cashier, session_factory)}")
    await other.tap("✅ Yes, keep them here")
    async with session_factory() as session:
        ids = dict((await session.execute(select(Sale.customer_id, Sale.id))).all())
    otto = await linked(session_factory, OTHER_ID)
    before = await db_checksum(session_factory)
    await ann.press(f"me:r:{ids[otto.id]}", message=screen(fake, CUSTOMER_ID))
    assert ann.last_answer["text"] == "This button is no longer valid."
    await ann.press("me:r:99999999999999", message=screen(fake, CUSTOMER_ID))
    await ann.press("me:zzz", message=screen(fake, CUSTOMER_ID))
    assert await db_checksum(session_factory) == before
    await ann.send("/receipts")
    assert len(ann.buttons) == 1


@pytest.fixture
async def linked_ann(cashier, ann, session_factory, world):  # noqa: F811 - the matrix's world
    await ann.send(f"/start {await sell_and_link(cashier, session_factory)}")
    await ann.tap("✅ Yes, keep them here")
    assert await linked(session_factory, CUSTOMER_ID) is not None
    return ann


@pytest.mark.parametrize("command", list(COMMAND_TEXT))
async def test_a_linked_customer_is_refused_every_staff_command(linked_ann, fake, world, session_factory, command):  # noqa: F811
    if command == "start":
        pytest.skip("/start is the customer's too: it greets them")
    before = await db_checksum(session_factory)
    before_msgs = len(linked_ann.messages)
    await linked_ann.send(world.fill(COMMAND_TEXT[command], CUSTOMER_ID))
    new = linked_ann.messages[before_msgs:]
    assert len(new) == 1, [m.text for m in new]
    if command == "points":  # their own /points, whatever follows it: never Jane's, never an adjustment
        assert "Your points" in new[0].text and "Jane" not in new[0].text
    else:
        assert "/points — your points" in new[0].text, new[0].text
    assert await db_checksum(session_factory) == before


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.template for p in PAYLOADS])
async def test_a_linked_customer_is_refused_every_staff_button(linked_ann, fake, world, session_factory, payload):  # noqa: F811
    data = world.fill(payload.template, CUSTOMER_ID)
    pressed = screen(fake, CUSTOMER_ID)
    before = await db_checksum(session_factory)
    before_calls = len(visible_calls(fake))
    answer = await linked_ann.press(data, message=pressed)
    assert answer.get("text") == "That is not available here. /points and /receipts are."
    assert visible_calls(fake)[before_calls:] == []
    assert await db_checksum(session_factory) == before


async def test_the_ledger_check_sees_linked_points(session_factory, cashier, ann):
    await ann.send(f"/start {await sell_and_link(cashier, session_factory)}")
    await ann.tap("✅ Yes, keep them here")
    from db import loyalty

    async with session_factory() as session:
        assert await loyalty.check_points(session) == []
    async with transaction(session_factory) as session:
        await session.execute(text("UPDATE points_entries SET points = points + 1"))
    async with session_factory() as session:
        assert [m.difference for m in await loyalty.check_points(session)] == [-1]
