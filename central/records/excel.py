"""Bulk create and update of customers (with their meter) from Excel, and export to Excel.

One sheet, a header row naming the columns (any order; unknown columns are an error). Each bad
row gives a :class:`RowError` naming its row number, column and reason. ``all_or_nothing``
imports nothing when any row is bad; ``good_rows`` imports the good rows and reports the bad.

A workbook is hostile until read: its unzipped size is bounded before openpyxl opens it, the
sheet is streamed (read-only mode) with its declared dimension ignored (a sheet claiming
A1:XFD1048576 costs what its real cells cost), and rows and columns are bounded. The export
writes every text as text: control characters are escaped (``\x07`` becomes ``_x0007_``, as
Excel itself writes them) and a leading ``=`` stays a string, never a formula.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerRow, MeterRow, RouteRow, UtilityRow
from central.records import customers, meters
from central.records.errors import Invalid, NotFound, RecordsError
from central.records.schemas import CustomerIn, CustomerPatch, MeterIn
from central.tariffs.model import Tariff

Mode = Literal["all_or_nothing", "good_rows"]
BATCH = 200  # good_rows commits every BATCH rows
Existing = Literal["refuse", "update"]  # what a row of an existing account does

CUSTOMER_COLUMNS = [
    "account_no",
    "name",
    "address",
    "phone",
    "category",
    "tariff_code",
    "persons",
    "households",
    "industry",
    "payment_method",
    "status",
    "route_code",
]
METER_COLUMNS = [
    "meter_id",
    "quantity",
    "brand",
    "serial",
    "size",
    "digits",
    "multiplier",
    "installed_on",
    "calibrated_on",
    "replaced_on",
    "installer",
]
COLUMNS = CUSTOMER_COLUMNS + METER_COLUMNS


MAX_ROWS = 50_000  # data rows in one import
MAX_COLUMNS = 64  # columns read from each row
MAX_UNZIPPED = 100 * 1024 * 1024  # bytes of XML behind one workbook
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExcelError(RecordsError):
    """The workbook itself is unreadable or its header is wrong."""


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False


def _check_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExcelError(f"not an Excel workbook: {exc}") from exc
    if unzipped > MAX_UNZIPPED:
        raise ExcelError(f"the workbook unzips to {unzipped} bytes, over {MAX_UNZIPPED}")


def sheet_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows (values), at most :data:`MAX_COLUMNS` wide, streamed; raises
    :class:`ExcelError` past :data:`MAX_ROWS` data rows."""
    _check_size(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise ExcelError(f"not an Excel workbook: {exc}") from exc
    try:
        if not wb.worksheets:
            raise ExcelError("the workbook has no sheet")
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()  # the declared dimension is the file's word, not its cells
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(rows, start=1):
            if number > MAX_ROWS + 1:
                raise ExcelError(f"row {number}: more than {MAX_ROWS} rows")
            yield values
    except ExcelError:
        raise
    except Exception as exc:  # a broken sheet XML: any of openpyxl's or the parser's errors
        raise ExcelError(f"not a readable sheet: {exc}") from exc
    finally:
        wb.close()


def read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    rows = sheet_rows(data)
    header = next(rows, None)
    if header is None:
        raise ExcelError("the sheet is empty")
    names = [str(h).strip() if h is not None else "" for h in header]
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise ExcelError(f"row 1: unknown column {unknown[0]!r}")
    for needed in ("account_no", "name", "tariff_code"):
        if needed not in names:
            raise ExcelError(f"row 1: missing column {needed!r}")
    out = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or v == "" for v in values):
            continue
        out.append((number, {n: _cell(v) for n, v in zip(names, values, strict=False) if n}))
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def import_customers(
    session: Session,
    data: bytes,
    *,
    utility_code: str,
    mode: Mode,
    existing: Existing = "refuse",
    by: str,
    clock: Callable[[], datetime],
    tariffs: Mapping[str, Tariff],
) -> ImportResult:
    """Create new accounts and, with ``existing="update"``, update existing ones (each change
    in the customer's history, by ``by``, with its row); commits when the mode allows. An
    account or meter twice in one file is an error on both rows."""
    if session.get(UtilityRow, utility_code) is None:
        raise NotFound(f"no utility {utility_code!r}")
    result = ImportResult()
    rows = read_rows(data)
    twice = _duplicates(rows)
    for done, (number, values) in enumerate(rows, start=1):
        if mode == "good_rows" and done % BATCH == 0:
            session.commit()  # short transactions: other writers get their turn
        if number in twice:
            result.errors.append(twice[number])
            continue
        savepoint = session.begin_nested()
        try:
            created = _import_row(
                session, values, utility_code, by, clock, tariffs, row=number, existing=existing
            )
        except ValidationError as exc:
            savepoint.rollback()
            err = exc.errors()[0]
            column = str(err["loc"][0]) if err["loc"] else "?"
            result.errors.append(RowError(number, column, err["msg"]))
            continue
        except RecordsError as exc:
            savepoint.rollback()
            result.errors.append(
                RowError(
                    number, getattr(exc, "field", "account_no"), getattr(exc, "reason", str(exc))
                )
            )
            continue
        savepoint.commit()
        if created:
            result.created += 1
        else:
            result.updated += 1
    if result.errors and mode == "all_or_nothing":
        session.rollback()
        result.created = result.updated = 0
        return result
    session.commit()
    result.committed = True
    return result


