"""Who may do what: every command and every button payload against every kind of person.

The matrix sends each command of handlers/menu.COMMANDS and presses each button payload in use
as a stranger, a removed staff member, a cashier, a manager and an admin. Allowed means the
handler ran (no refusal); refused means one refusal (a reply or an alert), nothing else sent and
not a row of the database changed. Then the guard's edge cases, forged and replayed payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot import jobs
from bot.testing.chat import ChatClient
from bot.testing.fake_telegram import FakeTelegram, StoredMessage
from db import carts as carts_db
from db import catalog as catalog_db
from db import staff as staff_db
from db.engine import transaction
from db.models import Role
from handlers.access import EDIT_IGNORED
from handlers.menu import COMMANDS
from handlers.refunds import NO_DRAFT as RETURN_CLOSED
from handlers.reply import STALE_BUTTON
from tests import factories
from tests.chat.conftest import ADMIN_ID, CASHIER2_ID, CASHIER_ID, FORMER_ID, MANAGER_ID, STRANGER_ID
from tests.chat.security_helpers import db_checksum, message, process, user

# --- the people ---------------------------------------------------------------------------------
PEOPLE = {  # fixture name -> (telegram id, role; None = not active staff)
    "stranger": (STRANGER_ID, None),
    "former": (FORMER_ID, None),
    "cashier": (CASHIER_ID, Role.CASHIER),
    "manager": (MANAGER_ID, Role.MANAGER),
    "admin": (ADMIN_ID, Role.ADMIN),
}
GROUP = -100_777_000

# --- every command, with arguments that would change something when allowed ----------------------
COMMAND_TEXT = {
    "start": "/start",
    "help": "/help",
    "cancel": "/cancel",
    "search": "/search milk",
    "browse": "/browse",
    "quick": "/quick",
    "pin": "/pin MILK1",
    "unpin": "/unpin MILK1",
    "cart": "/cart",
    "checkout": "/checkout",
    "customer": "/customer Jane",
    "newcustomer": "/newcustomer",
    "sales": "/sales",
    "shift": "/shift open 100.00",
    "cashin": "/cashin 5.00 coins from the bank",
    "cashout": "/cashout 5.00 window cleaner",
    "receipt": "/receipt {sale}",
    "add": "/add Rye bread | 2.50 | 10 | Bakery | RYE1",
    "edit": "/edit MILK1",
    "price": "/price MILK1 3.10",
    "restock": "/restock MILK1 5",
    "adjust": "/adjust MILK1 -2 broken bottles",
    "archive": "/archive MILK1",
    "unarchive": "/unarchive OLD1",
    "stock": "/stock",
    "lowstock": "/lowstock",
    "discount": "/discount 5% loyal customer",
    "tax": "/tax add GST 5%",
    "report": "/report",
    "sale": "/sale {sale}",
    "refund": "/refund {sale}",
    "history": "/history Jane",
    "points": "/points Jane +5 matrix",
    "subscribe": "/subscribe",
    "unsubscribe": "/unsubscribe",
    "staff": f"/staff remove {CASHIER2_ID}",
    "audit": "/audit",
    "apikey": "/apikey new cashier matrix till",
}
MIN_ROLE = {name: needed or Role.CASHIER for name, _, needed in COMMANDS}  # /start etc. need staff


@dataclass(frozen=True)
class Payload:
    template: str
    role: Role  # the minimum role
    dialog_only: bool = False  # routed only inside its dialog: "no longer valid" outside it
    stale: str = STALE_BUTTON  # what a dialog_only button says outside its dialog


# --- every button payload in use (grep the handlers for cb(...)), one table ----------------------
PAYLOADS = [
    # cart (cashier): carry this chat's cart id and version
    Payload("cart:show", Role.CASHIER),
    Payload("cart:inc:{cart}:{product}:{version}", Role.CASHIER),
    Payload("cart:dec:{cart}:{product}:{version}", Role.CASHIER),
    Payload("cart:rm:{cart}:{product}:{version}", Role.CASHIER),
    Payload("cart:clear:{cart}:{version}", Role.CASHIER),
    Payload("cart:undo:{cart}:{product}:1:{version}", Role.CASHIER),
    Payload("cart:qty:{cart}:{product}", Role.CASHIER),
    # catalog (cashier)
    Payload("cat:sp:1:2", Role.CASHIER),
    Payload("cat:cats:1", Role.CASHIER),
    Payload("cat:c:{category}:1", Role.CASHIER),
    Payload("cat:p:{product}:2", Role.CASHIER),
    Payload("cat:add:{product}:2", Role.CASHIER),
    Payload("cat:p:{product}:2:1:1", Role.CASHIER),
    Payload("cat:qa:{product}:2", Role.CASHIER),
    Payload("quick:add:{product}", Role.CASHIER),
    Payload("nav:noop", Role.CASHIER),
    # checkout (cashier)
    Payload("co:go:{cart}:{version}", Role.CASHIER),
    Payload("co:ok:{cart}:{version}:1", Role.CASHIER),
    Payload("co:add:{product}:1", Role.CASHIER),
    Payload("co:cash:500", Role.CASHIER, dialog_only=True),
    Payload("co:cust", Role.CASHIER, dialog_only=True),
    Payload("co:none", Role.CASHIER, dialog_only=True),
    Payload("co:find", Role.CASHIER, dialog_only=True),
    Payload("co:new", Role.CASHIER, dialog_only=True),
    Payload("co:pay:0", Role.CASHIER, dialog_only=True),
    Payload("co:pick:{customer}", Role.CASHIER, dialog_only=True),
    Payload("co:cancel", Role.CASHIER, dialog_only=True),
    Payload("co:drop:{cart}:{version}", Role.CASHIER, dialog_only=True),
    Payload("co:pts", Role.CASHIER, dialog_only=True),
    Payload("co:unpay:1", Role.CASHIER, dialog_only=True),
    # loyalty: a receipt's customer link (cashier), a customer's points from several matches (manager)
    Payload("rl:new:{sale}", Role.CASHIER),
    Payload("pts:c:{customer}", Role.MANAGER),
    # customers and sales (cashier)
    Payload("cust:show:{customer}", Role.CASHIER),
    Payload("sales:pg:{today}:{today}:1", Role.CASHIER),
    # the till's shift (cashier): close it, or not
    Payload("shf:ok:1:10000", Role.CASHIER),
    Payload("shf:no:1", Role.CASHIER),
    # receipts (cashier: their own sales; the world's sale is the cashier's)
    Payload("rc:pdf:{sale}", Role.CASHIER),
    Payload("rc:prn:{sale}", Role.CASHIER),
    Payload("rc:mail:{sale}", Role.CASHIER),
    Payload("rc:rpdf:{sale}:{sale}", Role.CASHIER),
    # product dialogs and stock (manager)
    Payload("add:cat:{category}", Role.MANAGER, dialog_only=True),
    Payload("add:sku:0", Role.MANAGER, dialog_only=True),
    Payload("add:save", Role.MANAGER, dialog_only=True),
    Payload("add:cancel", Role.MANAGER, dialog_only=True),
    Payload("edit:f:{product}:1", Role.MANAGER),
    Payload("stock:page:1", Role.MANAGER),
    # reports, refunds, customer history (manager)
    Payload("rep:csv:{day}:{day}", Role.MANAGER),
    Payload("rep:xlsx:{day}:{day}", Role.MANAGER),
    Payload("ref:ask:{sale}", Role.MANAGER),
    Payload("ref:do:{sale}", Role.MANAGER),
    Payload("ref:no:{sale}", Role.MANAGER),
    # discounts: the cart's ％ buttons (cashier) and a manager's answer to an approval request
    Payload("disc:cart:{cart}", Role.CASHIER),
    Payload("disc:line:{cart}:{product}", Role.CASHIER),
    Payload("appr:ok:999999", Role.MANAGER),
    Payload("appr:no:999999", Role.MANAGER),
    # the line-by-line return screen: opened by any staff (a cashier's return asks a manager);
    # its steps act only on a screen the chat has open
    Payload("rfl:show:{sale}", Role.CASHIER),
    Payload("rfl:inc:{sale}:{sale}", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("rfl:dec:{sale}:{sale}", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("rfl:stk:{sale}:{sale}", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("rfl:m:{sale}:1", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("rfl:all:{sale}", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("rfl:ok:{sale}", Role.CASHIER, dialog_only=True, stale=RETURN_CLOSED),
    Payload("hist:c:{customer}", Role.MANAGER),
    # staff and audit (admin)
    Payload("staff:list:1", Role.ADMIN),
    Payload("staff:show:{staff}", Role.ADMIN),
    Payload("staff:remove:{staff}", Role.ADMIN),
    Payload("staff:role:{staff}:2", Role.ADMIN),
    Payload("staff:rmok:{staff}", Role.ADMIN),
    Payload("staff:readd:{former}:1", Role.ADMIN),
    Payload("audit:page:0:0:1", Role.ADMIN),
]


# --- the shop's contents ------------------------------------------------------------------------
@dataclass
class World:
    values: dict[str, int]
    carts: dict[int, tuple[int, int]]  # chat id -> (cart id, version)

    def fill(self, template: str, chat_id: int) -> str:
        cart, version = self.carts.get(chat_id, (0, 0))
        return template.format(cart=cart, version=version, **self.values)


@pytest.fixture
async def world(shop, session_factory) -> World:
    """A category with a product, an archived product, a customer, a sale, a cart in every chat."""
    async with transaction(session_factory) as session:
        milk = await factories.make_product(
            session, name="Whole milk", sku="MILK1", price_minor=150, stock=20, category="Dairy"
        )
        old = await factories.make_product(session, name="Old cheese", sku="OLD1", price_minor=500, stock=1)
        await catalog_db.archive_product(session, product_id=old.id)
        jane = await factories.make_customer(session, name="Jane Doe")
        cashier = await staff_db.get_active_staff(session, telegram_id=CASHIER_ID)
    sale = (await factories.sell(session_factory, cashier=cashier, items=[(milk, 1)], chat_id=555)).sale
    carts = {}
    for chat_id in [*(tid for tid, _ in PEOPLE.values()), CASHIER2_ID, GROUP]:
        async with transaction(session_factory) as session:
            view = await carts_db.add_item(session, chat_id=chat_id, product_id=milk.id, qty=1)
        carts[chat_id] = (view.cart_id, view.version)
    today = datetime.now(UTC).astimezone(shop.application.bot_data["services"].settings.tz).date()
    values = {
        "product": milk.id,
        "archived": old.id,
        "category": milk.category_id,
        "customer": jane.id,
        "sale": sale.id,
        "staff": CASHIER2_ID,
        "former": FORMER_ID,
        "today": today.toordinal(),  # /sales and /audit buttons carry days as ordinals
        "day": int(today.strftime("%Y%m%d")),  # report buttons carry them as YYYYMMDD
    }
    return World(values, carts)


def screen(fake: FakeTelegram, chat_id: int, text: str = "an earlier screen") -> StoredMessage:
    """A message of the bot's in this chat, to press buttons on."""
    fake._api_sendMessage({"chat_id": chat_id, "text": text}, {})
    return fake.chat_messages(chat_id)[-1]


