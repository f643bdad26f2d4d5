"""Answer a chat user's message: register and unregister accounts, menu queries.

Plain functions over a session; the webhook routes only verify, parse and call
:func:`answer`. A chat user is ``(platform, chat_user)``; one user may register many
accounts and one account may be registered by many users (seed 000).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.billing import bills
from central.channels import queries
from central.channels.commands import Command, Kind, parse
from central.channels.texts import day, money, state_name, text
from central.db.models.billing import BillRow
from central.db.models.channels import ChatBindingRow
from central.db.models.records import CustomerRow, RouteRow, UtilityRow
from central.records import routes
from central.records.customers import check_account
from central.records.errors import Invalid

Clock = Callable[[], datetime]
MAX_ACCOUNTS = 20  # per chat user: many, but not unbounded


@dataclass(frozen=True)
class Channel:
    """One configured channel: its platform, the utility whose accounts it serves, its locale."""

    platform: str  # zalo | wechat
    utility_code: str
    locale: str = "vi"
    pay_link: str = ""  # a template with {account}, e.g. https://pay.example/?account={account}


def answer(
    session: Session, channel: Channel, chat_user: str, message: str, *, clock: Clock
) -> str:
    """The reply to ``message`` from ``chat_user``; registrations are flushed, not committed."""
    command = parse(message)
    if command.kind is Kind.REGISTER:
        return _register(session, channel, chat_user, command, clock=clock)
    if command.kind is Kind.UNREGISTER:
        return _unregister(session, channel, chat_user, command)
    if command.kind is Kind.HELP:
        return text(channel.locale, "help")
    accounts = _accounts(session, channel, chat_user)
    if not accounts:
        return text(channel.locale, "no_accounts")
    if command.kind is Kind.ACCOUNTS:
        lines = "\n".join(f"{c.account_no} – {c.name}" for c in accounts)
        return text(channel.locale, "accounts", lines=lines)
    if command.account is not None:
        accounts = [c for c in accounts if c.account_no == command.account]
        if not accounts:
            return text(channel.locale, "not_registered", account=command.account)
    return "\n\n".join(_query(session, channel, c, command.kind, clock=clock) for c in accounts)


def _utility(session: Session, channel: Channel) -> UtilityRow:
    utility = session.get(UtilityRow, channel.utility_code)
    if utility is None:
        raise LookupError(
            f"channel {channel.platform} serves unknown utility {channel.utility_code!r}"
        )
    return utility


def _find(session: Session, channel: Channel, command: Command) -> CustomerRow | str:
    """The customer the command names, or the reply explaining why not."""
    locale = channel.locale
    example = "dk" if locale == "vi" else "绑定"
    if not command.account:
        return text(locale, "missing_account", example=example, sample="01234567891")
    utility = _utility(session, channel)
    try:
        check_account(utility, command.account)
    except Invalid:
        hint = utility.account_hint or utility.code
        return text(locale, "malformed", account=command.account, hint=hint)
    customer = session.scalar(
        select(CustomerRow).where(
            CustomerRow.utility_code == utility.code, CustomerRow.account_no == command.account
        )
    )
    if customer is None:
        return text(locale, "unknown", account=command.account)
    return customer


def _register(
    session: Session, channel: Channel, chat_user: str, command: Command, *, clock: Clock
) -> str:
    found = _find(session, channel, command)
    if isinstance(found, str):
        return found
    locale, account = channel.locale, found.account_no
    if _binding(session, channel, chat_user, found.id) is not None:
        return text(locale, "already", account=account)
    if len(_accounts(session, channel, chat_user)) >= MAX_ACCOUNTS:
        return text(locale, "too_many", limit=MAX_ACCOUNTS)
    row = ChatBindingRow(
        platform=channel.platform, chat_user=chat_user, customer_id=found.id, created_at=clock()
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same registration arrived at the same time
        return text(locale, "already", account=account)
    return text(locale, "registered", account=account, name=found.name)


def _unregister(session: Session, channel: Channel, chat_user: str, command: Command) -> str:
    found = _find(session, channel, command)
    if isinstance(found, str):
        return found
    binding = _binding(session, channel, chat_user, found.id)
    if binding is None:
        return text(channel.locale, "not_registered", account=found.account_no)
    session.execute(delete(ChatBindingRow).where(ChatBindingRow.id == binding.id))
    return text(channel.locale, "unregistered", account=found.account_no)


def _binding(
    session: Session, channel: Channel, chat_user: str, customer_id: int
) -> ChatBindingRow | None:
    return session.scalar(
        select(ChatBindingRow).where(
            ChatBindingRow.platform == channel.platform,
            ChatBindingRow.chat_user == chat_user,
            ChatBindingRow.customer_id == customer_id,
        )
    )


def _accounts(session: Session, channel: Channel, chat_user: str) -> list[CustomerRow]:
    return list(
        session.scalars(
            select(CustomerRow)
            .join(ChatBindingRow, ChatBindingRow.customer_id == CustomerRow.id)
            .where(
                ChatBindingRow.platform == channel.platform,
                ChatBindingRow.chat_user == chat_user,
                CustomerRow.utility_code == channel.utility_code,
            )
            .order_by(ChatBindingRow.id)
        )
    )


def _query(
    session: Session, channel: Channel, customer: CustomerRow, kind: Kind, *, clock: Clock
) -> str:
    locale, account = channel.locale, customer.account_no
    if kind is Kind.LATEST_BILL or kind is Kind.BILLS:
        rows = bills.last_bills(session, customer.id, n=1 if kind is Kind.LATEST_BILL else 12)
        rows = [b for b in rows if b.state != "draft"]
        if not rows:
            return text(locale, "no_bills", account=account)
        if kind is Kind.LATEST_BILL:
            return bill_text(locale, rows[0], total=bills.balance(session, rows[0]))
        lines = "\n".join(
            text(
                locale,
                "bill_line",
                start=b.period_start,
                consumption=_qty(b.consumption),
                total=money(bills.balance(session, b), b.currency),
                state=state_name(locale, b.state),
            )
            for b in rows
        )
        return text(locale, "bills", account=account, n=len(rows), lines=lines)
    if kind is Kind.PAYMENTS:
        paid = queries.payments(session, customer.id, n=5)
        if not paid:
            return text(locale, "no_payments", account=account)
        lines = "\n".join(
            text(
                locale,
                "payment_line",
                day=p.day,
                amount=money(p.amount, p.currency),
                method=p.method,
            )
            for p in paid
        )
        return text(locale, "payments", account=account, lines=lines)
    if kind is Kind.SCHEDULE:
        route = session.get(RouteRow, customer.route_id) if customer.route_id else None
        if route is None:
            return text(locale, "no_route", account=account)
        plan = routes.schedule(session, route, clock().date())
        last = ", ".join(day(locale, d) for d in plan.last_readings) or day(locale, None)
        return text(
            locale, "schedule", account=account, next=day(locale, plan.next_reading), last=last
        )
    # Kind.PAY
    due, currency = queries.amount_due(session, customer.id)
    if due <= 0:
        return text(locale, "nothing_due", account=account)
    link = channel.pay_link.format(account=account)
    return text(locale, "pay", account=account, due=money(due, currency), link=link)


def bill_text(locale: str, bill: BillRow, *, total: int) -> str:
    return text(
        locale,
        "bill",
        account=bill.account_no,
        start=bill.period_start,
        end=bill.period_end,
        previous=_qty(bill.previous_index),
        current=_qty(bill.current_index),
        consumption=_qty(bill.consumption),
        total=money(total, bill.currency),
        state=state_name(locale, bill.state),
    )


def _qty(value: float) -> str:
    return f"{value:g}"
