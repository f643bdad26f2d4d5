"""What a bill notice (thông báo) and a payment receipt (biên nhận) say.

Frozen value types; money is whole VND (``int``). Nothing here knows about paper or bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


class DocumentError(ValueError):
    """A document's content is inconsistent (e.g. lines do not add up to the total)."""


@dataclass(frozen=True)
class TariffLine:
    """One priced block: ``quantity`` units at ``unit_price`` VND gives ``amount`` VND."""

    label: str  # "Bậc 1 (0-50 kWh)"
    quantity: int
    unit_price: int
    amount: int

    def __post_init__(self) -> None:
        if self.quantity < 0 or self.unit_price < 0 or self.amount < 0:
            raise DocumentError(f"tariff line {self.label!r} has a negative value")


@dataclass(frozen=True)
class Charge:
    """A tax or fee line, e.g. ``Thuế GTGT 8%``; ``vat_percent`` marks value-added tax."""

    label: str
    amount: int
    vat_percent: Decimal | None = None


@dataclass(frozen=True)
class Party:
    """The utility that issues the document."""

    name: str
    tax_code: str = ""
    address: str = ""
    hotline: str = ""


@dataclass(frozen=True)
class Payee:
    """Where a bank transfer goes (VietQR)."""

    bank_bin: str
    account: str
    bank_name: str = ""


@dataclass(frozen=True)
class BillNotice:
    """A bill notice: what is owed for one period and how to pay it."""

    bill_id: str
    utility: Party
    customer: str
    account: str
    address: str
    period: str  # "11/2026" or "01/11-30/11/2026"
    old_index: int
    new_index: int
    unit: str  # "kWh", "m³"
    lines: tuple[TariffLine, ...]
    charges: tuple[Charge, ...]
    total: int
    due: date
    cashier_name: str = ""
    cashier_phone: str = ""
    payee: Payee | None = None
    phone: str = ""  # the customer's

    def __post_init__(self) -> None:
        if self.new_index < self.old_index:
            raise DocumentError(
                f"bill {self.bill_id}: new index {self.new_index} < old {self.old_index}"
            )
        computed = sum(x.amount for x in self.lines) + sum(c.amount for c in self.charges)
        if computed != self.total:
            raise DocumentError(
                f"bill {self.bill_id}: lines and charges add up to {computed}, total is "
                f"{self.total}"
            )
        if self.total <= 0:
            raise DocumentError(f"bill {self.bill_id}: total {self.total} must be positive")

    @property
    def consumption(self) -> int:
        return self.new_index - self.old_index

    @property
    def vat(self) -> tuple[Charge, ...]:
        return tuple(c for c in self.charges if c.vat_percent is not None)

    @property
    def before_tax(self) -> int:
        """The amount before value-added tax: the total less the VAT charges."""
        return self.total - sum(c.amount for c in self.vat)


@dataclass(frozen=True)
class Receipt:
    """A payment receipt for a bill; ``verification`` is the signed QR text."""

    notice: BillNotice
    receipt_no: str
    paid: int
    method: str  # "cash", "card", "transfer"
    paid_at: datetime  # aware
    cashier: str
    gateway_id: str
    verification: str = field(default="")

    def __post_init__(self) -> None:
        if self.paid <= 0:
            raise DocumentError(f"receipt {self.receipt_no}: amount paid must be positive")
        if self.paid_at.tzinfo is None:
            raise DocumentError(f"receipt {self.receipt_no}: paid_at must carry a UTC offset")
