"""Subscriptions of an account to notices (bill, payment, outage) by SMS, e-mail or chat."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.models.notifications import TOPICS, SubscriptionRow
from central.db.models.records import CustomerRow
from central.records.errors import Conflict, Invalid, NotFound

Clock = Callable[[], datetime]
MAX_PER_ACCOUNT = 10
PHONE = r"^\+?[0-9]{6,15}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    channel: Literal["sms", "email"]
    address: str = Field(min_length=3, max_length=254)
    topics: list[Literal["bill", "payment", "outage"]] = Field(
        default=["bill", "outage"], min_length=1, max_length=3
    )
    locale: Literal["vi", "zh"] = "vi"

    @field_validator("topics")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=TOPICS.index)


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    channel: str
    address: str
    topics: Annotated[str, Field(description="comma-separated: bill, payment, outage")]
    locale: str
    created_at: datetime


def subscribe(
    session: Session, customer_id: int, data: SubscriptionIn, *, by: str, clock: Clock
) -> SubscriptionRow:
    if session.get(CustomerRow, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    pattern = PHONE if data.channel == "sms" else EMAIL
    if re.fullmatch(pattern, data.address) is None:
        raise Invalid("address", f"{data.address!r} is not a valid {data.channel} address")
    count = len(of_customer(session, customer_id))
    if count >= MAX_PER_ACCOUNT:
        raise Conflict(f"customer {customer_id} has {count} subscriptions already")
    row = SubscriptionRow(
        customer_id=customer_id,
        channel=data.channel,
        address=data.address.lower() if data.channel == "email" else data.address,
        topics=",".join(data.topics),
        locale=data.locale,
        created_at=clock(),
        created_by=by,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"{data.address} is subscribed to this account already") from exc
    return row


def of_customer(session: Session, customer_id: int) -> list[SubscriptionRow]:
    return list(
        session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.customer_id == customer_id)
            .order_by(SubscriptionRow.id)
        )
    )


def unsubscribe(session: Session, customer_id: int, subscription_id: int) -> None:
    result = session.execute(
        delete(SubscriptionRow).where(
            SubscriptionRow.id == subscription_id, SubscriptionRow.customer_id == customer_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"customer {customer_id} has no subscription {subscription_id}")
