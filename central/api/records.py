"""``/api/v1``: utilities, stations and routes, customers, meters, contracts, Excel."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from central.api.deps import CatalogDep, ClockDep, OperatorDep, SessionDep, require_account
from central.api.headers import attachment, file_responses
from central.api.types import (
    CodePath,
    CodeQuery,
    FileNameQuery,
    IdPath,
    KeyPath,
    MediaTypeQuery,
)
from central.auth import PrincipalDep, Role, allow
from central.auth.roles import STAFF
from central.db.models.records import RouteRow
from central.records import contracts, customers, excel, lists, meters, routes
from central.records.errors import NotFound
from central.records.filetypes import CONTRACT_FILES
from central.records.listing import MAX_LIMIT, PageQuery
from central.records.schemas import (
    ChangeOut,
    ContractIn,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    ExchangeIn,
    MeterIn,
    MeterOut,
    PremiseIn,
    RouteIn,
    ScheduleOut,
    StationIn,
    UtilityIn,
)
from central.types import LINE, Day

router = APIRouter(tags=["records"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RawBody = Annotated[bytes, Body(media_type="application/octet-stream")]


class Created(BaseModel):
    id: int


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    number: str
    signed_on: date | None
    status: str
    note: str


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    content_type: str


MAX_ROW_ERRORS = 1000  # listed in an import's answer; ``error_count`` has them all


class ImportReport(BaseModel):
    committed: bool
    created: int
    updated: int
    errors: list[dict[str, object]]
    error_count: int


class PlanIn(BaseModel):
    start: Day
    months: int = Field(default=12, ge=1, le=120)


@router.post("/utilities", status_code=status.HTTP_201_CREATED, dependencies=[allow()])
def add_utility(session: SessionDep, body: UtilityIn) -> UtilityIn:
    customers.add_utility(session, body)
    session.commit()
    return body


@router.post("/stations", status_code=status.HTTP_201_CREATED, dependencies=[allow(Role.OPERATOR)])
def add_station(session: SessionDep, body: StationIn) -> Created:
    row = routes.add_station(session, body)
    session.commit()
    return Created(id=row.id)


@router.post("/premises", status_code=status.HTTP_201_CREATED, dependencies=[allow(Role.OPERATOR)])
def add_premise(session: SessionDep, body: PremiseIn) -> Created:
    row = routes.add_premise(session, body)
    session.commit()
    return Created(id=row.id)


@router.post("/routes", status_code=status.HTTP_201_CREATED, dependencies=[allow(Role.OPERATOR)])
def add_route(session: SessionDep, body: RouteIn) -> Created:
    row = routes.add_route(session, body)
    session.commit()
    return Created(id=row.id)


@router.post(
    "/routes/{code}/schedule",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.OPERATOR)],
)
def plan_route(session: SessionDep, code: CodePath, body: PlanIn) -> list[date]:
    rows = routes.plan(session, _route(session, code), body.start, body.months)
    session.commit()
    return [r.scheduled_on for r in rows]


@router.post(
    "/routes/{code}/schedule/{scheduled_on}/done",
    dependencies=[allow(Role.OPERATOR, Role.METER_READER)],
)
def route_read(
    session: SessionDep,
    clock: ClockDep,
    code: CodePath,
    scheduled_on: date,
    read_on: date | None = None,
) -> ScheduleOut:
    """Mark a planned reading done, on ``read_on`` (default: the planned date itself)."""
    route = _route(session, code)
    routes.mark_read(session, route, scheduled_on, read_on or scheduled_on)
    session.commit()
    return routes.schedule(session, route, clock().date())


@router.get("/routes/{code}/schedule", dependencies=[allow(*STAFF)])
def route_schedule(session: SessionDep, clock: ClockDep, code: CodePath) -> ScheduleOut:
    return routes.schedule(session, _route(session, code), clock().date())


def _route(session: SessionDep, code: str) -> RouteRow:
    route = routes.by_code(session, code)
    assert route is not None  # by_code raises NotFound otherwise
    return route


@router.post(
    "/customers",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK, Role.OPERATOR)],
)
def create_customer(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    catalog: CatalogDep,
    body: CustomerIn,
) -> CustomerOut:
    row = customers.create(session, body, by=operator, clock=clock, tariffs=catalog)
    session.commit()
    return CustomerOut.model_validate(row)


@router.get(
    "/customers",
    dependencies=[allow(Role.BILLING_CLERK, Role.OPERATOR, Role.CASHIER, Role.AUDITOR)],
)
def search_customers(
    session: SessionDep,
    response: Response,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=LINE)] = None,
    utility: Annotated[str | None, Query(max_length=32, pattern=LINE)] = None,
    route_code: Annotated[str | None, Query(max_length=32, pattern=LINE)] = None,
    status: Annotated[str | None, Query(max_length=16, pattern=LINE)] = None,
    tariff_code: Annotated[str | None, Query(max_length=64, pattern=LINE)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40, pattern=LINE)] = "id",
) -> list[CustomerOut]:
    """Customers, searched (``q``: account, phone or words of name and address, accents and
    case folded) and filtered; paged, the total in ``X-Total-Count``."""
    found = lists.customers(
        session,
        PageQuery(limit, offset, sort),
        q=q,
        utility=utility,
        route_code=route_code,
        status=status,
        tariff_code=tariff_code,
    )
    response.headers["X-Total-Count"] = str(found.total)
    return [CustomerOut.model_validate(r) for r in found.rows]


@router.get(
    "/customers/export",
    responses=file_responses(XLSX),
    dependencies=[allow(Role.BILLING_CLERK, Role.AUDITOR)],
)
def export_customers(session: SessionDep, utility: CodeQuery) -> Response:
    data = excel.export_customers(session, utility)
    return attachment(data, media_type=XLSX, filename=f"{utility}.xlsx")


@router.post("/customers/import", dependencies=[allow(Role.BILLING_CLERK)])
def import_customers(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    catalog: CatalogDep,
    utility: CodeQuery,
    data: RawBody,
    mode: Literal["all_or_nothing", "good_rows"] = "all_or_nothing",
    existing: Literal["refuse", "update"] = "refuse",
) -> ImportReport:
    """Import customers (with their meters); an existing account is updated only with
    ``existing=update``, every change audited under the operator."""
    result = excel.import_customers(
        session,
        data,
        utility_code=utility,
        mode=mode,
        existing=existing,
        by=operator,
        clock=clock,
        tariffs=catalog,
    )
    return ImportReport(
        committed=result.committed,
        created=result.created,
        updated=result.updated,
        errors=[
            {"row": e.row, "column": e.column, "reason": e.reason[:300]}
            for e in result.errors[:MAX_ROW_ERRORS]
        ],
        error_count=len(result.errors),
    )


@router.get("/customers/{customer_id}", dependencies=[allow(*STAFF, Role.CUSTOMER)])
def get_customer(session: SessionDep, principal: PrincipalDep, customer_id: IdPath) -> CustomerOut:
    require_account(session, principal, customer_id)
    return CustomerOut.model_validate(customers.get(session, customer_id))


@router.patch("/customers/{customer_id}", dependencies=[allow(Role.BILLING_CLERK, Role.OPERATOR)])
def update_customer(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    catalog: CatalogDep,
    customer_id: IdPath,
    body: CustomerPatch,
) -> CustomerOut:
    row = customers.update(session, customer_id, body, by=operator, clock=clock, tariffs=catalog)
    session.commit()
    return CustomerOut.model_validate(row)


@router.get(
    "/customers/{customer_id}/history",
    dependencies=[allow(Role.BILLING_CLERK, Role.OPERATOR, Role.AUDITOR)],
)
def customer_history(session: SessionDep, customer_id: IdPath) -> list[ChangeOut]:
    return [ChangeOut.model_validate(r) for r in customers.history(session, customer_id)]


@router.get("/customers/{customer_id}/meters", dependencies=[allow(*STAFF, Role.CUSTOMER)])
def customer_meters(
    session: SessionDep, principal: PrincipalDep, customer_id: IdPath
) -> list[MeterOut]:
    require_account(session, principal, customer_id)
    customers.get(session, customer_id)
    return [MeterOut.model_validate(m) for m in meters.of_customer(session, customer_id)]


@router.post("/meters", status_code=status.HTTP_201_CREATED, dependencies=[allow(Role.OPERATOR)])
def create_meter(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, catalog: CatalogDep, body: MeterIn
) -> MeterOut:
    row = meters.create(session, body, tariffs=catalog, by=operator, clock=clock)
    session.commit()
    return MeterOut.model_validate(row)


@router.get("/meters/{meter_id}", dependencies=[allow(*STAFF)])
def get_meter(session: SessionDep, meter_id: KeyPath) -> MeterOut:
    row = meters.by_meter_id(session, meter_id)
    if row is None:
        raise NotFound(f"no meter {meter_id!r}")
    return MeterOut.model_validate(row)


@router.put("/meters/{meter_id}", dependencies=[allow(Role.OPERATOR)])
def update_meter(
    session: SessionDep, clock: ClockDep, operator: OperatorDep, meter_id: KeyPath, body: MeterIn
) -> MeterOut:
    row = meters.update(session, meter_id, body, by=operator, clock=clock)
    session.commit()
    return MeterOut.model_validate(row)


@router.post(
    "/meters/{meter_id}/exchange",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.OPERATOR)],
)
def exchange_meter(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    meter_id: KeyPath,
    body: ExchangeIn,
) -> MeterOut:
    row = meters.exchange(session, meter_id, body, by=operator, clock=clock)
    session.commit()
    new = meters.by_meter_id(session, row.new_meter_id)
    return MeterOut.model_validate(new)


@router.post(
    "/customers/{customer_id}/contracts",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def create_contract(session: SessionDep, customer_id: IdPath, body: ContractIn) -> ContractOut:
    row = contracts.create(session, customer_id, body)
    session.commit()
    return ContractOut.model_validate(row)


@router.post(
    "/contracts/{contract_id}/files",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def attach_file(
    session: SessionDep,
    clock: ClockDep,
    contract_id: IdPath,
    filename: FileNameQuery,
    data: RawBody,
    content_type: MediaTypeQuery = None,
) -> FileOut:
    row = contracts.attach(session, contract_id, filename, content_type, data, clock=clock)
    session.commit()
    return FileOut.model_validate(row)


@router.get(
    "/contracts/{contract_id}/files", dependencies=[allow(Role.BILLING_CLERK, Role.AUDITOR)]
)
def list_files(session: SessionDep, contract_id: IdPath) -> list[FileOut]:
    return [FileOut.model_validate(f) for f in contracts.files(session, contract_id)]


@router.get(
    "/contracts/{contract_id}/files/{file_id}",
    responses=file_responses(*sorted(CONTRACT_FILES)),
    dependencies=[allow(Role.BILLING_CLERK, Role.AUDITOR)],
)
def get_file(session: SessionDep, contract_id: IdPath, file_id: IdPath) -> Response:
    row = contracts.file(session, contract_id, file_id)
    return attachment(row.data, media_type=row.content_type, filename=row.filename)