def visible_calls(fake: FakeTelegram) -> list[str]:
    """Everything the bot did in Telegram except answering button presses."""
    return [c.method for c in fake.calls if c.method != "answerCallbackQuery"]


def is_refusal(text: str | None) -> bool:
    return bool(text) and (
        "not on this shop's staff list" in text or "not on its staff list" in text or "That needs the" in text
    )


# --- the matrix ---------------------------------------------------------------------------------
def test_the_matrix_covers_every_menu_command():
    assert set(COMMAND_TEXT) == {name for name, _, _ in COMMANDS}


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("command", list(COMMAND_TEXT))
async def test_command_matrix(request, shop, fake, world, session_factory, person, command):
    telegram_id, role = PEOPLE[person]
    client: ChatClient = request.getfixturevalue(person)
    text = world.fill(COMMAND_TEXT[command], telegram_id)
    before_sum = await db_checksum(session_factory)
    before_calls = len(visible_calls(fake))
    before_msgs = len(client.messages)

    await client.send(text)

    new = client.messages[before_msgs:]
    if role is None or not role.includes(MIN_ROLE[command]):
        assert visible_calls(fake)[before_calls:] == ["sendMessage"], "a refusal and nothing else"
        assert len(new) == 1
        if role is None:
            assert f"Your Telegram id is {telegram_id}" in new[0].text
        else:
            assert f"That needs the {MIN_ROLE[command].value} role; yours is {role.value}." == new[0].text
        assert await db_checksum(session_factory) == before_sum, "a refused command changed the database"
    else:
        assert new, f"{text} got no reply"
        for msg in new:
            assert not is_refusal(msg.text), msg.text
            assert "I don't know that command" not in msg.text


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.template for p in PAYLOADS])
async def test_button_matrix(request, shop, fake, world, session_factory, person, payload):
    telegram_id, role = PEOPLE[person]
    client: ChatClient = request.getfixturevalue(person)
    data = world.fill(payload.template, telegram_id)
    pressed = screen(fake, telegram_id)
    before_sum = await db_checksum(session_factory)
    before_calls = len(visible_calls(fake))

    answer = await client.press(data, message=pressed)  # the client fails the test if unanswered

    if role is None:
        expected = f"You are not on this shop's staff list. Your Telegram id is {telegram_id}."
    elif payload.dialog_only:
        expected = payload.stale
    elif not role.includes(payload.role):
        expected = f"That needs the {payload.role.value} role; yours is {role.value}."
    else:
        expected = None
    if expected is not None:
        assert answer.get("text") == expected
        assert answer.get("show_alert") is True
        assert visible_calls(fake)[before_calls:] == [], "a refused button did something visible"
        assert await db_checksum(session_factory) == before_sum, "a refused button changed the database"
    else:
        assert not is_refusal(answer.get("text")), answer
        assert answer.get("text") != STALE_BUTTON, f"{data} is not routed"


