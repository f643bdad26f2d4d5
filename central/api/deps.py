"""Dependencies every router shares: a session, the clock, the operator, the tariff catalog.

The operator is the authenticated principal (``central.auth``); no header names it.

``create_app`` puts a sessionmaker in ``app.state.sessions``, a clock in ``app.state.clock``
and the shipped tariffs in ``app.state.tariff_files``; routes ask for them with these
``Annotated`` aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from central.auth import Principal, PrincipalDep
from central.auth.scope import may_see
from central.tariffs.catalog import Catalog
from central.tariffs.store import catalog


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        yield session


def get_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


def get_operator(principal: PrincipalDep) -> str:
    """Who makes a change, for the audit trail: the authenticated principal's name (a user's
    login, or ``key:<name>`` for an API key)."""
    return principal.name


EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]
OperatorDep = Annotated[str, Depends(get_operator)]


def get_files(request: Request) -> Catalog:
    files: Catalog = request.app.state.tariff_files
    return files


FilesDep = Annotated[Catalog, Depends(get_files)]


def get_catalog(session: SessionDep, files: FilesDep) -> Catalog:
    return catalog(session, files)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def require_account(session: Session, principal: Principal, customer_id: int) -> None:
    """403 unless ``principal`` may see customer ``customer_id`` (a customer: only the accounts
    bound to their login; staff: every account)."""
    if not may_see(session, principal, customer_id):
        raise HTTPException(403, f"customer {customer_id} is not one of your accounts")
