"""Customer logins and the accounts bound to them.

Registering names an account and proves the phone on record with a code; the login is then
bound to that account as its default. More accounts (up to five) are bound the same way, and
one is the default (seed 002). A forgotten password is reset with a code to the phone of the
default account. One account may be bound by many logins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from central.auth import users
from central.auth.errors import AccountError
from central.auth.roles import Role
from central.db.models.auth import UserAccountRow, UserRow
from central.db.models.records import CustomerRow
from central.selfservice import otp

Clock = Callable[[], datetime]
MAX_ACCOUNTS = 5


class SelfServiceError(Exception):
    """A request a customer can correct; the message says how."""


class NotFound(SelfServiceError):
    pass


def account(session: Session, utility: str, account_no: str) -> CustomerRow:
    row = session.scalar(
        select(CustomerRow).where(
            CustomerRow.utility_code == utility, CustomerRow.account_no == account_no
        )
    )
    if row is None:
        raise NotFound(f"no account {account_no} at {utility}")
    return row


def start_registration(session: Session, utility: str, account_no: str, *, clock: Clock) -> str:
    return otp.send(session, "register", account(session, utility, account_no), clock=clock)


def finish_registration(
    session: Session, token: str, code: str, login: str, password: str, *, clock: Clock
) -> UserRow:
    challenge = otp.check(session, token, code, "register", clock=clock)
    try:
        row = users.create(session, login, password, [Role.CUSTOMER.value], clock=clock)
    except AccountError as exc:
        raise SelfServiceError(str(exc)) from exc
    _bind(session, row.id, challenge.customer_id, default=True, clock=clock)
    return row


def start_binding(
    session: Session, user_id: int, utility: str, account_no: str, *, clock: Clock
) -> str:
    customer = account(session, utility, account_no)
    bound = bound_ids(session, user_id)
    if customer.id in bound:
        raise SelfServiceError(f"account {account_no} is bound already")
    if len(bound) >= MAX_ACCOUNTS:
        raise SelfServiceError(f"at most {MAX_ACCOUNTS} accounts; unbind one first")
    return otp.send(session, "bind", customer, clock=clock, user_id=user_id)


def finish_binding(session: Session, user_id: int, token: str, code: str, *, clock: Clock) -> int:
    challenge = otp.check(session, token, code, "bind", clock=clock)
    if challenge.user_id != user_id:
        raise otp.OtpError("unknown code request")
    bound = bound_ids(session, user_id)
    if len(bound) >= MAX_ACCOUNTS:
        raise SelfServiceError(f"at most {MAX_ACCOUNTS} accounts; unbind one first")
    if challenge.customer_id not in bound:
        _bind(session, user_id, challenge.customer_id, default=not bound, clock=clock)
    return challenge.customer_id


def _bind(session: Session, user_id: int, customer_id: int, *, default: bool, clock: Clock) -> None:
    session.add(
        UserAccountRow(
            user_id=user_id, customer_id=customer_id, is_default=default, bound_at=clock()
        )
    )
    session.flush()


def bound_ids(session: Session, user_id: int) -> list[int]:
    return list(
        session.scalars(
            select(UserAccountRow.customer_id)
            .where(UserAccountRow.user_id == user_id)
            .order_by(UserAccountRow.bound_at, UserAccountRow.customer_id)
        )
    )


def bound(session: Session, user_id: int) -> list[tuple[CustomerRow, bool]]:
    rows = session.execute(
        select(CustomerRow, UserAccountRow.is_default)
        .join(UserAccountRow, UserAccountRow.customer_id == CustomerRow.id)
        .where(UserAccountRow.user_id == user_id)
        .order_by(UserAccountRow.bound_at, CustomerRow.id)
    ).all()
    return [(c, bool(d)) for c, d in rows]


def set_default(session: Session, user_id: int, customer_id: int) -> None:
    if customer_id not in bound_ids(session, user_id):
        raise NotFound(f"account {customer_id} is not bound to you")
    session.execute(
        update(UserAccountRow)
        .where(UserAccountRow.user_id == user_id)
        .values(is_default=UserAccountRow.customer_id == customer_id)
    )
    session.flush()


def unbind(session: Session, user_id: int, customer_id: int) -> None:
    """Unbind an account; the oldest remaining one becomes the default if this was it."""
    if customer_id not in bound_ids(session, user_id):
        raise NotFound(f"account {customer_id} is not bound to you")
    session.execute(
        delete(UserAccountRow).where(
            UserAccountRow.user_id == user_id, UserAccountRow.customer_id == customer_id
        )
    )
    rest = bound_ids(session, user_id)
    defaults = session.scalar(
        select(func.count())
        .select_from(UserAccountRow)
        .where(UserAccountRow.user_id == user_id, UserAccountRow.is_default.is_(True))
    )
    if rest and not defaults:
        set_default(session, user_id, rest[0])
    session.flush()


def start_reset(session: Session, login: str, *, clock: Clock) -> str:
    """A code to the phone of the login's default account (the same answer shape whether or
    not the login exists is the route's job)."""
    row = users.by_login(session, login)
    if row is None or Role.CUSTOMER.value not in row.roles.split(","):
        raise NotFound("no such customer login")
    accounts = bound(session, row.id)
    default = next((c for c, d in accounts if d), accounts[0][0] if accounts else None)
    if default is None:
        raise NotFound("no account bound to this login")
    return otp.send(session, "reset", default, clock=clock, user_id=row.id)


def finish_reset(
    session: Session, token: str, code: str, new_password: str, *, clock: Clock
) -> None:
    challenge = otp.check(session, token, code, "reset", clock=clock)
    owner = session.get(UserRow, challenge.user_id) if challenge.user_id else None
    if owner is None:
        raise otp.OtpError("unknown code request")
    try:
        users.set_password(session, owner.login, new_password, clock=clock)
    except AccountError as exc:
        raise SelfServiceError(str(exc)) from exc