def test_matrix_size():
    """The size quoted in the report: commands × people + payloads × people."""
    assert len(COMMAND_TEXT) * len(PEOPLE) + len(PAYLOADS) * len(PEOPLE) == 5 * (len(COMMANDS) + len(PAYLOADS))


# --- the guard's edge cases ---------------------------------------------------------------------
async def test_edited_messages_never_run_a_command(shop, fake, world, session_factory, manager, stranger):
    before = await db_checksum(session_factory)
    sent = len(fake.calls_to("sendMessage"))
    edited = message(MANAGER_ID, MANAGER_ID, f"/refund {world.values['sale']}")
    edited["edit_date"] = edited["date"]
    await process(manager, {"edited_message": edited})
    assert manager.text == EDIT_IGNORED
    assert len(fake.calls_to("sendMessage")) == sent + 1
    # a stranger's edit gets no second refusal
    edited = message(STRANGER_ID, STRANGER_ID, "/start")
    edited["edit_date"] = edited["date"]
    await process(stranger, {"edited_message": edited})
    assert fake.chat_messages(STRANGER_ID) == []
    assert await db_checksum(session_factory) == before


async def test_updates_without_a_person_or_from_bots_are_ignored(shop, fake, cashier, session_factory):
    before, calls = await db_checksum(session_factory), len(fake.calls)
    post = message(GROUP, None, "/cart")
    post["chat"] = {"id": GROUP, "type": "channel", "title": "News"}
    await process(cashier, {"channel_post": post})
    await process(cashier, {"message": {**message(GROUP, None, "/cart"), "from": user(4242, "Other", is_bot=True)}})
    member = {
        "chat": {"id": GROUP, "type": "supergroup", "title": "Shop group"},
        "from": user(STRANGER_ID),
        "date": 0,
        "old_chat_member": {"status": "left", "user": user(123456789, "POS Bot", is_bot=True)},
        "new_chat_member": {"status": "member", "user": user(123456789, "POS Bot", is_bot=True)},
    }
    await process(cashier, {"my_chat_member": member})
    assert len(fake.calls) == calls
    assert await db_checksum(session_factory) == before


