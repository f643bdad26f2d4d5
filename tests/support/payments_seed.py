"""Accounts with issued bills for payment tests: a migrated database, customers and bills
written straight into the tables (billing itself is tested elsewhere)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow, UtilityRow
from central.records.customers import BEN_THANH

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def add_customer(engine: Engine, n: int) -> int:
    with Session(engine) as s:
        if s.get(UtilityRow, BEN_THANH.code) is None:
            s.add(UtilityRow(**BEN_THANH.model_dump()))
            s.flush()
        row = CustomerRow(
            utility_code=BEN_THANH.code,
            account_no=f"01{n:09d}",
            name=f"Khách hàng {n}",
            tariff_code="hcmc-water-residential",
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(row)
        s.commit()
        return row.id


def add_bill(
    engine: Engine, customer_id: int, total: int, *, month: int, state: str = "issued"
) -> int:
    with Session(engine) as s:
        customer = s.get(CustomerRow, customer_id)
        assert customer is not None
        row = BillRow(
            customer_id=customer_id,
            account_no=customer.account_no,
            tariff_code=customer.tariff_code,
            period_start=date(2025, month, 1),
            period_end=date(2025, month, 28),
            previous_index=0.0,
            current_index=10.0,
            consumption=10.0,
            lines_json="[]",
            subtotal=total,
            tax_total=0,
            total=total,
            currency="VND",
            state=state,
            created_at=NOW,
            issued_at=NOW if state == "issued" else None,
        )
        s.add(row)
        s.commit()
        return row.id
