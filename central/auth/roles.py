"""The roles a principal can hold, and the principal itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    BILLING_CLERK = "billing_clerk"
    OPERATOR = "operator"
    CASHIER = "cashier"
    METER_READER = "meter_reader"
    AUDITOR = "auditor"  # reads everything, changes nothing
    CUSTOMER = "customer"  # self-service: only the accounts bound to them


STAFF: frozenset[Role] = frozenset(Role) - {Role.CUSTOMER}
"""Everyone who works for the utility."""
READERS: frozenset[Role] = frozenset(
    {Role.OPERATOR, Role.METER_READER, Role.BILLING_CLERK, Role.AUDITOR}
)
"""Who reads meters' readings, photos and corrections."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person (``user``) or an integration (``api_key``)."""

    kind: str  # "user" | "api_key" | "anonymous"
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    user_id: int | None = None

    def has(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)
