"""Self-service: ``/api/v1/self`` to register and reset a password (anyone, rate-limited),
``/api/v1/me`` for a customer's bound accounts and what it may read of each."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.api.deps import ClockDep, EngineDep, SessionDep
from central.api.payments import answer
from central.auth import PrincipalDep, Role, allow, public
from central.channels.lookup import RateLimiter
from central.db.models.records import CustomerRow
from central.notify import subscriptions
from central.payments import idempotency, vnpay_orders
from central.selfservice import accounts, otp, views
from central.service import outages
from central.service.schemas import OutageOut

router = APIRouter(prefix="/api/v1", tags=["self-service"])
CUSTOMER = allow(Role.CUSTOMER)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class AccountIn(BaseModel):
    utility: str = Field(min_length=1, max_length=32)
    account_no: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")


class CodeSent(BaseModel):
    token: str
    sent_to: str  # the phone on record, masked


class RegisterIn(BaseModel):
    token: str = Field(min_length=10, max_length=64)
    code: str = Field(pattern=r"^\d{6}$")
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ResetStartIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)


class ResetIn(BaseModel):
    token: str = Field(min_length=10, max_length=64)
    code: str = Field(pattern=r"^\d{6}$")
    new_password: str = Field(min_length=1, max_length=256)


class BindIn(BaseModel):
    token: str = Field(min_length=10, max_length=64)
    code: str = Field(pattern=r"^\d{6}$")


class BoundOut(BaseModel):
    customer_id: int
    account_no: str
    name: str
    address: str
    default: bool


def _throttle(request: Request) -> None:
    limiter = getattr(request.app.state, "self_limiter", None)
    if limiter is None:
        limiter = request.app.state.self_limiter = RateLimiter(rate=10, burst=5)
    if not limiter.allow(request.client.host if request.client else "unknown"):
        raise HTTPException(429, "too many requests; try again in a minute")


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, accounts.NotFound):
        return HTTPException(404, str(exc))
    return HTTPException(422, str(exc))


def _user(principal: PrincipalDep) -> int:
    """The caller's login; self-service acts for a person, not for an API key."""
    if principal.user_id is None:
        raise HTTPException(422, "self-service needs a customer's own login, not an API key")
    return principal.user_id


def _bound(session: SessionDep, principal: PrincipalDep) -> list[int]:
    """The accounts bound to the caller's login (none for an API key)."""
    if principal.user_id is None:
        return []
    return accounts.bound_ids(session, principal.user_id)


def _mine(session: SessionDep, principal: PrincipalDep, customer_id: int) -> CustomerRow:
    if customer_id not in _bound(session, principal):
        raise HTTPException(404, f"account {customer_id} is not bound to you")
    customer = session.get(CustomerRow, customer_id)
    assert customer is not None  # bound rows cascade with their customer
    return customer


@router.post("/self/register/start", dependencies=[public()])
def register_start(
    request: Request, session: SessionDep, clock: ClockDep, body: AccountIn
) -> CodeSent:
    """Name your account (the customer code on the bill); a code goes to its phone."""
    _throttle(request)
    try:
        token = accounts.start_registration(session, body.utility, body.account_no, clock=clock)
        customer = accounts.account(session, body.utility, body.account_no)
    except (accounts.SelfServiceError, otp.OtpError) as exc:
        raise _refused(exc) from exc
    session.commit()
    return CodeSent(token=token, sent_to=otp.mask_phone(customer.phone))


@router.post("/self/register/finish", status_code=201, dependencies=[public()])
def register_finish(session: SessionDep, clock: ClockDep, body: RegisterIn) -> dict[str, str]:
    """Finish with the code (five tries; each start, which costs an SMS, is rate-limited)."""
    try:
        row = accounts.finish_registration(
            session, body.token, body.code, body.login, body.password, clock=clock
        )
    except otp.OtpError as exc:
        session.commit()  # a wrong try counts
        raise _refused(exc) from exc
    except accounts.SelfServiceError as exc:
        session.rollback()  # the code stays good for a second try
        raise _refused(exc) from exc
    session.commit()
    return {"login": row.login}


@router.post("/self/password-reset/start", status_code=202, dependencies=[public()])
def reset_start(
    request: Request, session: SessionDep, clock: ClockDep, body: ResetStartIn
) -> dict[str, str]:
    """A code to the phone of the login's default account. The answer is the same whether
    or not the login exists."""
    _throttle(request)
    try:
        token = accounts.start_reset(session, body.login, clock=clock)
    except (accounts.SelfServiceError, otp.OtpError):
        token = secrets.token_urlsafe(18)  # leads nowhere
    session.commit()
    return {"token": token}


