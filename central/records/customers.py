"""Customers: creation under a utility's account-number rule, changes with their history."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from central.db.models.records import (
    CustomerChangeRow,
    CustomerRow,
    PremiseRow,
    RouteRow,
    UtilityRow,
)
from central.records import accounts
from central.records.errors import Conflict, Invalid, NotFound
from central.records.folding import fold, search_text
from central.records.schemas import CustomerIn, CustomerPatch, UtilityIn

Clock = Callable[[], datetime]
DATED = frozenset({"persons", "households", "tariff_code", "category", "route_id"})

# Bến Thành water (HCMC): "danh bộ" of 11 digits starting 01 (District 1) or 03 (District 3).
BEN_THANH = UtilityIn(
    code="ben-thanh",
    name="Bến Thành Water Supply",
    account_pattern=r"0[13]\d{9}",
    account_hint="11 digits starting 01 or 03",
)


def add_utility(session: Session, data: UtilityIn) -> UtilityRow:
    accounts.compile_pattern(data.account_pattern)  # raises Invalid naming account_pattern
    if session.get(UtilityRow, data.code) is not None:
        raise Conflict(f"utility {data.code!r} exists")
    row = UtilityRow(**data.model_dump())
    session.add(row)
    session.flush()
    return row


def check_account(utility: UtilityRow, account_no: str) -> None:
    if not accounts.matches(utility.account_pattern, account_no):
        hint = utility.account_hint or f"pattern {utility.account_pattern}"
        raise Invalid("account_no", f"{account_no!r} is not a {utility.code} account ({hint})")


def route_id(session: Session, code: str | None) -> int | None:
    if code is None or code == "":
        return None
    rid = session.scalar(select(RouteRow.id).where(RouteRow.code == code))
    if rid is None:
        raise Invalid("route_code", f"no route {code!r}")
    return rid


def create(
    session: Session,
    data: CustomerIn,
    *,
    by: str,
    clock: Clock,
    tariffs: Collection[str],
) -> CustomerRow:
    utility = session.get(UtilityRow, data.utility_code)
    if utility is None:
        raise Invalid("utility_code", f"no utility {data.utility_code!r}")
    check_account(utility, data.account_no)
    if data.tariff_code not in tariffs:
        raise Invalid("tariff_code", f"no tariff {data.tariff_code!r}")
    if find(session, data.utility_code, data.account_no) is not None:
        raise Conflict(f"account {data.account_no} exists at {data.utility_code}")
    if data.premise_id is not None and session.get(PremiseRow, data.premise_id) is None:
        raise Invalid("premise_id", f"no premise {data.premise_id}")
    now = clock()
    fields = data.model_dump(exclude={"route_code"})
    row = CustomerRow(
        **fields, route_id=route_id(session, data.route_code), created_at=now, updated_at=now
    )
    _refold(row)
    session.add(row)
    session.flush()
    session.add(
        CustomerChangeRow(
            customer_id=row.id,
            field="created",
            old_value=None,
            new_value=data.account_no,
            changed_at=now,
            changed_by=by,
            reason="new customer",
        )
    )
    return row


def update(
    session: Session,
    customer_id: int,
    patch: CustomerPatch,
    *,
    by: str,
    clock: Clock,
    tariffs: Collection[str],
) -> CustomerRow:
    """Apply ``patch``; every changed field leaves a history row (old, new, who, when, why)."""
    row = get(session, customer_id)
    now = clock()
    changes = patch.model_dump(exclude_unset=True, exclude={"reason", "effective_from"})
    effective = patch.effective_from or now.date()
    # a null means "unchanged", as for every other field
    if changes.get("account_no") is not None and changes["account_no"] != row.account_no:
        utility = session.get(UtilityRow, row.utility_code)
        assert utility is not None  # a foreign key guarantees it
        check_account(utility, changes["account_no"])
        if find(session, row.utility_code, changes["account_no"]) is not None:
            raise Conflict(f"account {changes['account_no']} exists at {row.utility_code}")
    if changes.get("tariff_code") is not None and changes["tariff_code"] not in tariffs:
        raise Invalid("tariff_code", f"no tariff {changes['tariff_code']!r}")
    if "route_code" in changes:
        changes["route_id"] = route_id(session, changes.pop("route_code"))
    for field, new in changes.items():
        if new is None and field != "route_id":
            continue
        old = getattr(row, field)
        if old == new:
            continue
        setattr(row, field, new)
        session.add(
            CustomerChangeRow(
                customer_id=row.id,
                field=field,
                old_value=_text(old),
                new_value=_text(new),
                changed_at=now,
                changed_by=by,
                reason=patch.reason,
                effective_from=effective if field in DATED else None,
            )
        )
    row.updated_at = now
    _refold(row)
    session.flush()
    return row


def _refold(row: CustomerRow) -> None:
    row.search_text = search_text(row.name, row.address or "", row.account_no, row.phone or "")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def get(session: Session, customer_id: int) -> CustomerRow:
    row = session.get(CustomerRow, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    return row


def find(session: Session, utility_code: str, account_no: str) -> CustomerRow | None:
    return session.scalar(
        select(CustomerRow).where(
            CustomerRow.utility_code == utility_code, CustomerRow.account_no == account_no
        )
    )


def matches(text: str) -> ColumnElement[bool]:
    """By account number or phone (exact), or by every word of ``text`` in the name,
    address, account or phone, accent- and case-insensitively ("nguyen van" finds "Nguyễn
    Văn An", "duc" finds "Đức"); LIKE wildcards in ``text`` match themselves."""
    words = fold(text).split()
    conds = [CustomerRow.search_text.like(f"%{_escape(w)}%", escape="\\") for w in words]
    return or_(
        CustomerRow.account_no == text,
        CustomerRow.phone == text,
        and_(*conds) if conds else false(),
    )


def search(session: Session, text: str, *, limit: int = 50) -> list[CustomerRow]:
    stmt = select(CustomerRow).where(matches(text)).order_by(CustomerRow.id).limit(limit)
    return list(session.scalars(stmt))


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def history(session: Session, customer_id: int) -> list[CustomerChangeRow]:
    get(session, customer_id)
    stmt = (
        select(CustomerChangeRow)
        .where(CustomerChangeRow.customer_id == customer_id)
        .order_by(CustomerChangeRow.id)
    )
    return list(session.scalars(stmt))
