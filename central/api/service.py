"""``/api/v1``: applications, fault reports, work orders and outages.

Anyone may apply, report a fault, track an application by kind and number, and read current
outages (rate-limited per caller); staff handle the rest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response, status

from central.api.deps import ClockDep, OperatorDep, SessionDep
from central.api.headers import attachment
from central.api.types import FileNameQuery, MediaTypeQuery
from central.auth import Role, allow, public
from central.channels.lookup import RateLimiter
from central.notify import subscriptions
from central.records import filetypes
from central.service import outages, requests, workorders
from central.service.schemas import (
    ApplicationIn,
    ApplicationKind,
    ApplicationOut,
    ApplicationStateIn,
    FaultIn,
    FaultOut,
    OutageIn,
    OutageOut,
    WorkEventOut,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["customer service"])
WORK_FILES = frozenset({filetypes.JPEG, filetypes.PNG, filetypes.PDF})
STAFF = allow(Role.OPERATOR)
READERS = allow(Role.OPERATOR, Role.AUDITOR, Role.BILLING_CLERK)
Number = Annotated[str, Query(min_length=1, max_length=32)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
DocNo = Annotated[str, Path(min_length=1, max_length=32)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _throttle(request: Request) -> None:
    limiter = getattr(request.app.state, "submit_limiter", None)
    if limiter is None:
        limiter = request.app.state.submit_limiter = RateLimiter(rate=10, burst=5)
    caller = request.client.host if request.client else "unknown"
    if not limiter.allow(caller):
        raise HTTPException(429, "too many submissions; try again in a minute")


def _order(session: SessionDep, row: object) -> WorkOrderOut:
    out = WorkOrderOut.model_validate(row)
    out.events = [WorkEventOut.model_validate(e) for e in workorders.events(session, out.id)]
    return out


@router.post("/applications", status_code=201, dependencies=[public()])
def submit_application(
    request: Request, session: SessionDep, clock: ClockDep, body: ApplicationIn
) -> ApplicationOut:
    _throttle(request)
    row = requests.submit_application(session, body, clock=clock)
    session.commit()
    return ApplicationOut.model_validate(row)


@router.get("/applications/track", dependencies=[public()])
def track_application(session: SessionDep, kind: ApplicationKind, number: Number) -> ApplicationOut:
    """Seed 000's "theo dõi hồ sơ": the state of an application, by its kind and number."""
    return ApplicationOut.model_validate(requests.application(session, number, kind=kind))


@router.post("/applications/{number}/state", dependencies=[STAFF])
def move_application(
    session: SessionDep, clock: ClockDep, number: DocNo, body: ApplicationStateIn
) -> ApplicationOut:
    row = requests.move_application(session, number, body, clock=clock)
    session.commit()
    return ApplicationOut.model_validate(row)


@router.post("/fault-reports", status_code=201, dependencies=[public()])
def report_fault(request: Request, session: SessionDep, clock: ClockDep, body: FaultIn) -> FaultOut:
    _throttle(request)
    row = requests.report_fault(session, body, clock=clock)
    session.commit()
    return FaultOut.model_validate(row)


@router.post("/work-orders", status_code=201, dependencies=[STAFF])
def create_work_order(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, body: WorkOrderIn
) -> WorkOrderOut:
    row = workorders.create(session, body, by=operator, clock=clock)
    session.commit()
    return _order(session, row)


@router.get("/work-orders", dependencies=[READERS])
def list_work_orders(
    session: SessionDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[WorkOrderOut]:
    rows = workorders.listing(session, state=state, assignee=assignee, limit=limit, offset=offset)
    return [_order(session, r) for r in rows]


@router.get("/work-orders/{number}", dependencies=[READERS])
def get_work_order(session: SessionDep, number: DocNo) -> WorkOrderOut:
    return _order(session, workorders.get(session, number))


@router.patch("/work-orders/{number}", dependencies=[STAFF])
def update_work_order(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    number: DocNo,
    body: WorkOrderUpdate,
) -> WorkOrderOut:
    row = workorders.update(session, number, body, by=operator, clock=clock)
    session.commit()
    return _order(session, row)


@router.post("/work-orders/{number}/files", status_code=201, dependencies=[STAFF])
def attach_work_order_file(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    number: DocNo,
    filename: FileNameQuery,
    data: Annotated[bytes, Body(media_type="application/octet-stream")],
    content_type: MediaTypeQuery = None,
) -> dict[str, int]:
    """A photo or PDF of the work, checked by its content (the claimed type must match)."""
    media = filetypes.checked(data, content_type, WORK_FILES, field="data")
    row = workorders.attach(
        session,
        number,
        filename=filename,
        content_type=media,
        data=data,
        by=operator,
        clock=clock,
    )
    session.commit()
    return {"id": row.id}


@router.get("/work-orders/{number}/files/{file_id}", dependencies=[READERS])
def get_work_order_file(session: SessionDep, number: DocNo, file_id: Id) -> Response:
    row = workorders.file(session, number, file_id)
    return attachment(row.data, media_type=row.content_type, filename=row.filename)


@router.get("/customers/{customer_id}/work-orders", dependencies=[READERS])
def customer_work_orders(session: SessionDep, customer_id: Id) -> list[WorkOrderOut]:
    return [_order(session, r) for r in workorders.of_customer(session, customer_id)]


@router.post("/outages", status_code=status.HTTP_201_CREATED, dependencies=[STAFF])
def announce_outage(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, body: OutageIn
) -> OutageOut:
    row = outages.announce(session, body, by=operator, clock=clock)
    session.commit()
    return OutageOut.model_validate(row)


@router.post("/outages/{outage_id}/restore", dependencies=[STAFF])
def restore_outage(session: SessionDep, clock: ClockDep, outage_id: Id) -> OutageOut:
    row = outages.restore(session, outage_id, clock=clock)
    session.commit()
    return OutageOut.model_validate(row)


@router.post("/outages/{outage_id}/cancel", dependencies=[STAFF])
def cancel_outage(session: SessionDep, outage_id: Id) -> OutageOut:
    row = outages.cancel(session, outage_id)
    session.commit()
    return OutageOut.model_validate(row)


@router.get("/outages", dependencies=[public()])
def current_outages(session: SessionDep, clock: ClockDep) -> list[OutageOut]:
    """Outages announced and not ended, for anyone (they are public notices)."""
    return [OutageOut.model_validate(o) for o in outages.current(session, now=clock())]


@router.post("/customers/{customer_id}/subscriptions", status_code=201, dependencies=[STAFF])
def subscribe(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    customer_id: Id,
    body: subscriptions.SubscriptionIn,
) -> subscriptions.SubscriptionOut:
    row = subscriptions.subscribe(session, customer_id, body, by=operator, clock=clock)
    session.commit()
    return subscriptions.SubscriptionOut.model_validate(row)


@router.get("/customers/{customer_id}/subscriptions", dependencies=[READERS])
def list_subscriptions(session: SessionDep, customer_id: Id) -> list[subscriptions.SubscriptionOut]:
    rows = subscriptions.of_customer(session, customer_id)
    return [subscriptions.SubscriptionOut.model_validate(r) for r in rows]


@router.delete(
    "/customers/{customer_id}/subscriptions/{subscription_id}",
    status_code=204,
    dependencies=[STAFF],
)
def unsubscribe(session: SessionDep, customer_id: Id, subscription_id: Id) -> Response:
    subscriptions.unsubscribe(session, customer_id, subscription_id)
    session.commit()
    return Response(status_code=204)
