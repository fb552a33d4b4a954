"""Discounts and manager approvals in the chat.

`/discount 10% loyal customer` or `/discount 2.50 damaged box` discounts the whole cart; the cart's
“％” button on a line (or “Discount…” under the cart) points the next /discount at that line.
`/discount off` takes it off again. A cashier's discount above CASHIER_MAX_DISCOUNT_PERCENT becomes
an approval request (db.approvals): Approve / Deny go to every manager's private chat and every
subscribed chat, the cashier's waiting screen is edited when the first manager answers, and the
others' copies then say who decided.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from db import approvals
from db import checkout as checkout_db
from db import discounts as discounts_db
from db import refunds as refunds_db
from db import staff as staff_db
from db import subscriptions as subscriptions_db
from db.errors import PosError, StaleCart
from db.models import ApprovalKind, ApprovalStatus, Role
from db.taxes import format_rate
from handlers.access import pressed, requires
from handlers.cart import cart_screen
from handlers.context import PosContext
from handlers.render import button, cb, cb_pattern, clip, esc, keyboard, lines, money, payment_label, sale_details
from handlers.reply import answer, refuse, send, show

log = logging.getLogger(__name__)

NS = "disc"
APPROVAL_NS = "appr"
TARGET_KEY = "discount_line"  # chat_data: the product the next /discount applies to
USAGE = (
    "/discount <N%|amount> <reason> — e.g. /discount 10% loyal customer or /discount 2.50 damaged box\n"
    "/discount off — take the discount off"
)


def _limit_text(context: PosContext) -> str:
    return format_rate(context.settings.cashier_max_discount_bp)


@requires(Role.CASHIER)
async def discount(update: Update, context: PosContext) -> None:
    """/discount <N%|amount> <reason>: the cart (or the line picked with its ％ button)."""
    args = context.args or []
    chat_id = update.effective_chat.id
    product_id = context.chat_data.pop(TARGET_KEY, None) if context.chat_data is not None else None
    settings = context.settings
    if args and args[0].lower() == "off":
        try:
            async with context.transaction() as session:
                view = await discounts_db.remove(
                    session,
                    chat_id=chat_id,
                    product_id=product_id,
                    actor=context.staff,
                    prices_include_tax=settings.prices_include_tax,
                )
        except PosError as error:
            await send(update, context, esc(error.message))
            return
        await send(update, context, *cart_screen(view, context.currency, note="Discount removed."))
        return
    if len(args) < 2:
        problem = "Give a reason for the discount." if len(args) == 1 else None
        await send(update, context, lines(esc(problem) if problem else None, esc(USAGE)))
        return
    try:
        percent_bp, amount = discounts_db.parse_discount(args[0], context.currency)
        ask = discounts_db.DiscountAsk(
            percent_bp=percent_bp, amount_minor=amount, reason=" ".join(args[1:]), product_id=product_id
        )
        async with context.transaction() as session:
            outcome = await discounts_db.apply(
                session,
                chat_id=chat_id,
                ask=ask,
                actor=context.staff,
                limit_bp=settings.cashier_max_discount_bp,
                currency=context.currency,
                prices_include_tax=settings.prices_include_tax,
            )
            request = None
            if not outcome.applied:
                request = await approvals.create(
                    session,
                    kind=ApprovalKind.DISCOUNT,
                    requested_by=context.staff,
                    chat_id=chat_id,
                    cart_id=outcome.view.cart_id,
                    cart_version=outcome.view.version,
                    summary=f"{ask.describe(context.currency)} ({clip(ask.reason, 60)}) by {context.staff.name}",
                    payload={
                        "percent_bp": percent_bp,
                        "amount_minor": amount,
                        "reason": ask.reason,
                        "product_id": product_id,
                    },
                    minutes=settings.approval_minutes,
                )
    except PosError as error:
        await send(update, context, lines(esc(error.message), esc(USAGE)))
        return
    if request is None:
        await send(update, context, *cart_screen(outcome.view, context.currency, note="✅ Discount applied."))
        return
    what = esc(ask.describe(context.currency))
    waiting = lines(
        f"⏳ <b>Waiting for a manager</b>: {what} ({esc(clip(ask.reason, 60))}) would make the cart's discounts "
        f"{money(outcome.discount_minor, context.currency)}, above your limit of {_limit_text(context)} "
        f"({money(outcome.limit_minor, context.currency)}). This screen updates when a manager answers "
        f"(within {settings.approval_minutes} minutes).",
    )
    message = await context.bot.send_message(chat_id, waiting)
    detail = (
        f"Cart discounts would be {money(outcome.discount_minor, context.currency)}; the cart is "
        f"{money(outcome.view.total_minor, context.currency)} before it."
    )
    sent = await ask_managers(context, request, detail)
    async with context.transaction() as session:
        await approvals.remember_messages(
            session, request_id=request.id, cashier_message_id=message.message_id, sent=sent
        )


async def ask_managers(context: PosContext, request, detail: str) -> list[tuple[int, int]]:
    """Send the request with Approve / Deny to every manager's private chat and subscribed chat;
    ``detail`` (HTML) says what approving would do. Returns where it went (chat, message)."""
    async with context.reading() as session:
        managers = [
            s for s in await staff_db.list_staff(session, include_inactive=False) if s.role.includes(Role.MANAGER)
        ]
        chats = list(dict.fromkeys([s.telegram_id for s in managers] + await subscriptions_db.list_chat_ids(session)))
    text = lines(
        f"🙋 <b>Approval needed</b> (#{request.id})",
        esc(request.summary),
        detail,
    )
    markup = keyboard(
        [
            [
                button("✅ Approve", cb(APPROVAL_NS, "ok", request.id)),
                button("❌ Deny", cb(APPROVAL_NS, "no", request.id)),
            ]
        ]
    )
    sent = []
    for chat_id in chats:
        if chat_id == request.chat_id:
            continue  # the cashier's own chat already shows the waiting screen
        try:
            message = await context.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramError as error:  # a manager who never started the bot, a group that left
            log.info("approval request #%s not delivered to %s: %s", request.id, chat_id, error)
            continue
        sent.append((chat_id, message.message_id))
    return sent


def _verdict(status: ApprovalStatus, who: str, kind: ApprovalKind) -> str:
    changed = "the cart had changed" if kind is ApprovalKind.DISCOUNT else "the sale had changed"
    return {
        ApprovalStatus.APPROVED: f"✅ Approved by {esc(who)}",
        ApprovalStatus.DENIED: f"❌ Denied by {esc(who)}",
        ApprovalStatus.EXPIRED: "⌛ Expired before anyone answered",
        ApprovalStatus.VOID: f"⚠️ Approved by {esc(who)}, but {changed}: void",
    }.get(status, esc(status.value))


@requires(Role.MANAGER)
async def decide(update: Update, context: PosContext) -> None:
    """Approve / Deny on a request: the first answer wins; the others learn who decided."""
    data = update.callback_query.data or ""
    action = "ok" if data.startswith(f"{APPROVAL_NS}:ok:") else "no"
    args = await pressed(update, context, APPROVAL_NS, action, 1)
    if args is None:
        return
    (request_id,) = args
    settings = context.settings
    view = refunded = None
    try:
        async with context.transaction() as session:
            decision = await approvals.decide(
                session, request_id=request_id, manager=context.staff, approve=action == "ok"
            )
            request = decision.request
            approved = decision.decided_now and request.status is ApprovalStatus.APPROVED
            payload = decision.payload
            requester = await session.get(type(context.staff), request.requested_by_id)
            if approved and request.kind is ApprovalKind.REFUND:
                try:
                    record = await refunds_db.refund(
                        session,
                        sale_id=request.sale_id,
                        lines={int(k): refunds_db.ReturnLine(q, bool(r)) for k, (q, r) in payload["lines"].items()},
                        method=payload["method"],
                        reason=payload["reason"],
                        actor=requester,
                        approved_by=context.staff,
                        default_threshold=settings.low_stock_threshold,
                        chat_id=request.chat_id,  # the cashier's till pays it back
                        require_shift=settings.require_shift,
                    )
                    refunded = (record, await checkout_db.get_sale(session, sale_id=request.sale_id))
                except PosError as error:
                    await approvals.void(session, request=request, why=error.message)
            elif approved:
                try:
                    outcome = await discounts_db.apply(
                        session,
                        chat_id=request.chat_id,
                        ask=discounts_db.DiscountAsk(
                            percent_bp=payload["percent_bp"],
                            amount_minor=payload["amount_minor"],
                            reason=payload["reason"],
                            product_id=payload["product_id"],
                        ),
                        actor=requester,
                        limit_bp=settings.cashier_max_discount_bp,
                        currency=context.currency,
                        prices_include_tax=settings.prices_include_tax,
                        approved_by=context.staff,
                        expected_version=request.cart_version,
                    )
                    view = outcome.view
                except (StaleCart, PosError) as error:
                    await approvals.void(session, request=request, why=getattr(error, "message", str(error)))
            who = decision.decided_by.name if decision.decided_by else ""
            status, kind = request.status, request.kind
            messages = [(m.chat_id, m.message_id) for m in request.messages]
            cashier_chat, cashier_message = request.chat_id, request.message_id
            summary = request.summary
    except PosError as error:
        await refuse(update, context, error.message)
        return
    verdict = _verdict(status, who, kind)
    text = lines(f"🙋 Approval #{request_id}", esc(summary), verdict)
    if not decision.decided_now:
        await answer(update, context, f"Already answered: {verdict}", alert=True)
    else:
        await answer(update, context, "Done.")
    await show(update, context, text)
    # Every other copy says who decided; the cashier's waiting screen becomes the outcome.
    for chat_id, message_id in messages:
        if update.effective_chat and chat_id == update.effective_chat.id:
            continue
        await edit_message(context, chat_id, message_id, text)
    if decision.decided_now and cashier_message is not None:
        if view is not None:
            screen_text, markup = cart_screen(view, context.currency, note=lines(verdict, esc(summary)))
        elif refunded is not None:
            record, sale = refunded
            screen_text = lines(
                verdict,
                f"✅ <b>Refunded {money(record.amount_minor, sale.currency)}</b> "
                f"by {esc(payment_label(record.method))}.",
                "",
                sale_details(sale, tz=context.tz),
            )
            markup = None
        else:
            screen_text, markup = lines(verdict, esc(summary), "/cart shows the cart."), None
        await edit_message(context, cashier_chat, cashier_message, screen_text, markup)


async def edit_message(context: PosContext, chat_id: int, message_id: int, text: str, markup=None) -> None:
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
    except TelegramError as error:  # deleted, too old, or unchanged: the decision stands anyway
        log.info("could not update approval message %s/%s: %s", chat_id, message_id, error)


@requires(Role.CASHIER)
async def pick_line(update: Update, context: PosContext) -> None:
    """The ％ on a cart line (or Discount… under the cart): the next /discount applies there."""
    data = update.callback_query.data or ""
    if data.startswith(f"{NS}:cart:"):
        args = await pressed(update, context, NS, "cart", 1)
        if args is None:
            return
        context.chat_data.pop(TARGET_KEY, None)
        where = "the whole cart"
    else:
        args = await pressed(update, context, NS, "line", 2)
        if args is None:
            return
        _cart_id, product_id = args
        context.chat_data[TARGET_KEY] = product_id
        where = "that line"
    await answer(update, context)
    await send(
        update,
        context,
        lines(
            f"Discount on {where}: send", esc(USAGE), f"(up to {_limit_text(context)} of the cart without a manager)"
        ),
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("discount", discount),
        CallbackQueryHandler(pick_line, pattern=cb_pattern(NS, "line")),
        CallbackQueryHandler(pick_line, pattern=cb_pattern(NS, "cart")),
        CallbackQueryHandler(decide, pattern=cb_pattern(APPROVAL_NS, "ok")),
        CallbackQueryHandler(decide, pattern=cb_pattern(APPROVAL_NS, "no")),
    ]
