"""The till's shift and cash drawer: /shift open|close, /shift (the X report), /cashin, /cashout.

A till is a chat. `/shift close` asks for the cash counted (typed), then a Confirm button closes the
shift once (db.shifts.close_shift is a conditional UPDATE: a double tap finds it closed) and shows
the Z report, which also goes to the subscribed chats. The count waits in chat_data; the button
carries the shift's number only. A manager closes another till's shift from their own chat with
`/shift close #<number>`.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from db import shifts as shifts_db
from db.errors import InvalidInput, PosError
from db.models import Role, Shift
from db.money import parse_money
from handlers.access import dialog_is_current, open_dialog, pressed, requires
from handlers.context import PosContext
from handlers.render import button, cb, cb_pattern, esc, keyboard, lines, money, quoted, shift_report_text
from handlers.reply import answer, refuse, send, show
from handlers.subscriptions import broadcast, subscribed_chats

NS = "shf"
DRAFT_KEY = "shift_close"  # chat_data: {"n": shift number, "c": counted minor, "d": dialog number}
ASK_COUNT = "shift:count"
END = ConversationHandler.END

SHIFT_USAGE = (
    "/shift — the running (X) report of this till's shift\n"
    "/shift open <float> — open it with the cash in the drawer, e.g. /shift open 100.00\n"
    "/shift close [<counted>] — close it with the cash counted: the Z report\n"
    "/shift <number> — a shift's report again\n"
    "/cashin <amount> <reason> — money put into the drawer\n"
    "/cashout <amount> <reason> — money taken out of the drawer"
)
NO_SHIFT = f"No shift is open at this till. {shifts_db.OPEN_ONE}"
NUMBER = re.compile(r"#?(\d{1,9})")
MAX_COUNTED = 2**31 - 1  # the count rides on the Confirm button, whose numbers are 32-bit


def _amount(text: str, what: str, currency: str) -> int:
    try:
        return parse_money(text, currency)
    except InvalidInput:
        raise InvalidInput(f"{quoted(text)} is not {what}: write it like 100.00.") from None


async def _report(update: Update, context: PosContext, number: int) -> str | None:
    """A shift's report, or None after saying why not (a cashier sees only this till's shifts)."""
    try:
        async with context.reading() as session:
            report = await shifts_db.shift_report(session, number=number)
    except PosError as error:
        await refuse(update, context, error.message)
        return None
    elsewhere = report.shift.chat_id != update.effective_chat.id
    if elsewhere and not context.staff.role.includes(Role.MANAGER):
        await refuse(update, context, f"Shift #{number} belongs to another till: only a manager can see it from here.")
        return None
    return shift_report_text(report, tz=context.tz)


@requires(Role.CASHIER)
async def shift(update: Update, context: PosContext) -> str | int | None:
    """/shift, /shift open <float>, /shift close [<counted> | #<number> [<counted>]], /shift <number>"""
    args = context.args or []
    action = args[0].lower() if args else ""
    if not args:
        async with context.reading() as session:
            current = await shifts_db.open_shift_of(session, chat_id=update.effective_chat.id)
        if current is None:
            await send(update, context, lines(esc(NO_SHIFT), "", esc(SHIFT_USAGE)))
            return END
        text = await _report(update, context, current.number)
        if text is not None:
            await send(update, context, text)
        return END
    if action == "open":
        await _open(update, context, args[1:])
        return END
    if action == "close":
        return await _close(update, context, args[1:])
    match = NUMBER.fullmatch(action)
    if match and len(args) == 1:
        text = await _report(update, context, int(match.group(1)))
        if text is not None:
            await send(update, context, text)
        return END
    await send(update, context, esc(SHIFT_USAGE))
    return END


async def _open(update: Update, context: PosContext, args: list[str]) -> None:
    if len(args) != 1:
        await send(update, context, "How much cash is in the drawer? <code>/shift open 100.00</code>")
        return
    try:
        float_minor = _amount(args[0], "an amount of cash", context.currency)
        async with context.transaction() as session:
            opened = await shifts_db.open_shift(
                session,
                chat_id=update.effective_chat.id,
                float_minor=float_minor,
                actor=context.staff,
                currency=context.currency,
            )
    except PosError as error:
        await refuse(update, context, error.message)
        return
    await send(
        update,
        context,
        lines(
            f"✅ <b>Shift #{opened.number} is open</b> with a float of {money(opened.float_minor, opened.currency)}.",
            "/shift shows the running report; /shift close ends it with the count.",
        ),
    )


async def _target(update: Update, context: PosContext, args: list[str]) -> tuple[Shift, list[str]] | None:
    """The shift `/shift close` means (this till's, or `#<number>`) and the arguments left."""
    try:
        async with context.reading() as session:
            if args and args[0].startswith("#"):
                match = NUMBER.fullmatch(args[0])
                if match is None:
                    await refuse(update, context, f"{quoted(args[0])} is not a shift number.")
                    return None
                target = await shifts_db.get_shift(session, number=int(match.group(1)))
                args = args[1:]
            else:
                target = await shifts_db.open_shift_of(session, chat_id=update.effective_chat.id)
    except PosError as error:
        await refuse(update, context, error.message)
        return None
    if target is None:
        await refuse(update, context, f"{NO_SHIFT} A manager closes another till's shift with /shift close #<number>.")
        return None
    if target.chat_id != update.effective_chat.id and not context.staff.role.includes(Role.MANAGER):
        await refuse(update, context, f"Shift #{target.number} belongs to another till: only a manager can close it.")
        return None
    if target.closed_at is not None:
        await refuse(update, context, f"Shift #{target.number} is already closed. /shift {target.number} shows it.")
        return None
    return target, args


async def _close(update: Update, context: PosContext, args: list[str]) -> str | int:
    found = await _target(update, context, args)
    if found is None:
        return END
    target, rest = found
    context.chat_data.pop(DRAFT_KEY, None)
    if not rest:
        number = open_dialog(context)
        context.chat_data[DRAFT_KEY] = {"n": target.number, "c": None, "d": number}
        await send(
            update,
            context,
            f"Closing shift #{target.number}. Count the cash in the drawer and type the total, e.g. 152.30 "
            "(/cancel to stop).",
        )
        return ASK_COUNT
    if len(rest) != 1:
        await send(update, context, esc(SHIFT_USAGE))
        return END
    await _confirm_screen(update, context, target.number, rest[0])
    return END


async def _confirm_screen(update: Update, context: PosContext, number: int, typed: str) -> bool:
    """Ask to confirm closing shift ``number`` with the count typed; False when it is no amount."""
    try:
        counted = _amount(typed, "the cash counted", context.currency)
        if counted > MAX_COUNTED:
            raise InvalidInput(f"{money(counted, context.currency)} is more cash than a drawer holds.")
    except InvalidInput as error:
        await send(update, context, f"{esc(error.message)} Type the cash counted, or /cancel.")
        return False
    context.chat_data[DRAFT_KEY] = {"n": number, "c": counted, "d": None}
    await send(
        update,
        context,
        lines(f"Close shift #{number} with <b>{money(counted, context.currency)}</b> counted in the drawer?"),
        keyboard(
            [
                [
                    button(f"✅ Close shift #{number}", cb(NS, "ok", number, counted)),
                    button("Cancel", cb(NS, "no", number)),
                ]
            ]
        ),
    )
    return True


@requires(Role.CASHIER)
async def counted(update: Update, context: PosContext) -> str | int | None:
    """The cash counted, typed after /shift close."""
    draft = context.chat_data.get(DRAFT_KEY)
    if not draft or not dialog_is_current(context, draft.get("d")):
        return END
    if not await _confirm_screen(update, context, draft["n"], update.effective_message.text or ""):
        return None
    return END


@requires(Role.CASHIER)
async def cancel(update: Update, context: PosContext) -> int:
    context.chat_data.pop(DRAFT_KEY, None)
    await send(update, context, "The shift stays open: nothing was changed.")
    return END


@requires(Role.CASHIER)
async def busy(update: Update, context: PosContext) -> None:
    await send(update, context, "You are closing the shift: type the cash counted, or /cancel.")


@requires(Role.CASHIER)
async def confirm(update: Update, context: PosContext) -> None:
    """✅ Close shift: once, with the count the screen showed; a repeat shows the Z report."""
    args = await pressed(update, context, NS, "ok", 2)
    if args is None:
        return
    number, counted = args
    draft = context.chat_data.get(DRAFT_KEY)
    try:
        async with context.transaction() as session:
            # The count on the button is the one the screen showed; the draft says the screen is
            # this chat's newest close (an older screen's count is not recorded).
            if draft and draft.get("n") == number and draft.get("c") == counted:
                closed = await shifts_db.close_shift(
                    session,
                    number=number,
                    counted_minor=counted,
                    actor=context.staff,
                    chat_id=update.effective_chat.id,
                )
                done, repeat = closed.shift, closed.already_closed
            else:
                done, repeat = await shifts_db.get_shift(session, number=number), True
            report = await shifts_db.shift_report(session, number=number) if done.closed_at else None
    except PosError as error:
        await refuse(update, context, error.message)
        return
    if report is None:  # an old screen of a shift still open: nothing to close it with
        await refuse(update, context, "This screen is out of date. Run /shift close again.")
        return
    context.chat_data.pop(DRAFT_KEY, None)
    text = shift_report_text(report, tz=context.tz)
    if repeat:
        await answer(update, context, f"Shift #{number} was already closed.", alert=True)
        await show(update, context, text)
        return
    await answer(update, context, f"Shift #{number} closed.")
    await show(update, context, text)
    here = update.effective_chat.id
    await broadcast(
        context.application, text, chat_ids=[c for c in await subscribed_chats(context.application) if c != here]
    )


@requires(Role.CASHIER)
async def dismiss(update: Update, context: PosContext) -> None:
    """Cancel on the confirm screen: the shift stays open."""
    args = await pressed(update, context, NS, "no", 1)
    if args is None:
        return
    draft = context.chat_data.get(DRAFT_KEY)
    if draft and draft.get("n") == args[0]:
        context.chat_data.pop(DRAFT_KEY, None)
    await show(update, context, f"Shift #{args[0]} was not closed.")


async def _movement(update: Update, context: PosContext, *, pay_in: bool) -> None:
    command = "/cashin" if pay_in else "/cashout"
    args = context.args or []
    example = f"{command} 20.00 {'change from the bank' if pay_in else 'window cleaner'}"
    if len(args) < 2:
        await refuse(update, context, f"Give the amount and the reason: {example}")
        return
    try:
        amount = _amount(args[0], "an amount", context.currency)
        async with context.transaction() as session:
            moved = await shifts_db.cash_movement(
                session,
                chat_id=update.effective_chat.id,
                amount_minor=amount,
                reason=" ".join(args[1:]),
                actor=context.staff,
                pay_in=pay_in,
            )
    except PosError as error:
        await refuse(update, context, error.message)
        return
    verb = "put into" if pay_in else "taken out of"
    await send(
        update,
        context,
        lines(
            f"✅ {money(amount, moved.currency)} {verb} the drawer of shift #{moved.number}: "
            f"{esc(' '.join(args[1:])[:128])}.",
            f"The drawer should now hold {money(moved.expected_minor, moved.currency)}.",
        ),
    )


@requires(Role.CASHIER)
async def cashin(update: Update, context: PosContext) -> None:
    """/cashin <amount> <reason>"""
    await _movement(update, context, pay_in=True)


@requires(Role.CASHIER)
async def cashout(update: Update, context: PosContext) -> None:
    """/cashout <amount> <reason>"""
    await _movement(update, context, pay_in=False)


def handlers() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND
    dialog = ConversationHandler(
        entry_points=[CommandHandler("shift", shift)],
        states={ASK_COUNT: [MessageHandler(text, counted)]},
        fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.COMMAND, busy)],
        allow_reentry=True,
        name="shift",
        persistent=True,
    )
    return [
        dialog,
        CommandHandler("cashin", cashin),
        CommandHandler("cashout", cashout),
        CallbackQueryHandler(confirm, pattern=cb_pattern(NS, "ok")),
        CallbackQueryHandler(dismiss, pattern=cb_pattern(NS, "no")),
    ]
