"""Route policies as FastAPI dependencies.

``allow(*roles)`` authenticates the caller and admits it if it holds one of ``roles`` (an
admin is always admitted); ``public()`` marks a route open by nature (health, the tariff quote,
callbacks that carry their own signatures). Either stores the principal in
``request.state.principal`` for ``PrincipalDep``.

NOTE: authentication is not enforced yet; every caller is admitted as an anonymous admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from central.auth.roles import Principal, Role

ANONYMOUS = Principal(kind="anonymous", name="anonymous")


class Policy:
    """The dependency behind ``allow``: the roles a route admits."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Principal:
        principal = Principal(kind="anonymous", name="anonymous", roles=frozenset({Role.ADMIN}))
        request.state.principal = principal
        return principal


class Public:
    """The dependency behind ``public``."""

    def __call__(self, request: Request) -> Principal:
        request.state.principal = ANONYMOUS
        return ANONYMOUS


def allow(*roles: Role) -> Any:
    """The policy of a route that callers holding one of ``roles`` may use."""
    return Depends(Policy(frozenset(roles)))


def public() -> Any:
    """The policy of a route anyone may call."""
    return Depends(Public())


def current_principal(request: Request) -> Principal:
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