@router.post("/self/password-reset/finish", status_code=204, dependencies=[public()])
def reset_finish(session: SessionDep, clock: ClockDep, body: ResetIn) -> Response:
    try:
        accounts.finish_reset(session, body.token, body.code, body.new_password, clock=clock)
    except otp.OtpError as exc:
        session.commit()  # a wrong try counts
        raise _refused(exc) from exc
    except accounts.SelfServiceError as exc:
        session.rollback()
        raise _refused(exc) from exc
    session.commit()
    return Response(status_code=204)


@router.get("/me/accounts", dependencies=[CUSTOMER])
def my_accounts(session: SessionDep, principal: PrincipalDep) -> list[BoundOut]:
    return [
        BoundOut(
            customer_id=c.id, account_no=c.account_no, name=c.name, address=c.address, default=d
        )
        for c, d in (accounts.bound(session, principal.user_id) if principal.user_id else [])
    ]


@router.post("/me/accounts/bind/start", dependencies=[CUSTOMER])
def bind_start(
    session: SessionDep, clock: ClockDep, principal: PrincipalDep, body: AccountIn
) -> CodeSent:
    """Bind another account (up to five): a code goes to that account's phone."""
    try:
        token = accounts.start_binding(
            session, _user(principal), body.utility, body.account_no, clock=clock
        )
        customer = accounts.account(session, body.utility, body.account_no)
    except (accounts.SelfServiceError, otp.OtpError) as exc:
        raise _refused(exc) from exc
    session.commit()
    return CodeSent(token=token, sent_to=otp.mask_phone(customer.phone))


@router.post("/me/accounts/bind/finish", dependencies=[CUSTOMER])
def bind_finish(
    session: SessionDep, clock: ClockDep, principal: PrincipalDep, body: BindIn
) -> dict[str, int]:
    try:
        customer_id = accounts.finish_binding(
            session, _user(principal), body.token, body.code, clock=clock
        )
    except otp.OtpError as exc:
        session.commit()  # a wrong try counts
        raise _refused(exc) from exc
    except accounts.SelfServiceError as exc:
        session.rollback()
        raise _refused(exc) from exc
    session.commit()
    return {"customer_id": customer_id}


@router.put("/me/accounts/{customer_id}/default", status_code=204, dependencies=[CUSTOMER])
def make_default(session: SessionDep, principal: PrincipalDep, customer_id: Id) -> Response:
    try:
        accounts.set_default(session, _user(principal), customer_id)
    except accounts.SelfServiceError as exc:
        raise _refused(exc) from exc
    session.commit()
    return Response(status_code=204)


@router.delete("/me/accounts/{customer_id}", status_code=204, dependencies=[CUSTOMER])
def unbind(session: SessionDep, principal: PrincipalDep, customer_id: Id) -> Response:
    try:
        accounts.unbind(session, _user(principal), customer_id)
    except accounts.SelfServiceError as exc:
        raise _refused(exc) from exc
    session.commit()
    return Response(status_code=204)


@router.get("/me/accounts/{customer_id}/profile", dependencies=[CUSTOMER])
def profile(session: SessionDep, principal: PrincipalDep, customer_id: Id) -> views.ProfileOut:
    return views.profile(session, _mine(session, principal, customer_id))


@router.get("/me/accounts/{customer_id}/bills", dependencies=[CUSTOMER])
def bills(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: Id,
    month: Month | None = None,
    n: Annotated[int, Query(ge=1, le=12)] = 12,
) -> list[views.BillOut]:
    """The last ``n`` bills (12 by default), or the bill of one month (``month=2025-07``)."""
    customer = _mine(session, principal, customer_id)
    if month is None:
        return views.last_bills(session, customer, n)
    one = views.bill_of_month(session, customer, date.fromisoformat(f"{month}-01"))
    return [one] if one else []


@router.get("/me/accounts/{customer_id}/bills/latest", dependencies=[CUSTOMER])
def latest_bill(session: SessionDep, principal: PrincipalDep, customer_id: Id) -> views.BillOut:
    found = views.last_bills(session, _mine(session, principal, customer_id), 1)
    if not found:
        raise HTTPException(404, "no bill yet")
    return found[0]


@router.get("/me/accounts/{customer_id}/payments", dependencies=[CUSTOMER])
def payments(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: Id,
    start: Annotated[Month | None, Query(alias="from")] = None,
    end: Annotated[Month | None, Query(alias="to")] = None,
) -> list[views.PaymentOut]:
    """The last 5 payments, or those between two months (``from=2025-01&to=2025-06``)."""
    customer = _mine(session, principal, customer_id)
    first = date.fromisoformat(f"{start}-01") if start else None
    last = date.fromisoformat(f"{end}-01") if end else None
    return views.payments(session, customer, start=first, end=last)


