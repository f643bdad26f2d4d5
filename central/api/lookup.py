"""``GET /api/v1/lookup``: the amount due by account number or phone, for anyone."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from central.api.deps import SessionDep
from central.auth import public
from central.channels.lookup import RateLimiter, lookup

router = APIRouter(prefix="/api/v1", tags=["customers"])


class DueOut(BaseModel):
    account: str
    amount_due: int
    currency: str
    due_date: date | None


def _limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "lookup_limiter", None)
    if limiter is None:
        limiter = request.app.state.lookup_limiter = RateLimiter()
    return limiter


@router.get("/lookup", dependencies=[public()], response_model=list[DueOut])
def public_lookup(
    request: Request,
    session: SessionDep,
    account: Annotated[
        str | None, Query(min_length=4, max_length=32, pattern=r"^[0-9A-Za-z-]+$")
    ] = None,
    phone: Annotated[str | None, Query(min_length=6, max_length=32, pattern=r"^\+?[0-9]+$")] = None,
) -> list[DueOut]:
    """Amount due and due date of the accounts matching ``account`` or ``phone`` (one of
    them), with the account number masked; at most 30 lookups a minute per caller."""
    if (account is None) == (phone is None):
        raise HTTPException(422, "give exactly one of account or phone")
    caller = request.client.host if request.client else "unknown"
    if not _limiter(request).allow(caller):
        raise HTTPException(429, "too many lookups; try again in a minute")
    return [DueOut(**d.__dict__) for d in lookup(session, account=account, phone=phone)]
