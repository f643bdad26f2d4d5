"""What a customer may see: only the accounts bound to their login."""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.auth.roles import Principal, Role
from central.auth.users import bound_accounts


def is_customer_only(principal: Principal) -> bool:
    """A principal whose only role is ``customer`` (a staff role sees every account)."""
    return bool(principal.roles) and principal.roles <= {Role.CUSTOMER}


def may_see(session: Session, principal: Principal, customer_id: int) -> bool:
    if not is_customer_only(principal):
        return True
    if principal.user_id is None:
        return False
    return customer_id in bound_accounts(session, principal.user_id)
