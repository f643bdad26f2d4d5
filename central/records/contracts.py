"""Contracts with their attached files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import ContractFileRow, ContractRow
from central.records import customers, filetypes
from central.records.errors import Conflict, Invalid, NotFound
from central.records.schemas import ContractIn

MAX_FILE = 20 * 1024 * 1024


def create(session: Session, customer_id: int, data: ContractIn) -> ContractRow:
    customers.get(session, customer_id)
    if session.scalar(select(ContractRow).where(ContractRow.number == data.number)) is not None:
        raise Conflict(f"contract {data.number!r} exists")
    row = ContractRow(customer_id=customer_id, **data.model_dump())
    session.add(row)
    session.flush()
    return row


def get(session: Session, contract_id: int) -> ContractRow:
    row = session.get(ContractRow, contract_id)
    if row is None:
        raise NotFound(f"no contract {contract_id}")
    return row


def attach(
    session: Session,
    contract_id: int,
    filename: str,
    content_type: str | None,
    data: bytes,
    *,
    clock: Callable[[], datetime],
) -> ContractFileRow:
    get(session, contract_id)
    if not data:
        raise Invalid("file", "is empty")
    if len(data) > MAX_FILE:
        raise Invalid("file", f"{len(data)} bytes is over the {MAX_FILE} byte limit")
    media = filetypes.checked(data, content_type, filetypes.CONTRACT_FILES)
    row = ContractFileRow(
        contract_id=contract_id,
        filename=filename[:200],
        content_type=media,
        data=data,
        uploaded_at=clock(),
    )
    session.add(row)
    session.flush()
    return row


def files(session: Session, contract_id: int) -> list[ContractFileRow]:
    get(session, contract_id)
    return list(
        session.scalars(
            select(ContractFileRow)
            .where(ContractFileRow.contract_id == contract_id)
            .order_by(ContractFileRow.id)
        )
    )


def file(session: Session, contract_id: int, file_id: int) -> ContractFileRow:
    row = session.get(ContractFileRow, file_id)
    if row is None or row.contract_id != contract_id:
        raise NotFound(f"contract {contract_id} has no file {file_id}")
    return row