async def test_a_button_without_a_message_is_answered_and_nothing_else(shop, fake, cashier, stranger, world):
    for person, data in ((cashier, "cart:show"), (stranger, "cart:show")):
        query = {"id": f"inline-{person.user_id}", "from": user(person.user_id), "chat_instance": "x", "data": data}
        query["inline_message_id"] = "AAA"
        calls = len(visible_calls(fake))
        await process(person, {"callback_query": query})
        answer = fake.answered_queries[query["id"]]
        assert answer["show_alert"] is True
        assert len(visible_calls(fake)) == calls
    assert fake.answered_queries[f"inline-{CASHIER_ID}"]["text"] == STALE_BUTTON
    assert "not on this shop's staff list" in fake.answered_queries[f"inline-{STRANGER_ID}"]["text"]


async def test_a_button_on_a_message_too_old_to_edit_draws_a_new_screen(shop, fake, cashier, world):
    old = {"chat": {"id": CASHIER_ID, "type": "private", "first_name": "Cal"}, "message_id": 5, "date": 0}
    query = {"id": "old-1", "from": user(CASHIER_ID), "chat_instance": "x", "data": "cart:show", "message": old}
    await process(cashier, {"callback_query": query})
    assert "Whole milk" in cashier.text and "Cart" in cashier.text
    assert "old-1" in fake.answered_queries


