"""The ``bill_cache`` downlink: central pushes a route's open bills to a field gateway.

``contract.mqtt.Command(kind="bill_cache", args=BillCachePush(...).model_dump(mode="json"))``.
With ``replace`` the gateway drops the route's cached bills not in the push (paid elsewhere,
cancelled); otherwise it only adds and updates. Money is whole VND.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CachedTariffLine(_Model):
    label: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0)
    unit_price: int = Field(ge=0)
    amount: int = Field(ge=0)


class CachedCharge(_Model):
    label: str = Field(min_length=1, max_length=64)
    amount: int
    # set on value-added tax lines: the rate, so a receipt can stand as the VAT invoice
    vat_percent: Decimal | None = Field(default=None, ge=0, le=100)


class UtilityInfo(_Model):
    name: str = Field(min_length=1, max_length=120)
    tax_code: str = ""
    address: str = ""
    hotline: str = ""


class PayeeInfo(_Model):
    bank_bin: str = Field(pattern=r"^[0-9]{6}$")
    account: str = Field(pattern=r"^[0-9A-Za-z]{1,19}$")
    bank_name: str = ""


class CachedBill(_Model):
    bill_id: str = Field(min_length=1, max_length=64, pattern=r"^[^*\r\n]+$")
    account: str = Field(min_length=1, max_length=32, pattern=r"^[^*\r\n]+$")
    customer: str = Field(min_length=1, max_length=120)
    address: str = ""
    phone: str = ""
    period: str = Field(min_length=1, max_length=32)
    old_index: int = Field(ge=0)
    new_index: int = Field(ge=0)
    unit: str = Field(min_length=1, max_length=8)
    lines: tuple[CachedTariffLine, ...]
    charges: tuple[CachedCharge, ...] = ()
    total: int = Field(gt=0)
    due: date

    @model_validator(mode="after")
    def _adds_up(self) -> CachedBill:
        computed = sum(x.amount for x in self.lines) + sum(c.amount for c in self.charges)
        if computed != self.total:
            raise ValueError(f"bill {self.bill_id}: lines add up to {computed}, not {self.total}")
        if self.new_index < self.old_index:
            raise ValueError(f"bill {self.bill_id}: new index below old index")
        return self


class BillCachePush(_Model):
    v: Literal[1] = 1
    route: str = Field(min_length=1, max_length=64)
    utility: UtilityInfo
    payee: PayeeInfo | None = None
    replace: bool = True
    bills: tuple[CachedBill, ...]


class PrintRequest(_Model):
    """The ``args`` of ``Command(kind="print")``: print a cached bill's notice at the gateway.

    The gateway uses the command's id as the print job's id, so a redelivered command never
    prints twice. Central pushes the bill (``bill_cache``) before asking to print it.
    """

    v: Literal[1] = 1
    document: Literal["notice"] = "notice"
    bill_id: str = Field(min_length=1, max_length=64)