def _duplicates(rows: list[tuple[int, dict[str, Any]]]) -> dict[int, RowError]:
    """Rows sharing an account number or a meter id with another row of the file."""
    out: dict[int, RowError] = {}
    for column, what in (("account_no", "account"), ("meter_id", "meter")):
        seen: dict[str, list[int]] = {}
        for number, values in rows:
            key = values.get(column)
            if key is not None and str(key) != "":
                seen.setdefault(str(key), []).append(number)
        for key, numbers in seen.items():
            if len(numbers) > 1:
                listed = ", ".join(str(n) for n in numbers)
                for n in numbers:
                    out.setdefault(n, RowError(n, column, f"{what} {key} is on rows {listed}"))
    return out


def _import_row(
    session: Session,
    values: dict[str, Any],
    utility_code: str,
    by: str,
    clock: Callable[[], datetime],
    tariffs: Mapping[str, Tariff],
    *,
    row: int,
    existing: Existing,
) -> bool:
    cust = {k: v for k, v in values.items() if k in CUSTOMER_COLUMNS and v is not None}
    for key in ("account_no", "phone"):
        if key in cust:
            cust[key] = str(cust[key])
    meter = {k: v for k, v in values.items() if k in METER_COLUMNS and v is not None}
    if "meter_id" in meter:
        meter["meter_id"] = str(meter["meter_id"])
    found = customers.find(session, utility_code, str(cust.get("account_no", "")))
    if found is None:
        customer = customers.create(
            session,
            CustomerIn(utility_code=utility_code, **cust),
            by=by,
            clock=clock,
            tariffs=tariffs,
        )
        created = True
    elif existing == "refuse":
        raise Invalid(
            "account_no",
            f"account {found.account_no} exists; import with existing=update to update it",
        )
    else:
        patch = {k: v for k, v in cust.items() if k != "account_no"}
        customer = customers.update(
            session,
            found.id,
            CustomerPatch(**patch, reason=f"Excel import, row {row}"),
            by=by,
            clock=clock,
            tariffs=tariffs,
        )
        created = False
    if meter:
        m = MeterIn(account_no=customer.account_no, utility_code=utility_code, **meter)
        if meters.by_meter_id(session, m.meter_id) is None:
            meters.create(session, m, tariffs=tariffs, by=by, clock=clock)
        elif existing == "refuse":
            raise Invalid(
                "meter_id", f"meter {m.meter_id} exists; import with existing=update to update it"
            )
        else:
            meters.update(session, m.meter_id, m, by=by, clock=clock)
    return created


def _escaped(value: str) -> str:
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)


def _text_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=_escaped(value))
    cell.data_type = "s"  # a value starting with "=" is a name, not a formula
    return cell


def export_customers(session: Session, utility_code: str) -> bytes:
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("customers")
    sheet.append(COLUMNS)
    routes = {rid: code for rid, code in session.execute(select(RouteRow.id, RouteRow.code))}
    stmt = (
        select(CustomerRow, MeterRow)
        .outerjoin(
            MeterRow, (MeterRow.customer_id == CustomerRow.id) & (MeterRow.status == "active")
        )
        .where(CustomerRow.utility_code == utility_code)
        .order_by(CustomerRow.account_no)
    )
    for cust, meter in session.execute(stmt):
        row: list[Any] = []
        for col in CUSTOMER_COLUMNS:
            if col == "route_code":
                row.append(routes.get(cust.route_id) if cust.route_id else None)
            else:
                row.append(getattr(cust, col))
        for col in METER_COLUMNS:
            value = getattr(meter, col) if meter is not None else None
            row.append(value.isoformat() if isinstance(value, date) else value)
        sheet.append([_text_cell(sheet, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
