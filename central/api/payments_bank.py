"""``/api/v1/payments``: the bank-notification webhook, statement and VNPay report imports,
daily reconciliation, the exceptions queue and collection reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from central.api.deps import ClockDep, EngineDep, SessionDep
from central.api.types import DayPath, DayQuery, IdPath
from central.auth import PrincipalDep, Role, allow, public
from central.payments import (
    bank,
    exceptions,
    reconcile,
    rejections,
    remittance,
    reports,
    statements,
)
from central.payments.errors import Invalid
from central.payments.idempotency import writer
from central.settings import BankSettings
from central.types import Day, Id

router = APIRouter(prefix="/payments", tags=["payments: bank and reconciliation"])
OPS = allow(Role.OPERATOR)
READ = allow(Role.OPERATOR, Role.AUDITOR, Role.BILLING_CLERK)
MAX_FILE = 200 * 1024 * 1024


class TransferIn(BaseModel):
    """One credited (or debited) transfer as SePay-style services post it."""

    id: int | str
    gateway: str = ""
    transactionDate: str
    accountNumber: str = ""
    content: str = Field(default="", max_length=1000)
    transferType: Literal["in", "out"]
    transferAmount: int = Field(gt=0)
    referenceCode: str = ""


class ResolveIn(BaseModel):
    action: Literal["assign", "refund", "write_off", "bank_error", "confirm"]
    customer_id: Id | None = None
    note: str = Field(default="", max_length=300)


@router.post("/bank/webhook", dependencies=[public()])
async def bank_webhook(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    authorization: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
    x_timestamp: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """A credited transfer, authenticated by API key or HMAC; once per bank reference."""
    raw = await request.body()
    settings: BankSettings = request.app.state.payments.bank
    try:
        bank.check_auth(
            raw=raw,
            authorization=authorization,
            signature=x_signature,
            timestamp=x_timestamp,
            api_key=settings.api_key.get_secret_value(),
            hmac_secret=settings.hmac_secret.get_secret_value(),
            now=clock(),
        )
    except bank.WebhookAuthError as exc:
        rejections.reject(engine, "bank", str(exc), raw.decode(errors="replace"), now=clock())
        return JSONResponse({"success": False, "detail": str(exc)}, status_code=401)
    try:
        t = TransferIn.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        detail = f"bad transfer: {exc}"[:500]
        rejections.reject(engine, "bank", detail[:200], raw.decode(errors="replace"), now=clock())
        return JSONResponse({"success": False, "detail": detail}, 422)
    if t.transferType == "out":
        return JSONResponse({"success": True, "ignored": "outgoing transfer"})
    try:
        local = datetime.strptime(t.transactionDate, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        detail = f"transactionDate {t.transactionDate!r} is not YYYY-MM-DD HH:MM:SS"
        rejections.reject(engine, "bank", detail, raw.decode(errors="replace"), now=clock())
        return JSONResponse({"success": False, "detail": detail}, 422)
    paid_at = local.replace(tzinfo=UTC) - reconcile.LOCAL
    with writer(engine) as session:
        row, new = bank.book_transfer(
            session,
            ref=t.referenceCode or f"sepay:{t.id}",
            amount=t.transferAmount,
            content=t.content,
            paid_at=paid_at,
            by=f"bank:{t.gateway}",
            clock=clock,
        )
        session.commit()
        return JSONResponse(
            {"success": True, "payment_id": row.id, "new": new, "customer_id": row.customer_id}
        )


@router.post("/bank/statements", status_code=201, dependencies=[OPS])
async def import_statement(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    filename: Annotated[str, Query(min_length=5, max_length=200)],
) -> dict[str, Any]:
    """A bank statement as the raw file (CSV, XLSX or camt.053 XML, named by ``filename``)."""
    data = await request.body()
    if not data or len(data) > MAX_FILE:
        raise Invalid("file", f"{filename}: empty or larger than {MAX_FILE} bytes")
    lines = statements.parse(data, filename)
    r = reconcile.import_bank_statement(engine, lines, by=principal.name, clock=clock)
    return {
        "import_id": r.import_id,
        "lines": r.lines,
        "new_lines": r.new_lines,
        "booked": r.booked,
    }


@router.post("/vnpay/reports", status_code=201, dependencies=[OPS])
async def import_vnpay_report(
    request: Request, engine: EngineDep, clock: ClockDep
) -> dict[str, int]:
    """VNPay's daily transaction report (CSV) for reconciliation."""
    lines = reconcile.parse_vnpay_report(await request.body())
    with writer(engine) as session:
        stored = reconcile.store_lines(session, "vnpay", lines, import_id="vnpay", now=clock())
        session.commit()
    return {"lines": len(lines), "new_lines": sum(1 for _, new in stored if new)}


