"""Meters and meter exchanges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerChangeRow, CustomerRow, MeterExchangeRow, MeterRow
from central.records import customers
from central.records.errors import Conflict, Invalid, NotFound
from central.records.schemas import ExchangeIn, MeterIn
from central.tariffs.model import Tariff

Clock = Callable[[], datetime]


def _customer_id(session: Session, data: MeterIn) -> int | None:
    if data.account_no is None:
        return None
    if data.utility_code is None:
        raise Invalid("utility_code", "needed with account_no")
    row = customers.find(session, data.utility_code, data.account_no)
    if row is None:
        raise Invalid("account_no", f"no customer {data.account_no} at {data.utility_code}")
    return row.id


def default_quantity(
    session: Session, customer_id: int | None, tariffs: Mapping[str, Tariff] | None
) -> str:
    """What a meter measures when not told: volume at a water tariff's customer."""
    if customer_id is not None and tariffs is not None:
        code = session.scalar(select(CustomerRow.tariff_code).where(CustomerRow.id == customer_id))
        if code is not None and code in tariffs and tariffs[code].utility == "water":
            return "volume"
    return "energy_import"


def create(
    session: Session,
    data: MeterIn,
    *,
    tariffs: Mapping[str, Tariff] | None = None,
    by: str = "",
    clock: Clock | None = None,
) -> MeterRow:
    """A new meter; installed at a customer, it leaves an ``installation`` history row."""
    if by_meter_id(session, data.meter_id) is not None:
        raise Conflict(f"meter {data.meter_id!r} exists")
    customer_id = _customer_id(session, data)
    fields = data.model_dump(exclude={"account_no", "utility_code", "quantity"})
    quantity = data.quantity or default_quantity(session, customer_id, tariffs)
    row = MeterRow(**fields, quantity=quantity, customer_id=customer_id)
    session.add(row)
    session.flush()
    if customer_id is not None and clock is not None:
        _installed(session, row, by=by, when=clock())
    return row


def _installed(session: Session, meter: MeterRow, *, by: str, when: datetime) -> None:
    assert meter.customer_id is not None
    on = meter.installed_on.isoformat() if meter.installed_on else ""
    session.add(
        CustomerChangeRow(
            customer_id=meter.customer_id,
            field="meter_installed",
            old_value=None,
            new_value=f"{meter.meter_id} ({meter.quantity}){' on ' + on if on else ''}",
            changed_at=when,
            changed_by=by,
            reason="meter installed",
        )
    )


def update(
    session: Session, meter_id: str, data: MeterIn, *, by: str = "", clock: Clock | None = None
) -> MeterRow:
    row = by_meter_id(session, meter_id)
    if row is None:
        raise NotFound(f"no meter {meter_id!r}")
    for field, value in data.model_dump(exclude={"account_no", "utility_code", "meter_id"}).items():
        if field == "quantity" and value is None:
            continue
        setattr(row, field, value)
    if data.account_no is not None:
        customer_id = _customer_id(session, data)
        moved = customer_id != row.customer_id
        row.customer_id = customer_id
        if moved and customer_id is not None and clock is not None:
            _installed(session, row, by=by, when=clock())
    session.flush()
    return row


def by_meter_id(session: Session, meter_id: str) -> MeterRow | None:
    return session.scalar(select(MeterRow).where(MeterRow.meter_id == meter_id))


def of_customer(session: Session, customer_id: int) -> list[MeterRow]:
    stmt = select(MeterRow).where(MeterRow.customer_id == customer_id).order_by(MeterRow.id)
    return list(session.scalars(stmt))


def exchange(
    session: Session, old_meter_id: str, data: ExchangeIn, *, by: str, clock: Clock
) -> MeterExchangeRow:
    """Replace a meter at its customer: the old one's final index and the new one's first
    are kept so a bill across the exchange adds both meters' consumption."""
    old = by_meter_id(session, old_meter_id)
    if old is None:
        raise NotFound(f"no meter {old_meter_id!r}")
    if old.customer_id is None:
        raise Invalid("meter_id", f"meter {old_meter_id!r} is not installed at a customer")
    if old.status != "active":
        raise Conflict(f"meter {old_meter_id!r} is {old.status}")
    new = create(session, data.new)
    new.customer_id = old.customer_id
    new.quantity = data.new.quantity or old.quantity
    old.status = "replaced"
    old.replaced_on = data.exchanged_at.date()
    row = MeterExchangeRow(
        customer_id=old.customer_id,
        old_meter_id=old.meter_id,
        new_meter_id=new.meter_id,
        exchanged_at=data.exchanged_at.astimezone(UTC),
        old_final_value=data.old_final_value,
        new_initial_value=data.new_initial_value,
        installer=data.new.installer,
    )
    session.add(row)
    session.add(
        CustomerChangeRow(
            customer_id=old.customer_id,
            field="meter",
            old_value=old.meter_id,
            new_value=new.meter_id,
            changed_at=clock(),
            changed_by=by,
            reason="meter exchanged",
        )
    )
    session.flush()
    return row
