"""Document + template → a list of printable blocks (text lines, rules, QR codes, logo).

No bytes and no fonts here: :mod:`drivers.escpos.encode` turns blocks into ESC/POS for one
printer profile. Keeping the two apart lets tests compare a printout with the blocks it came
from.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from drivers.escpos.documents import BillNotice, Receipt
from drivers.escpos.template import Template
from drivers.vietqr import VietQR, VietQRError, ascii_fold

Align = Literal["left", "center", "right"]
Size = Literal["small", "normal", "large"]


@dataclass(frozen=True)
class Text:
    text: str
    align: Align = "left"
    size: Size = "normal"
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    """A dashed separator across the paper."""


@dataclass(frozen=True)
class Qr:
    data: str


@dataclass(frozen=True)
class Logo:
    path: Path


Block = Text | Rule | Qr | Logo


def money(amount: int) -> str:
    """``1234567`` → ``1.234.567`` (Vietnamese grouping, whole đồng)."""
    sign = "-" if amount < 0 else ""
    return sign + f"{abs(amount):,}".replace(",", ".")


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def moment(value: datetime) -> str:
    return value.strftime("%H:%M %d/%m/%Y")


def layout(doc: BillNotice | Receipt, template: Template, *, copy: bool = False) -> list[Block]:
    """The blocks of ``doc`` in the template's order; ``copy`` marks a reprint."""
    notice = doc.notice if isinstance(doc, Receipt) else doc
    receipt = doc if isinstance(doc, Receipt) else None
    values = {
        "utility": notice.utility.name,
        "tax_code": notice.utility.tax_code,
        "utility_address": notice.utility.address,
        "hotline": notice.utility.hotline,
        "cashier": receipt.cashier if receipt else notice.cashier_name,
        "cashier_phone": notice.cashier_phone,
    }
    out: list[Block] = []
    if copy:
        out.append(Text(template.copy_mark, "center", "large", bold=True))
    if template.logo is not None:
        out.append(Logo(template.logo))
    out.extend(_lines(template.header, values))
    out.append(Text(template.title, "center", "large", bold=True))
    for name in template.fields:
        out.extend(_field(name, notice, receipt, template))
    out.extend(_lines(template.footer, values))
    if copy:
        out.append(Text(template.copy_mark, "center", "large", bold=True))
    return out


def _lines(lines: tuple[str, ...], values: dict[str, str]) -> list[Block]:
    """Header or footer lines; a line whose placeholders are all empty is left out."""
    out: list[Block] = []
    for line in lines:
        names = [name for _, name, _, _ in string.Formatter().parse(line) if name]
        if names and not any(values[name] for name in names):
            continue
        out.append(Text(line.format(**values), "center", "small"))
    return out


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def _kv(template: Template, name: str, value: str, *, bold: bool = False) -> list[Block]:
    return [Text(f"{template.label(name)}: {value}", bold=bold)]


def _field(
    name: str, notice: BillNotice, receipt: Receipt | None, template: Template
) -> list[Block]:
    match name:
        case "rule":
            return [Rule()]
        case "customer":
            return _kv(template, name, notice.customer)
        case "account":
            return _kv(template, name, notice.account)
        case "address":
            return _kv(template, name, notice.address) if notice.address else []
        case "phone":
            return _kv(template, name, notice.phone) if notice.phone else []
        case "before_tax":
            return _kv(template, name, f"{money(notice.before_tax)} đ")
        case "vat":
            label = template.label(name)
            return [
                Text(f"{label} {_percent(c.vat_percent)}%: {money(c.amount)} đ")
                for c in notice.vat
                if c.vat_percent is not None
            ]
        case "period":
            return _kv(template, name, notice.period)
        case "indexes":
            return _kv(template, name, f"{notice.old_index} / {notice.new_index}")
        case "consumption":
            return _kv(template, name, f"{notice.consumption} {notice.unit}")
        case "lines":
            blocks: list[Block] = []
            if template.label(name):  # a table: one heading, then plain rows (cheap text mode)
                blocks.append(Text(f"{template.label(name)} ({notice.unit})"))
                for number, line in enumerate(notice.lines, 1):
                    row = f"{number}) {line.quantity} x {money(line.unit_price)}"
                    blocks.append(Text(f"{row} = {money(line.amount)}", "right"))
                return blocks
            for line in notice.lines:
                blocks.append(Text(line.label))
                amounts = f"{line.quantity} x {money(line.unit_price)} = {money(line.amount)}"
                blocks.append(Text(amounts, "right"))
            return blocks
        case "charges":
            shown = notice.charges
            if "vat" in template.fields:  # VAT lines print under "vat", with their rate
                shown = tuple(c for c in notice.charges if c.vat_percent is None)
            return [Text(f"{c.label}: {money(c.amount)}") for c in shown]
        case "total":
            return [Text(f"{template.label(name)}: {money(notice.total)} đ", size="large")]
        case "due":
            return _kv(template, name, day(notice.due))
        case "cashier":
            who = receipt.cashier if receipt else notice.cashier_name
            # the phone is for the notice left behind; a receipt names who took the money
            phone = f" - {notice.cashier_phone}" if notice.cashier_phone and not receipt else ""
            return _kv(template, name, who + phone) if who else []
        case "payee":
            if notice.payee is None:
                return []
            bank = f"{notice.payee.bank_name} " if notice.payee.bank_name else ""
            return _kv(template, name, f"{bank}{notice.payee.account}")
        case "vietqr":
            try:
                qr = bill_vietqr(notice)
            except VietQRError:
                return []  # the payee cannot take a bank transfer QR: the notice still prints
            return [Qr(qr.payload())] if qr else []
    if receipt is None:
        return []
    match name:
        case "receipt_no":
            return _kv(template, name, receipt.receipt_no)
        case "paid_at":
            return _kv(template, name, moment(receipt.paid_at))
        case "paid":
            of = f" / {money(notice.total)}" if receipt.paid != notice.total else ""
            return _kv(template, name, f"{money(receipt.paid)}{of} đ", bold=True)
        case "method":
            return _kv(
                template, name, template.labels.get(f"method_{receipt.method}", receipt.method)
            )
        case "verification":
            return [Qr(receipt.verification)] if receipt.verification else []
    return []


def bill_vietqr(notice: BillNotice) -> VietQR | None:
    """The bank-transfer QR for a notice (None without a payee); the bill number and purpose
    are folded to ASCII, which the banks require. Raises ``VietQRError`` for a payee the
    format cannot carry (an account with dashes, a BIN that is not six digits)."""
    if notice.payee is None:
        return None
    return VietQR(
        bank_bin=notice.payee.bank_bin,
        account=notice.payee.account,
        amount=notice.total,
        bill_number=ascii_fold(notice.bill_id)[:25],
        purpose=ascii_fold(f"TT {notice.account}")[:25],
    )
