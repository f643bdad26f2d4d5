"""Enrolling a gateway: broker credentials in the gateway listener's password file, its receipt
public key in central's database. Revoking removes both rights: the broker refuses its next
connection (after Mosquitto reloads the file) and its field payments are quarantined."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, select, update

from central.db.models.identity import EnrolledGateway
from central.identity import passwords
from contract.command_signature import parse_public_key
from contract.mqtt import GATEWAY_ID_RE

RESERVED_PREFIXES = ("m2c-", "central")  # central's own client ids live there
ENROLLED: Table = EnrolledGateway.__table__  # type: ignore[assignment]


class EnrollmentError(Exception):
    """A gateway cannot be enrolled or revoked; ``str()`` says why."""


@dataclass(frozen=True)
class Enrollment:
    gateway_id: str
    password: str  # shown once; only its hash is kept (in the password file)
    receipt_key: str


@dataclass(frozen=True)
class EnrolledInfo:
    gateway_id: str
    receipt_key: str
    enrolled_at: datetime
    revoked_at: datetime | None
    has_credentials: bool


def check_gateway_id(gateway_id: str) -> None:
    if not GATEWAY_ID_RE.fullmatch(gateway_id):
        raise EnrollmentError(f"gateway id {gateway_id!r} must match {GATEWAY_ID_RE.pattern}")
    if gateway_id.lower().startswith(RESERVED_PREFIXES):
        raise EnrollmentError(
            f"gateway id {gateway_id!r} starts with a prefix reserved for central's clients"
        )


def enroll(
    engine: Engine,
    gateway_id: str,
    receipt_key: str,
    *,
    password_file: Path,
    now: datetime,
    note: str = "",
) -> Enrollment:
    """Issue (or re-issue) broker credentials and (re)register the receipt key."""
    check_gateway_id(gateway_id)
    try:
        parse_public_key(receipt_key)
    except ValueError as exc:
        raise EnrollmentError(f"receipt key: {exc}") from exc
    password = passwords.new_password()
    with engine.begin() as conn:
        found = conn.execute(
            select(ENROLLED.c.gateway_id).where(ENROLLED.c.gateway_id == gateway_id)
        ).first()
        values = {
            "receipt_key": receipt_key.strip(),
            "enrolled_at": now,
            "revoked_at": None,
            "note": note,
        }
        if found is None:
            conn.execute(ENROLLED.insert().values(gateway_id=gateway_id, **values))
        else:
            conn.execute(
                update(ENROLLED).where(ENROLLED.c.gateway_id == gateway_id).values(**values)
            )
        # Inside the transaction: if the file cannot be written, nothing is registered.
        try:
            passwords.set_user(password_file, gateway_id, password)
        except passwords.PasswordFileError as exc:
            raise EnrollmentError(str(exc)) from exc
    return Enrollment(gateway_id, password, receipt_key.strip())


def revoke(engine: Engine, gateway_id: str, *, password_file: Path, now: datetime) -> bool:
    """Revoke; False when no such gateway was enrolled."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ENROLLED)
            .where(ENROLLED.c.gateway_id == gateway_id, ENROLLED.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    try:
        removed = passwords.remove_user(password_file, gateway_id)
    except passwords.PasswordFileError as exc:
        raise EnrollmentError(str(exc)) from exc
    return bool(done) or removed


def listing(engine: Engine, *, password_file: Path) -> list[EnrolledInfo]:
    try:
        with_credentials = set(passwords.users(password_file))
    except passwords.PasswordFileError as exc:
        raise EnrollmentError(str(exc)) from exc
    with engine.connect() as conn:
        rows = conn.execute(select(ENROLLED).order_by(ENROLLED.c.gateway_id)).all()
    return [
        EnrolledInfo(
            r.gateway_id,
            r.receipt_key,
            r.enrolled_at,
            r.revoked_at,
            r.gateway_id in with_credentials,
        )
        for r in rows
    ]


def receipt_keys(conn: Connection, gateway_ids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """``gateway id -> (receipt key, revoked)`` for the enrolled ones among ``gateway_ids``."""
    ids = sorted(set(gateway_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(ENROLLED.c.gateway_id, ENROLLED.c.receipt_key, ENROLLED.c.revoked_at).where(
            ENROLLED.c.gateway_id.in_(ids)
        )
    )
    return {g: (key, revoked is not None) for g, key, revoked in rows}
