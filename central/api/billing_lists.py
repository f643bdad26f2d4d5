"""``/api/v1`` lists of bills and billing runs, and a run's bills and skips as Excel. Lists
page with ``limit``/``offset``, sort with ``sort`` and give the total in ``X-Total-Count``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from central.api.billing import BillOut, ProgressOut, _bill, _progress
from central.api.deps import SessionDep
from central.api.headers import file_responses
from central.auth import Role, allow
from central.billing import lists, runs
from central.records.listing import MAX_LIMIT, PageQuery

router = APIRouter(tags=["billing"])
CLERKS = (Role.BILLING_CLERK, Role.AUDITOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOTAL = "X-Total-Count"
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/bills", dependencies=[allow(*CLERKS, Role.CASHIER)])
def list_bills(
    session: SessionDep,
    response: Response,
    run_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    period_start: date | None = None,
    period_end: date | None = None,
    route_code: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "id",
) -> list[BillOut]:
    """Bills by run, period, the customer's route, state or customer."""
    found = lists.bills(
        session,
        PageQuery(limit, offset, sort),
        run_id=run_id,
        period_start=period_start,
        period_end=period_end,
        route_code=route_code,
        state=state,
        customer_id=customer_id,
    )
    response.headers[TOTAL] = str(found.total)
    return [_bill(session, b) for b in found.rows]


@router.get("/billing/runs", dependencies=[allow(*CLERKS)])
def list_runs(
    session: SessionDep,
    response: Response,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "-id",
) -> list[ProgressOut]:
    """Billing runs with their progress, newest first by default."""
    found = lists.run_list(session, PageQuery(limit, offset, sort), status=status)
    response.headers[TOTAL] = str(found.total)
    return [_progress(runs.progress(session, rid)) for rid in found.rows]


@router.get(
    "/billing/runs/{run_id}/export",
    dependencies=[allow(*CLERKS)],
    responses=file_responses(XLSX),
)
def export_run(session: SessionDep, run_id: RunId) -> Response:
    """The run's bills and skips (with reasons) as an .xlsx, to check before issuing."""
    return Response(
        lists.export_run(session, run_id),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="billing-run-{run_id}.xlsx"'},
    )