async def test_group_chats_are_for_staff_only(shop, fake, world, session_factory):
    eve = shop.client(STRANGER_ID, "Eve", chat_id=GROUP)
    cal = shop.client(CASHIER_ID, "Cal", chat_id=GROUP)
    before = await db_checksum(session_factory)
    await eve.send("hello, is this the shop?")
    await eve.send("/start@some_other_bot")
    assert fake.chat_messages(GROUP) == []
    await eve.send("/cart@pos_test_bot")
    assert f"Your Telegram id is {STRANGER_ID}" in eve.text
    await eve.send("/cart")  # refused a moment ago: ignored, one refusal every few minutes
    assert len(fake.chat_messages(GROUP)) == 1
    answer = await eve.press(world.fill("cart:clear:{cart}:{version}", GROUP))
    assert not answer.get("text")  # answered silently
    assert await db_checksum(session_factory) == before
    # staff use the group's own cart
    await cal.send("/cart@pos_test_bot")
    assert "Whole milk" in cal.text
    await cal.tap("Clear cart")
    async with session_factory() as session:
        assert (await carts_db.get_cart_view(session, chat_id=GROUP)).item_count == 0
        assert (await carts_db.get_cart_view(session, chat_id=CASHIER_ID)).item_count == 1


async def test_report_pushes_reach_a_group(shop, fake, world, session_factory):
    mia = shop.client(MANAGER_ID, "Mia", chat_id=GROUP)
    eve = shop.client(STRANGER_ID, "Eve", chat_id=GROUP)
    await mia.send("/subscribe")
    await eve.send("/unsubscribe")  # a stranger in the group cannot stop them
    assert "not on its staff list" in eve.text
    await jobs.daily_summary(shop.application, datetime.now(UTC))
    assert "Daily summary" in fake.chat_messages(GROUP)[-1].text


async def test_removed_mid_dialog_is_stopped_at_the_next_step(shop, fake, cashier, admin, world, session_factory):
    await cashier.send("/checkout")
    await admin.send(f"/staff remove {CASHIER_ID}")
    before = await db_checksum(session_factory)
    await cashier.tap("Card")
    assert "not on this shop's staff list" in cashier.last_answer["text"]
    shown = len(fake.chat_messages(CASHIER_ID))
    await cashier.send("cash")  # refused a moment ago: ignored (refusals are rate-limited)
    assert len(fake.chat_messages(CASHIER_ID)) == shown
    assert await db_checksum(session_factory) == before


async def test_demoted_mid_dialog_cannot_finish_it(shop, manager, admin, session_factory):
    await manager.send("/add")
    await manager.send("Rye bread")
    await admin.send(f"/staff role {MANAGER_ID} cashier")
    before = await db_checksum(session_factory, shop_only=True)
    await manager.send("2.50")
    assert "That needs the manager role; yours is cashier." in manager.text
    assert await db_checksum(session_factory, shop_only=True) == before  # the dialog's own state ends
    await manager.send("/cancel")  # the dialog ended with the refusal: nothing is left open
    assert "nothing to cancel" in manager.text.lower()
    await manager.send("milk")  # plain text is a search again, not a step of the old dialog
    assert "That needs" not in manager.text


# --- forged and replayed payloads ---------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "cart:inc:{cart}:{product}:{version}",
        "cart:dec:{cart}:{product}:{version}",
        "cart:rm:{cart}:{product}:{version}",
        "cart:clear:{cart}:{version}",
        "co:go:{cart}:{version}",
        "co:ok:{cart}:{version}:1",
    ],
)
@pytest.mark.parametrize("where", ["other private chat", "group"])
async def test_another_chats_cart_cannot_be_touched(shop, fake, world, session_factory, template, where):
    """Cleo (or the group) presses a payload naming Cal's cart: refused, neither cart changes."""
    chat_id = CASHIER2_ID if where == "other private chat" else GROUP
    cleo = shop.client(CASHIER2_ID, "Cleo", chat_id=chat_id)
    data = template.format(cart=world.carts[CASHIER_ID][0], version=world.carts[CASHIER_ID][1], **world.values)
    before = await db_checksum(session_factory)
    answer = await cleo.press(data, message=screen(fake, chat_id))
    assert answer["show_alert"] is True and "another chat's cart" in answer["text"]
    assert await db_checksum(session_factory) == before


async def test_a_replayed_confirm_does_not_sell_twice(shop, cashier, world, session_factory):
    await cashier.send("/checkout")
    await cashier.tap("Card")
    confirm = next(data for label, data in cashier.last_reply.buttons if "Confirm" in label)
    await cashier.tap("Confirm")
    assert await factories.count_sales(session_factory) == 2
    before = await db_checksum(session_factory)
    answer = await cashier.press(confirm)
    assert "Already recorded" in answer["text"]
    assert await db_checksum(session_factory) == before


