"""Route policies as FastAPI dependencies.

``allow(*roles)`` authenticates the caller (a bearer token from ``/api/v1/auth/token`` or an
``X-API-Key``) and admits it if it holds one of ``roles`` (an admin is always admitted):
401 with ``WWW-Authenticate`` when the credentials are missing or bad, 403 when the role is
not admitted. ``public()`` marks a route open by nature (health, the tariff quote, callbacks
that carry their own signatures). Either stores the principal in ``request.state.principal``
for ``PrincipalDep``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from central.auth.errors import Unauthenticated
from central.auth.roles import Principal, Role

TOKEN_URL = "/api/v1/auth/token"
ANONYMOUS = Principal(kind="anonymous", name="anonymous")
CHALLENGE = 'Bearer realm="meter2cash", ApiKey header="X-API-Key"'

bearer_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False, scheme_name="bearer")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")


def unauthenticated(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": CHALLENGE}
    )


class Policy:
    """The dependency behind ``allow``: the roles a route admits (admin always)."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(
        self,
        request: Request,
        bearer: Annotated[str | None, Depends(bearer_scheme)],
        api_key: Annotated[str | None, Depends(api_key_scheme)],
    ) -> Principal:
        try:
            principal = request.app.state.auth.principal(bearer=bearer, api_key=api_key)
        except Unauthenticated as exc:
            raise unauthenticated(str(exc)) from exc
        if not principal.has(*self.roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{principal.name} may not do this (roles allowed: "
                f"{', '.join(sorted({Role.ADMIN, *self.roles}))})",
            )
        request.state.principal = principal
        assert isinstance(principal, Principal)
        return principal

    def __repr__(self) -> str:
        return f"allow({', '.join(sorted(self.roles))})"


class Public:
    """The dependency behind ``public``."""

    def __call__(self, request: Request) -> Principal:
        request.state.principal = ANONYMOUS
        return ANONYMOUS

    def __repr__(self) -> str:
        return "public()"


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
