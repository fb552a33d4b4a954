"""A return, line by line: from /refund's “Choose lines…” (or `/refund <number> <reason>`).

Each line has a quantity stepper from 0 to what is still returnable and a “back to stock” toggle
(📦 back to stock, 🗑 damaged: stays out); the money goes back by a chosen method, by default the
way the sale was paid. The draft (quantities, toggles, method, reason) lives in chat_data; the
buttons carry ids only, and Confirm re-reads the sale, so a refund made elsewhere meanwhile can
never be returned twice (db.refunds bounds every line).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from db import approvals
from db import checkout as checkout_db
from db import refunds as refunds_db
from db.errors import PosError
from db.models import ApprovalKind, PaymentMethod, Role, Sale
from handlers.access import pressed, requires
from handlers.context import PosContext
from handlers.discounts import ask_managers
from handlers.receipts import refund_keyboard
from handlers.render import button, cb, cb_pattern, clip, esc, keyboard, lines, money, payment_label, sale_details
from handlers.reply import answer, refuse, show

NS = "rfl"
DRAFT_KEY = "refund_draft"
METHODS = list(PaymentMethod)
LINES_WITH_BUTTONS = 20  # 4 buttons a line + 5: under Telegram's 100 buttons
NO_DRAFT = "This return screen is out of date. Run /refund again."


def new_draft(sale: Sale, reason: str = "") -> dict:
    return {
        "sale": sale.id,
        "q": {},
        "out": [],
        "m": METHODS.index(refunds_db.default_method(sale)),
        "r": reason[:128],
    }


def _draft(context: PosContext, sale_id: int) -> dict | None:
    draft = (context.chat_data or {}).get(DRAFT_KEY)
    return draft if draft and draft.get("sale") == sale_id else None


def _quantity(draft: dict, line_id: int) -> int:
    return int(draft["q"].get(str(line_id), 0))


def refund_screen(sale: Sale, draft: dict) -> tuple[str, InlineKeyboardMarkup]:
    """The return being put together: what comes back, what it pays back, and its buttons."""
    currency = sale.currency
    rows, text_lines, total = [], [], 0
    for line in sale.lines[:LINES_WITH_BUTTONS]:
        left = refunds_db.returnable(line)
        qty = min(_quantity(draft, line.id), left)
        amount = refunds_db.refund_amounts(line, qty)[0] if qty else 0
        total += amount
        back = line.id not in draft["out"]
        text_lines.append(
            f"{esc(clip(line.product_name, 40))}: {qty} of {left} returnable"
            + (f" → {money(amount, currency)}" if qty else "")
            + ("" if back or not qty else " (damaged: not back to stock)")
        )
        if left:
            rows.append(
                [
                    button("−", cb(NS, "dec", sale.id, line.id)),
                    button(f"{clip(line.product_name, 14)} {qty}/{left}", cb(NS, "inc", sale.id, line.id)),
                    button("+", cb(NS, "inc", sale.id, line.id)),
                    button("📦" if back else "🗑", cb(NS, "stk", sale.id, line.id)),
                ]
            )
    method = METHODS[draft["m"]]
    rows.append(
        [
            button(("• " if m is method else "") + payment_label(m), cb(NS, "m", sale.id, i))
            for i, m in enumerate(METHODS)
        ]
    )
    rows.append(
        [button("All", cb(NS, "all", sale.id)), button(f"✅ Refund {money(total, currency)}", cb(NS, "ok", sale.id))]
    )
    reason = (
        f"Reason: {esc(clip(draft['r'], 80))}"
        if draft["r"]
        else "Reason: — (/refund &lt;number&gt; &lt;reason&gt; gives one)"
    )
    text = lines(
        f"↩ <b>Return from sale #{sale.number}</b>",
        *text_lines,
        f"Back by: {esc(payment_label(method))}",
        reason,
        f"<b>Pays back: {money(total, currency)}</b>",
        "📦 = back to stock, 🗑 = damaged (tap to switch).",
    )
    return text, keyboard(rows)


def _may_refund(context: PosContext) -> bool:
    """Whether this person's return is recorded at once (else it asks a manager first)."""
    staff = context.staff
    return staff is not None and (staff.role.includes(Role.MANAGER) or context.settings.cashier_can_refund)


@requires(Role.CASHIER)
async def step(update: Update, context: PosContext) -> None:
    """−, +, 📦/🗑, a method, All: change the draft and redraw the screen."""
    data = update.callback_query.data or ""
    action = data.split(":")[1] if data.count(":") >= 2 else ""
    count = 1 if action == "all" else 2
    args = await pressed(update, context, NS, action, count)
    if args is None:
        return
    sale_id = args[0]
    draft = _draft(context, sale_id)
    if draft is None:
        await refuse(update, context, NO_DRAFT)
        return
    try:
        async with context.reading() as session:
            sale = await checkout_db.get_sale(session, sale_id=sale_id)
    except PosError as error:
        await refuse(update, context, error.message)
        return
    by_id = {line.id: line for line in sale.lines}
    if action == "all":
        draft["q"] = {str(line.id): refunds_db.returnable(line) for line in sale.lines}
    elif action == "m":
        if not 0 <= args[1] < len(METHODS):
            await refuse(update, context, NO_DRAFT)
            return
        draft["m"] = args[1]
    else:
        line = by_id.get(args[1])
        if line is None:
            await refuse(update, context, NO_DRAFT)
            return
        qty = _quantity(draft, line.id)
        if action == "inc":
            qty = min(qty + 1, refunds_db.returnable(line))
        elif action == "dec":
            qty = max(qty - 1, 0)
        elif action == "stk":
            draft["out"] = (
                [i for i in draft["out"] if i != line.id] if line.id in draft["out"] else [*draft["out"], line.id]
            )
        draft["q"][str(line.id)] = qty
    await answer(update, context)
    await show(update, context, *refund_screen(sale, draft))


