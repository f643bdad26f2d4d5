"""Enrolled gateways as central knows them (read-only: enrollment writes the broker's password
file, so it is done on the broker host with ``m2c central gateway enroll``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from central.api.deps import SessionDep
from central.auth import Role, allow
from central.db.models.identity import EnrolledGateway

router = APIRouter(tags=["gateways"])


class EnrolledOut(BaseModel):
    gateway_id: str
    receipt_key: str  # base64url Ed25519 public key its receipts are verified with
    enrolled_at: datetime
    revoked_at: datetime | None


@router.get(
    "/gateway-identities",
    response_model=list[EnrolledOut],
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR, Role.CASHIER)],
)
def enrolled(session: SessionDep) -> list[EnrolledOut]:
    """Every enrolled gateway: its receipt key and whether it is revoked."""
    rows = session.scalars(select(EnrolledGateway).order_by(EnrolledGateway.gateway_id))
    return [
        EnrolledOut(
            gateway_id=r.gateway_id,
            receipt_key=r.receipt_key,
            enrolled_at=r.enrolled_at,
            revoked_at=r.revoked_at,
        )
        for r in rows
    ]
