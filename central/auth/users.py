"""Users: create, list, disable, set a password; customer accounts bound to a user."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.auth import passwords
from central.auth.errors import AccountError
from central.auth.roles import Role
from central.db.models.auth import RefreshTokenRow, UserAccountRow, UserRow
from central.db.models.records import CustomerRow

LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
Clock = Callable[[], datetime]


def parse_roles(text: str) -> frozenset[Role]:
    """Roles from their stored form; an unknown name is dropped (never widens access)."""
    known = {r.value for r in Role}
    return frozenset(Role(r) for r in text.split(",") if r in known)


def format_roles(roles: Iterable[Role]) -> str:
    return ",".join(sorted(Role(r).value for r in roles))


def check_roles(roles: Iterable[str]) -> frozenset[Role]:
    out = set()
    for r in roles:
        try:
            out.add(Role(r))
        except ValueError:
            names = ", ".join(x.value for x in Role)
            raise AccountError(f"unknown role {r!r} (roles: {names})") from None
    if not out:
        raise AccountError("give at least one role")
    return frozenset(out)


def create(
    session: Session,
    login: str,
    password: str,
    roles: Iterable[str],
    *,
    display_name: str = "",
    clock: Clock,
) -> UserRow:
    if not LOGIN.fullmatch(login):
        raise AccountError(
            f"login {login!r}: 1-64 letters, digits or . _ @ + -, starting with a letter or digit"
        )
    if len(display_name) > 200 or "\x00" in display_name:
        raise AccountError("display name: at most 200 characters, no NUL")
    role_set = check_roles(roles)
    if by_login(session, login) is not None:
        raise AccountError(f"user {login!r} exists already")
    try:
        hashed = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from exc
    now = clock()
    row = UserRow(
        login=login,
        display_name=display_name,
        password_hash=hashed,
        roles=format_roles(role_set),
        disabled=False,
        failed_logins=0,
        locked_until=None,
        created_at=now,
        password_changed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def by_login(session: Session, login: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.login == login))


def get(session: Session, login: str) -> UserRow:
    row = by_login(session, login)
    if row is None:
        raise AccountError(f"no user {login!r}")
    return row


def all_users(session: Session) -> Sequence[UserRow]:
    return session.scalars(select(UserRow).order_by(UserRow.login)).all()


def revoke_refresh_tokens(session: Session, user_id: int, *, now: datetime) -> None:
    session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.user_id == user_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_disabled(session: Session, login: str, disabled: bool, *, clock: Clock) -> UserRow:
    row = get(session, login)
    row.disabled = disabled
    if disabled:
        revoke_refresh_tokens(session, row.id, now=clock())
    return row


def set_password(session: Session, login: str, password: str, *, clock: Clock) -> UserRow:
    """A new password: unlocks the account and ends its sessions (tokens issued before)."""
    row = get(session, login)
    try:
        row.password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AccountError(str(exc)) from exc
    now = clock()
    row.password_changed_at = now
    row.failed_logins = 0
    row.locked_until = None
    revoke_refresh_tokens(session, row.id, now=now)
    return row


def set_roles(session: Session, login: str, roles: Iterable[str]) -> UserRow:
    row = get(session, login)
    row.roles = format_roles(check_roles(roles))
    return row


def bind_account(
    session: Session,
    login: str,
    utility_code: str,
    account_no: str,
    *,
    clock: Clock,
    default: bool = False,
) -> UserAccountRow:
    """Let ``login`` (a customer) see the account ``utility_code``/``account_no``."""
    user = get(session, login)
    customer_id = session.scalar(
        select(CustomerRow.id).where(
            CustomerRow.utility_code == utility_code, CustomerRow.account_no == account_no
        )
    )
    if customer_id is None:
        raise AccountError(f"no account {account_no!r} at utility {utility_code!r}")
    row = session.get(UserAccountRow, (user.id, customer_id))
    if row is None:
        row = UserAccountRow(
            user_id=user.id, customer_id=customer_id, is_default=False, bound_at=clock()
        )
        session.add(row)
    if default:
        session.execute(
            update(UserAccountRow).where(UserAccountRow.user_id == user.id).values(is_default=False)
        )
        row.is_default = True
    session.flush()
    return row


def unbind_account(session: Session, login: str, customer_id: int) -> bool:
    user = get(session, login)
    row = session.get(UserAccountRow, (user.id, customer_id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def bound_accounts(session: Session, user_id: int) -> list[int]:
    """The customer ids bound to ``user_id``, the default first."""
    rows = session.execute(
        select(UserAccountRow.customer_id)
        .where(UserAccountRow.user_id == user_id)
        .order_by(UserAccountRow.is_default.desc(), UserAccountRow.customer_id)
    )
    return [r for (r,) in rows]