@requires(Role.CASHIER)
async def open_screen(update: Update, context: PosContext) -> None:
    """Choose lines…: the stepper screen (the draft /refund started, or a fresh one)."""
    args = await pressed(update, context, NS, "show", 1)
    if args is None:
        return
    try:
        async with context.reading() as session:
            sale = await checkout_db.get_sale(session, sale_id=args[0])
    except PosError as error:
        await refuse(update, context, error.message)
        return
    draft = _draft(context, sale.id)
    if draft is None:
        draft = context.chat_data[DRAFT_KEY] = new_draft(sale)
    await answer(update, context)
    await show(update, context, *refund_screen(sale, draft))


@requires(Role.CASHIER)
async def confirm(update: Update, context: PosContext) -> None:
    """✅ Refund: one refund of what the screen shows, bounded by what is still returnable."""
    args = await pressed(update, context, NS, "ok", 1)
    if args is None:
        return
    (sale_id,) = args
    draft = _draft(context, sale_id)
    if draft is None:
        await refuse(update, context, NO_DRAFT)
        return
    if not _may_refund(context):
        await _ask_for_approval(update, context, sale_id, draft)
        return
    wanted = {
        int(line_id): refunds_db.ReturnLine(qty, restock=int(line_id) not in draft["out"])
        for line_id, qty in draft["q"].items()
        if qty
    }
    try:
        async with context.transaction() as session:
            record = await refunds_db.refund(
                session,
                sale_id=sale_id,
                lines=wanted,
                method=METHODS[draft["m"]],
                reason=draft["r"],
                actor=context.staff,
                default_threshold=context.settings.low_stock_threshold,
                chat_id=update.effective_chat.id,
                require_shift=context.settings.require_shift,
            )
            sale = await checkout_db.get_sale(session, sale_id=sale_id)
    except PosError as error:
        await refuse(update, context, error.message)
        return
    context.chat_data.pop(DRAFT_KEY, None)
    await answer(update, context, f"Refunded {money(record.amount_minor, sale.currency)}.")
    await show(
        update,
        context,
        lines(
            f"✅ <b>Refunded {money(record.amount_minor, sale.currency)}</b> by {esc(payment_label(record.method))}.",
            "",
            sale_details(sale, tz=context.tz),
        ),
        refund_keyboard(sale, record.id),
    )


async def _ask_for_approval(update: Update, context: PosContext, sale_id: int, draft: dict) -> None:
    """A cashier's return while CASHIER_CAN_REFUND is off: it waits for a manager's answer."""
    chosen = {line_id: qty for line_id, qty in draft["q"].items() if qty}
    if not chosen:
        await refuse(update, context, "Choose at least one unit to return.")
        return
    method = METHODS[draft["m"]]
    try:
        async with context.transaction() as session:
            sale = await checkout_db.get_sale(session, sale_id=sale_id)
            units = sum(chosen.values())
            summary = (
                f"return of {units} unit{'s' if units != 1 else ''} from sale #{sale.number} by {method.value}"
                + (f" ({clip(draft['r'], 60)})" if draft["r"] else "")
                + f" by {context.staff.name}"
            )
            request = await approvals.create(
                session,
                kind=ApprovalKind.REFUND,
                requested_by=context.staff,
                chat_id=update.effective_chat.id,
                sale_id=sale.id,
                summary=summary,
                payload={
                    "lines": {k: [q, int(k) not in draft["out"]] for k, q in chosen.items()},
                    "method": method.value,
                    "reason": draft["r"],
                },
                minutes=context.settings.approval_minutes,
            )
            amount = sum(
                refunds_db.refund_amounts(line, min(int(chosen.get(str(line.id), 0)), refunds_db.returnable(line)))[0]
                for line in sale.lines
            )
    except PosError as error:
        await refuse(update, context, error.message)
        return
    context.chat_data.pop(DRAFT_KEY, None)
    await answer(update, context, "Asked a manager.")
    await show(
        update,
        context,
        lines(
            f"⏳ <b>Waiting for a manager</b>: {esc(summary)}, {money(amount, sale.currency)}.",
            "This screen updates when a manager answers.",
        ),
    )
    message = update.callback_query.message
    sent = await ask_managers(context, request, f"Pays back {money(amount, sale.currency)}.")
    async with context.transaction() as session:
        await approvals.remember_messages(
            session, request_id=request.id, cashier_message_id=getattr(message, "message_id", None), sent=sent
        )


def handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(confirm, pattern=cb_pattern(NS, "ok")),
        CallbackQueryHandler(open_screen, pattern=cb_pattern(NS, "show")),
        *(CallbackQueryHandler(step, pattern=cb_pattern(NS, action)) for action in ("dec", "inc", "stk", "m", "all")),
    ]