async def test_a_cashier_replaying_a_managers_refund_is_refused(shop, fake, manager, cashier, world, session_factory):
    sale = world.values["sale"]
    await manager.send(f"/refund {sale}")
    refund = next(data for label, data in manager.last_reply.buttons if label.startswith("Refund"))
    before = await db_checksum(session_factory)
    answer = await cashier.press(refund, message=screen(fake, CASHIER_ID))
    assert answer["text"] == "That needs the manager role; yours is cashier."
    # the manager loses the role, then presses their own old button
    async with transaction(session_factory) as session:
        await staff_db.set_role(session, telegram_id=MANAGER_ID, role=Role.CASHIER)
    before = await db_checksum(session_factory)
    answer = await manager.press(refund)
    assert answer["text"] == "That needs the manager role; yours is cashier."
    assert await db_checksum(session_factory) == before


@pytest.mark.parametrize(
    "data",
    [
        "cart:inc:1:2",
        "cart:inc:a:b:c",
        "cart:clear:-1:-1",
        "cart:rm:99999999999999999999:1:1",
        "cat:p:0:0",
        "cat:add:{product}:0",
        "cat:add:{product}:100000",
        "cat:c:999999:1",
        "co:ok:1",
        "co:go:x:1",
        "cust:show:999999",
        "sales:pg:1:1:1",
        "edit:f:999999:1",
        "stock:page:-3",
        "rep:csv:1:2",
        "rep:pdf:{today}:{today}",
        "ref:do:999999",
        "ref:do:{sale}:extra",
        "hist:c:abc",
        "staff:role:{staff}:9",
        "audit:page:1:2:3:4",
    ],
)
async def test_malformed_payloads_get_a_clear_answer_and_change_nothing(manager, fake, world, session_factory, data):
    data = world.fill(data, MANAGER_ID)
    before = await db_checksum(session_factory)
    answer = await manager.press(data, message=screen(fake, MANAGER_ID))
    assert answer.get("text"), f"{data}: answered without a word"
    assert await db_checksum(session_factory) == before


async def test_every_button_route_is_in_the_matrix(shop, world):
    """A new button pattern anywhere (also inside dialogs) must get a row in PAYLOADS."""
    stack = [h for group in shop.application.handlers.values() for h in group]
    patterns = set()
    while stack:
        handler = stack.pop()
        if isinstance(handler, ConversationHandler):
            stack += [*handler.entry_points, *(h for s in handler.states.values() for h in s), *handler.fallbacks]
        elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            patterns.add(handler.pattern)
    filled = [world.fill(p.template, CASHIER_ID) for p in PAYLOADS]
    missing = [p.pattern for p in patterns if not any(p.match(data) for data in filled)]
    assert missing == []


# --- ids above 32 bits ---------------------------------------------------------------------------
BIG_ID = 2**40  # fits the codec's 64-bit range, not PostgreSQL's INTEGER columns


def _with_big_ids(template: str) -> list[str]:
    """One forged payload per numeric argument of `template`: that argument replaced by BIG_ID."""
    parts = template.split(":")
    return [":".join([*parts[:i], str(BIG_ID), *parts[i + 1 :]]) for i in range(2, len(parts))]


# Where an argument is a Telegram id (64-bit, so 2**40 is a real one), the answer names the person.
NO_SUCH_PERSON = (
    "That person is not on the staff list any more.",
    "That person is not on the active staff.",
    "That person is already on the staff.",
    f"No active staff member with Telegram id {BIG_ID}.",
)


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if _with_big_ids(p.template)], ids=lambda p: p.template)
async def test_ids_above_32_bits_are_no_longer_valid(admin, fake, world, session_factory, payload):
    """A forged id too large for an INTEGER column is a stale button on both backends, not a driver error."""
    for template in _with_big_ids(payload.template):
        data = world.fill(template, ADMIN_ID)
        before = await db_checksum(session_factory)
        answer = await admin.press(data, message=screen(fake, ADMIN_ID))  # fails the test if a handler raises
        ns, action, first, *_ = template.split(":")
        person = ns == "staff" and action != "list" and first == str(BIG_ID)
        assert answer.get("text") in (NO_SUCH_PERSON if person else (STALE_BUTTON,)), data
        assert answer.get("show_alert") is True
        assert await db_checksum(session_factory) == before