@router.get("/me/accounts/{customer_id}/schedule", dependencies=[CUSTOMER])
def schedule(
    session: SessionDep, clock: ClockDep, principal: PrincipalDep, customer_id: Id
) -> views.ScheduleOut:
    """The next expected reading date and the last three readings."""
    customer = _mine(session, principal, customer_id)
    return views.schedule(session, customer, today=clock().date())


@router.get("/me/accounts/{customer_id}/consumption", dependencies=[CUSTOMER])
def consumption(
    session: SessionDep, principal: PrincipalDep, customer_id: Id
) -> list[dict[str, object]]:
    """Consumption of the last 12 billed periods, oldest first."""
    bars = views.consumption(session, _mine(session, principal, customer_id))
    return [b.__dict__ for b in bars]


@router.get(
    "/me/accounts/{customer_id}/consumption.svg",
    dependencies=[CUSTOMER],
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def consumption_chart(session: SessionDep, principal: PrincipalDep, customer_id: Id) -> Response:
    customer = _mine(session, principal, customer_id)
    unit = "kWh" if customer.tariff_code.startswith(("evn", "zhejiang")) else "m³"
    return Response(
        views.chart(session, customer, unit=unit),
        media_type="image/svg+xml",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.post("/me/accounts/{customer_id}/pay", status_code=201, dependencies=[CUSTOMER])
def pay_balance(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    clock: ClockDep,
    principal: PrincipalDep,
    customer_id: Id,
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Pay the account's open balance by VNPay (seed 001): ``{"txn_ref", "amount",
    "payment_url"}``. An account that owes nothing is refused (seed 002's arrears check)."""
    k = idempotency.check_key(key)
    _mine(session, principal, customer_id)
    session.close()  # the order is made in its own transaction
    settings = request.app.state.payments.vnpay
    ip = request.client.host if request.client else "127.0.0.1"

    def work(db: Session) -> tuple[int, dict[str, Any]]:
        order = vnpay_orders.create(
            db,
            settings,
            bill_ids=[],
            customer_id=customer_id,
            ip_addr=ip,
            by=principal.name,
            clock=clock,
        )
        return 201, {
            "txn_ref": order.txn_ref,
            "amount": order.amount,
            "payment_url": order.payment_url,
        }

    params = {"customer_id": customer_id}
    return answer(idempotency.run(engine, "self-pay", k, params, work, clock=clock))


@router.get("/me/outages", dependencies=[CUSTOMER])
def my_outages(session: SessionDep, clock: ClockDep, principal: PrincipalDep) -> list[OutageOut]:
    """Current outages over the areas of your accounts."""
    ids = _bound(session, principal)
    return [OutageOut.model_validate(o) for o in outages.affecting(session, ids, now=clock())]


@router.get("/me/accounts/{customer_id}/subscriptions", dependencies=[CUSTOMER])
def my_subscriptions(
    session: SessionDep, principal: PrincipalDep, customer_id: Id
) -> list[subscriptions.SubscriptionOut]:
    customer = _mine(session, principal, customer_id)
    return [
        subscriptions.SubscriptionOut.model_validate(r)
        for r in subscriptions.of_customer(session, customer.id)
    ]


@router.post("/me/accounts/{customer_id}/subscriptions", status_code=201, dependencies=[CUSTOMER])
def subscribe(
    session: SessionDep,
    clock: ClockDep,
    principal: PrincipalDep,
    customer_id: Id,
    body: subscriptions.SubscriptionIn,
) -> subscriptions.SubscriptionOut:
    """Bill, payment and outage notices by SMS or e-mail for one of your accounts."""
    customer = _mine(session, principal, customer_id)
    row = subscriptions.subscribe(session, customer.id, body, by=principal.name, clock=clock)
    session.commit()
    return subscriptions.SubscriptionOut.model_validate(row)


@router.delete(
    "/me/accounts/{customer_id}/subscriptions/{subscription_id}",
    status_code=204,
    dependencies=[CUSTOMER],
)
def unsubscribe(
    session: SessionDep, principal: PrincipalDep, customer_id: Id, subscription_id: Id
) -> Response:
    customer = _mine(session, principal, customer_id)
    subscriptions.unsubscribe(session, customer.id, subscription_id)
    session.commit()
    return Response(status_code=204)
