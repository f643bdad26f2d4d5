"""Bank statements as banks export them: CSV and XLSX (the header row found among the
title lines, Vietnamese or English column names) and ISO 20022 camt.053 (.001.02 and .08).

Each parser yields :class:`Line` values or raises :class:`StatementError` naming the row and
the problem; amounts are integer VND (``1.234.567`` and ``1,234,567`` both read as written by
Vietnamese banks). XML is parsed with defusedxml: no entities, no external references.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from central.payments.errors import Invalid


class StatementError(Invalid):
    """A statement that cannot be read; the message names the row or element."""

    def __init__(self, message: str) -> None:
        super().__init__("file", message)


@dataclass(frozen=True)
class Line:
    ref: str  # the bank's transaction reference
    value_date: date
    amount: int  # credit > 0, debit < 0
    description: str


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in plain if c.isascii()).lower().split())


COLUMNS = {  # folded header text -> field
    "ref": (
        "so giao dich",
        "so tham chieu",
        "ma giao dich",
        "so ct",
        "reference",
        "transaction no",
        "transaction id",
        "ref",
        "so but toan",
    ),
    "date": (
        "ngay giao dich",
        "ngay hieu luc",
        "ngay gd",
        "ngay",
        "transaction date",
        "value date",
        "date",
        "posting date",
    ),
    "credit": ("ghi co", "so tien ghi co", "phat sinh co", "credit", "credit amount", "co"),
    "debit": ("ghi no", "so tien ghi no", "phat sinh no", "debit", "debit amount", "no"),
    "amount": ("so tien", "amount"),
    "description": (
        "noi dung",
        "dien giai",
        "mo ta",
        "noi dung giao dich",
        "description",
        "details",
        "narrative",
        "remarks",
    ),
}


def _header(cells: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = _fold(cell).rstrip(" :*")
        for key, names in COLUMNS.items():
            if name in names and key not in found:
                found[key] = i
    ok = "date" in found and "description" in found and ({"credit", "amount"} & found.keys())
    return found if ok else None


def parse_amount(text: Any, *, where: str) -> int:
    if text is None or text == "":
        return 0
    if isinstance(text, int | float):
        if isinstance(text, float) and not text.is_integer():
            raise StatementError(f"{where}: amount {text} has fractions of a dong")
        return int(text)
    s = str(text).strip().replace(" ", "").replace("VND", "").replace("đ", "")
    if re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})+", s):
        s = re.sub(r"[.,]", "", s)
    elif re.fullmatch(r"[+-]?\d+([.,]0+)?", s):
        s = re.split(r"[.,]", s)[0]
    if not re.fullmatch(r"[+-]?\d+", s):
        raise StatementError(f"{where}: amount {text!r} is not a number of dong")
    return int(s)


def parse_date(value: Any, *, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in (
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
        "%d-%m-%Y",
        "%d.%m.%Y",
    ):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise StatementError(f"{where}: date {text!r} is not a date (dd/mm/yyyy or yyyy-mm-dd)")


def _rows(rows: Iterator[list[Any]], name: str) -> Iterator[Line]:
    header: dict[str, int] | None = None
    for n, raw in enumerate(rows, start=1):
        cells = ["" if c is None else c for c in raw]
        if header is None:
            header = _header([str(c) for c in cells])
            continue
        if not any(str(c).strip() for c in cells):
            continue
        where = f"{name} row {n}"

        def cell(key: str, cells: list[Any] = cells, header: dict[str, int] = header) -> Any:
            i = header.get(key)
            return cells[i] if i is not None and i < len(cells) else ""

        if not str(cell("date")).strip():
            continue  # totals and closing-balance lines carry no date
        credit = parse_amount(cell("credit"), where=where) if "credit" in header else 0
        debit = parse_amount(cell("debit"), where=where) if "debit" in header else 0
        amount = (
            credit - abs(debit)
            if ("credit" in header)
            else parse_amount(cell("amount"), where=where)
        )
        ref = str(cell("ref")).strip() or f"{name}:{n}"
        yield Line(
            ref,
            parse_date(cell("date"), where=where),
            amount,
            str(cell("description")).strip()[:500],
        )
    if header is None:
        raise StatementError(f"{name}: no header row with a date, a description and an amount")


def parse_csv(data: bytes, name: str = "statement.csv") -> list[Line]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementError(f"{name}: not UTF-8 text (byte {exc.start})") from exc
    head = text[:8192]
    delimiter = max(",;\t", key=head.count)
    try:
        return list(_rows(iter(csv.reader(io.StringIO(text), delimiter=delimiter)), name))
    except csv.Error as exc:
        raise StatementError(f"{name}: not CSV ({exc})") from exc


def parse_xlsx(data: bytes, name: str = "statement.xlsx") -> list[Line]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise StatementError(f"{name}: not an Excel workbook ({exc})") from exc
    sheet = book.worksheets[0]
    return list(_rows((list(r) for r in sheet.iter_rows(values_only=True)), name))


def parse_camt053(data: bytes, name: str = "statement.xml") -> list[Line]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise StatementError(f"{name}: not a camt.053 document ({exc})") from exc
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    if "camt.053" not in ns:
        raise StatementError(f"{name}: namespace {ns!r} is not ISO 20022 camt.053")

    def text(el: Any, path: str) -> str:
        found = el.find("/".join(ns + p for p in path.split("/")))
        return (found.text or "").strip() if found is not None else ""

    lines = []
    for n, entry in enumerate(root.iter(f"{ns}Ntry"), start=1):
        where = f"{name} entry {n}"
        amt = entry.find(f"{ns}Amt")
        if amt is None or amt.get("Ccy") != "VND":
            raise StatementError(f"{where}: amount missing or not in VND")
        amount = parse_amount(amt.text, where=where)
        if text(entry, "CdtDbtInd") == "DBIT":
            amount = -amount
        day = text(entry, "ValDt/Dt") or text(entry, "BookgDt/Dt") or text(entry, "BookgDt/DtTm")
        ref = (
            text(entry, "AcctSvcrRef")
            or text(entry, "NtryDtls/TxDtls/Refs/EndToEndId")
            or f"{name}:{n}"
        )
        info = text(entry, "NtryDtls/TxDtls/RmtInf/Ustrd") or text(entry, "AddtlNtryInf")
        lines.append(Line(ref, parse_date(day[:10], where=where), amount, info[:500]))
    return lines


def parse(data: bytes, filename: str) -> list[Line]:
    lower = filename.lower()
    if lower.endswith(".xml"):
        return parse_camt053(data, filename)
    if lower.endswith((".xlsx", ".xlsm")):
        return parse_xlsx(data, filename)
    if lower.endswith((".csv", ".txt")):
        return parse_csv(data, filename)
    raise StatementError(f"{filename}: expected .csv, .xlsx or .xml (camt.053)")
