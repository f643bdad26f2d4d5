"""``/api/v1/billing`` and ``/api/v1/bills``: runs with progress, bill states, adjustments,
cancel and rebill, a customer's last bills and consumption, VEE on demand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, BackgroundTasks, Header, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.api.deps import (
    CatalogDep,
    ClockDep,
    EngineDep,
    OperatorDep,
    SessionDep,
    require_account,
)
from central.api.types import IdPath, KeyPath, Last12
from central.auth import PrincipalDep, Role, allow
from central.auth.roles import STAFF
from central.billing import bills, runs
from central.db.models.billing import BillingSkipRow, BillRow
from central.db.models.records import CustomerRow, RouteRow, StationRow
from central.payments import counter, idempotency
from central.records import customers
from central.records.errors import Invalid
from central.tariffs.catalog import Catalog
from central.types import Amount, Code, Day, Reason
from central.vee import service as vee

router = APIRouter(tags=["billing"])
log = structlog.get_logger(__name__)


class RunIn(BaseModel):
    period_start: Day
    period_end: Day
    route_code: Code | None = None
    station_code: Code | None = None
    chunk_size: int = Field(default=2000, ge=1, le=100_000)


class ProgressOut(BaseModel):
    run_id: int
    status: str
    chunks: int
    chunks_done: int
    accounts: int
    accounts_done: int
    bills: int
    skipped: int
    failed: int
    errors: list[str]
    percent: float


class BillOut(BaseModel):
    id: int
    run_id: int | None
    customer_id: int
    account_no: str
    tariff_code: str
    period_start: date
    period_end: date
    meter_id: str
    previous_index: float
    current_index: float
    consumption: float
    estimated: bool
    flags: list[str]
    lines: list[dict[str, Any]]
    subtotal: int
    tax_total: int
    total: int
    balance: int
    currency: str
    state: str
    replaces_id: int | None
    cancel_reason: str
    adjustments: list[dict[str, Any]]


class ReasonIn(BaseModel):
    reason: Reason


class AdjustIn(ReasonIn):
    amount: Amount
    kind: Literal["adjustment", "credit_note"] = "adjustment"


def _progress(p: runs.Progress) -> ProgressOut:
    pct = 100.0 * p.accounts_done / p.accounts if p.accounts else 100.0
    fields = {**p.__dict__, "errors": list(p.errors)}
    return ProgressOut(**fields, percent=round(pct, 1))


def _bill(session: SessionDep, b: BillRow) -> BillOut:
    adj = [
        {
            "kind": a.kind,
            "amount": a.amount,
            "reason": a.reason,
            "by": a.created_by,
            "at": _iso(a.created_at),
        }
        for a in bills.adjustments(session, b.id)
    ]
    return BillOut(
        id=b.id,
        run_id=b.run_id,
        customer_id=b.customer_id,
        account_no=b.account_no,
        tariff_code=b.tariff_code,
        period_start=b.period_start,
        period_end=b.period_end,
        meter_id=b.meter_id,
        previous_index=b.previous_index,
        current_index=b.current_index,
        consumption=b.consumption,
        estimated=b.estimated,
        flags=[f for f in b.flags.split(",") if f],
        lines=json.loads(b.lines_json),
        subtotal=b.subtotal,
        tax_total=b.tax_total,
        total=b.total,
        balance=bills.balance(session, b),
        currency=b.currency,
        state=b.state,
        replaces_id=b.replaces_id,
        cancel_reason=b.cancel_reason,
        adjustments=adj,
    )


def _work(request: Request, run_id: int, catalog: Catalog) -> None:
    try:
        runs.work(request.app.state.engine, run_id, catalog, clock=request.app.state.clock)
    except Exception as exc:  # noqa: BLE001  (a background task has no caller: log it; resumable)
        log.error("billing.run_failed", run=run_id, error=repr(exc))


@router.post(
    "/billing/runs", status_code=status.HTTP_202_ACCEPTED, dependencies=[allow(Role.BILLING_CLERK)]
)
def start_run(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    catalog: CatalogDep,
    body: RunIn,
    background: BackgroundTasks,
) -> ProgressOut:
    """Create a run and bill it in the background; poll ``GET /billing/runs/{id}``."""
    route_id = station_id = None
    if body.route_code:
        route_id = session.scalar(select(RouteRow.id).where(RouteRow.code == body.route_code))
        if route_id is None:
            raise Invalid("route_code", f"no route {body.route_code!r}")
    if body.station_code:
        station_id = session.scalar(
            select(StationRow.id).where(StationRow.code == body.station_code)
        )
        if station_id is None:
            raise Invalid("station_code", f"no station {body.station_code!r}")
    if route_id is not None and station_id is not None:
        raise Invalid("station_code", "give a route or a station, not both")
    unfinished = runs.find_unfinished(
        session, body.period_start, body.period_end, route_id=route_id, station_id=station_id
    )
    if unfinished is not None:  # the same run again: resume it rather than start a second
        background.add_task(_work, request, unfinished, catalog)
        return _progress(runs.progress(session, unfinished))
    run = runs.create_run(
        session,
        body.period_start,
        body.period_end,
        clock=clock,
        route_id=route_id,
        station_id=station_id,
        chunk_size=body.chunk_size,
    )
    background.add_task(_work, request, run.id, catalog)
    return _progress(runs.progress(session, run.id))


@router.get("/billing/runs/{run_id}", dependencies=[allow(Role.BILLING_CLERK, Role.AUDITOR)])
def run_progress(session: SessionDep, run_id: IdPath) -> ProgressOut:
    return _progress(runs.progress(session, run_id))


@router.post(
    "/billing/runs/{run_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def resume_run(
    request: Request,
    session: SessionDep,
    catalog: CatalogDep,
    run_id: IdPath,
    background: BackgroundTasks,
) -> ProgressOut:
    runs.progress(session, run_id)  # NotFound for an unknown run
    runs.retry_failed(session, run_id)
    progress = runs.progress(session, run_id)
    background.add_task(_work, request, run_id, catalog)
    return _progress(progress)


@router.get(
    "/billing/runs/{run_id}/skipped", dependencies=[allow(Role.BILLING_CLERK, Role.AUDITOR)]
)
def run_skipped(session: SessionDep, run_id: IdPath) -> list[dict[str, object]]:
    runs.progress(session, run_id)
    rows = session.execute(
        select(BillingSkipRow.customer_id, CustomerRow.account_no, BillingSkipRow.reason)
        .outerjoin(CustomerRow, CustomerRow.id == BillingSkipRow.customer_id)
        .where(BillingSkipRow.run_id == run_id)
        .order_by(BillingSkipRow.customer_id)
    ).all()
    return [{"customer_id": c, "account_no": a, "reason": r} for c, a, r in rows]


@router.post("/billing/runs/{run_id}/issue", dependencies=[allow(Role.BILLING_CLERK)])
def issue_run(session: SessionDep, clock: ClockDep, run_id: IdPath) -> dict[str, int]:
    runs.progress(session, run_id)
    count = bills.issue_run(session, run_id, clock=clock)
    session.commit()
    return {"issued": count}


@router.get(
    "/bills/{bill_id}",
    dependencies=[allow(Role.BILLING_CLERK, Role.CASHIER, Role.AUDITOR, Role.CUSTOMER)],
)
def get_bill(session: SessionDep, principal: PrincipalDep, bill_id: IdPath) -> BillOut:
    bill = bills.get(session, bill_id)
    require_account(session, principal, bill.customer_id)
    return _bill(session, bill)


@router.post("/bills/{bill_id}/issue", dependencies=[allow(Role.BILLING_CLERK)])
def issue_bill(session: SessionDep, clock: ClockDep, bill_id: IdPath) -> BillOut:
    b = bills.issue(session, bill_id, clock=clock)
    session.commit()
    return _bill(session, b)


class PayIn(BaseModel):
    amount: int = Field(gt=0, le=10**12)
    method: Literal["cash", "card", "bank_slip"]
    reference: str = Field(default="", max_length=100)


@router.post(
    "/bills/{bill_id}/pay",
    dependencies=[allow(Role.CASHIER, Role.OPERATOR, Role.BILLING_CLERK)],
)
def pay_bill(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    bill_id: IdPath,
    body: PayIn,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """A counter payment on this bill, through the ledger (any excess stays as credit)."""
    k = idempotency.check_key(key)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        counter.pay(session, key=k, bill_id=bill_id, taken_by=principal.name, clock=clock,
                    **body.model_dump())  # fmt: skip
        session.flush()
        return 200, _bill(session, bills.get(session, bill_id)).model_dump(mode="json")

    params = {"bill_id": bill_id, **body.model_dump()}
    result = idempotency.run(engine, "bill-pay", k, params, work, clock=clock)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.post("/bills/{bill_id}/cancel", dependencies=[allow(Role.BILLING_CLERK)])
def cancel_bill(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, bill_id: IdPath, body: ReasonIn
) -> BillOut:
    b = bills.cancel(session, bill_id, reason=body.reason, by=operator, clock=clock)
    session.commit()
    return _bill(session, b)


@router.post(
    "/bills/{bill_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def adjust_bill(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, bill_id: IdPath, body: AdjustIn
) -> BillOut:
    bills.adjust(
        session, bill_id, body.amount, kind=body.kind, reason=body.reason, by=operator, clock=clock
    )
    session.commit()
    return _bill(session, bills.get(session, bill_id))


@router.post(
    "/bills/{bill_id}/rebill",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def rebill(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    catalog: CatalogDep,
    bill_id: IdPath,
    body: ReasonIn,
) -> BillOut:
    new = bills.rebill(session, bill_id, catalog, reason=body.reason, by=operator, clock=clock)
    session.commit()
    return _bill(session, new)


@router.get(
    "/customers/{customer_id}/bills",
    dependencies=[allow(Role.BILLING_CLERK, Role.CASHIER, Role.AUDITOR, Role.CUSTOMER)],
)
def customer_bills(
    session: SessionDep, principal: PrincipalDep, customer_id: IdPath, n: Last12 = 12
) -> list[BillOut]:
    require_account(session, principal, customer_id)
    customers.get(session, customer_id)
    return [_bill(session, b) for b in bills.last_bills(session, customer_id, n=n)]


@router.get("/customers/{customer_id}/consumption", dependencies=[allow(*STAFF, Role.CUSTOMER)])
def customer_consumption(
    session: SessionDep, principal: PrincipalDep, customer_id: IdPath, n: Last12 = 24
) -> list[dict[str, Any]]:
    require_account(session, principal, customer_id)
    customers.get(session, customer_id)
    return [p.__dict__ for p in bills.consumption_history(session, customer_id, n=n)]


@router.post("/customers/{customer_id}/correct-estimates", dependencies=[allow(Role.BILLING_CLERK)])
def correct_estimates(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    catalog: CatalogDep,
    customer_id: IdPath,
) -> list[dict[str, int]]:
    customers.get(session, customer_id)
    pairs = vee.correct_estimates(session, customer_id, catalog, by=operator, clock=clock)
    session.commit()
    return [{"cancelled": a, "new": b} for a, b in pairs]


@router.post("/meters/{meter_id}/validate", dependencies=[allow(Role.BILLING_CLERK, Role.OPERATOR)])
def validate_meter(session: SessionDep, clock: ClockDep, meter_id: KeyPath) -> list[dict[str, Any]]:
    flags = vee.validate_meter(session, meter_id, clock=clock)
    session.commit()
    return [
        {"reading_id": f.reading_id, "ts": _iso(f.ts), "flag": f.flag, "detail": f.detail}
        for f in flags
    ]


def _iso(ts: datetime) -> str:
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).isoformat()
