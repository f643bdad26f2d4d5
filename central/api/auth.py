"""``/api/v1/auth``: log in (OAuth2 password flow), refresh, log out, who am I, change password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from central.api.deps import ClockDep, SessionDep
from central.auth import PrincipalDep, Role, allow, passwords, public
from central.auth.errors import AccountError, Locked, Unauthenticated
from central.auth.policy import unauthenticated
from central.auth.service import Authenticator, TokenPair
from central.auth.users import bound_accounts, set_password
from central.db.models.auth import UserRow

router = APIRouter(prefix="/auth", tags=["auth"])
ANY_ROLE = tuple(Role)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=200)


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)
    new_password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class MeOut(BaseModel):
    kind: str
    name: str
    roles: list[str]
    accounts: list[int]  # customer ids bound to a customer's login


def _auth(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


AuthDep = Annotated[Authenticator, Depends(_auth)]


def _out(pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/token",
    dependencies=[public()],
    responses={401: {"description": "wrong login or password"}, 429: {"description": "locked"}},
)
def token(
    auth: AuthDep, clock: ClockDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """Log in with a login name and password (form fields ``username``, ``password``)."""
    if len(form.username) > 64 or len(form.password) > passwords.MAX_LENGTH:
        raise unauthenticated("incorrect login or password")
    try:
        return _out(auth.login(form.username, form.password))
    except Locked as exc:
        raise HTTPException(
            429,
            str(exc),
            headers={"Retry-After": str(max(1, int((exc.until - clock()).total_seconds())))},
        ) from exc
    except Unauthenticated as exc:
        raise unauthenticated(str(exc)) from exc


@router.post("/refresh", dependencies=[public()], responses={401: {"description": "refused"}})
def refresh(auth: AuthDep, body: RefreshIn) -> TokenOut:
    """A new access token and a new refresh token for a refresh token, which is spent."""
    try:
        return _out(auth.refresh(body.refresh_token))
    except Unauthenticated as exc:
        raise unauthenticated(str(exc)) from exc


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[allow(*ANY_ROLE)])
def logout(auth: AuthDep, principal: PrincipalDep, body: LogoutIn | None = None) -> None:
    """End the session of ``refresh_token``, or every session of the user without one."""
    if principal.user_id is None:
        raise HTTPException(400, "an API key has no session to end; revoke the key instead")
    auth.logout(principal.user_id, body.refresh_token if body else None)


@router.get("/me", dependencies=[allow(*ANY_ROLE)])
def me(session: SessionDep, principal: PrincipalDep) -> MeOut:
    accounts = bound_accounts(session, principal.user_id) if principal.user_id else []
    return MeOut(
        kind=principal.kind,
        name=principal.name,
        roles=sorted(principal.roles),
        accounts=accounts,
    )


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, dependencies=[allow(*ANY_ROLE)])
def change_password(
    session: SessionDep, clock: ClockDep, principal: PrincipalDep, body: PasswordIn
) -> None:
    """Change one's own password; every other session of the user ends."""
    if principal.user_id is None:
        raise HTTPException(400, "an API key has no password")
    user = session.get(UserRow, principal.user_id)
    if user is None or not passwords.verify(user.password_hash, body.current_password):
        raise HTTPException(403, "the current password is wrong")
    try:
        set_password(session, user.login, body.new_password, clock=clock)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.commit()