@router.post("/reconciliation/{channel}/{day}", dependencies=[OPS])
def reconcile_day(
    engine: EngineDep,
    clock: ClockDep,
    channel: Literal["bank", "vnpay"],
    day: DayPath,
    tolerance: Annotated[int, Query(ge=0, le=10**9, description="VND")] = 0,
    window: Annotated[int, Query(ge=0, le=31, description="days")] = 2,
) -> dict[str, Any]:
    return reconcile.reconcile_day(
        engine, channel, day, clock=clock, tolerance=tolerance, window=window
    )


@router.get("/exceptions", dependencies=[READ])
def open_exceptions(session: SessionDep) -> list[dict[str, Any]]:
    return [exceptions.view(e) for e in exceptions.open_items(session)]


@router.post("/exceptions/{exception_id}/resolve", dependencies=[OPS])
def resolve_exception(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    exception_id: IdPath,
    body: ResolveIn,
) -> dict[str, Any]:
    with writer(engine) as session:
        row = exceptions.resolve(
            session,
            exception_id,
            body.action,
            by=principal.name,
            note=body.note,
            clock=clock,
            customer_id=body.customer_id,
        )
        session.commit()
        return exceptions.view(row)


@router.get(
    "/reports/collections",
    dependencies=[READ],
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                reports.XLSX: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def collections_report(
    session: SessionDep,
    clock: ClockDep,
    start: DayQuery,
    end: DayQuery,
    format: Literal["json", "xlsx"] = "json",
) -> Response:
    report = reports.build(session, start, end, now=clock())
    if format == "xlsx":
        return Response(
            reports.to_xlsx(report),
            media_type=reports.XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="collections-{start}-{end}.xlsx"'
            },
        )
    return JSONResponse(report)


class RemittanceIn(BaseModel):
    cashier: str = Field(min_length=1, max_length=100, description="as in payments' taken_by")
    day: Day
    deposited: int = Field(ge=0, le=10**13)
    note: str = Field(default="", max_length=300)


@router.post("/remittances", status_code=201, dependencies=[OPS])
def record_remittance(
    engine: EngineDep, clock: ClockDep, principal: PrincipalDep, body: RemittanceIn
) -> dict[str, Any]:
    """What a cashier handed in for a day (the deposit slip or the cash count)."""
    with writer(engine) as session:
        remittance.record(
            session,
            body.cashier,
            body.day,
            body.deposited,
            by=principal.name,
            note=body.note,
            clock=clock,
        )
        session.commit()
        return next(
            r for r in remittance.day_view(session, body.day) if r["cashier"] == body.cashier
        )


@router.get("/remittances", dependencies=[READ])
def remittances(session: SessionDep, day: DayQuery) -> list[dict[str, Any]]:
    return remittance.day_view(session, day)


@router.get("/rejections", dependencies=[READ])
def rejected_callbacks(session: SessionDep) -> list[dict[str, Any]]:
    """Provider callbacks refused at the door, counted by channel and reason."""
    return rejections.counts(session)
