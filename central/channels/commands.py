"""What a chat user typed, as a command (sans-IO).

Seed 000 (Bến Thành on Zalo): ``dk <account>`` registers, ``huy <account>`` unregisters.
Menu queries: the latest bill, the last 12 bills, payment history, the reading schedule, a
payment link, the accounts registered. Vietnamese keywords are matched without accents.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    REGISTER = "register"
    UNREGISTER = "unregister"
    LATEST_BILL = "latest_bill"
    BILLS = "bills"
    PAYMENTS = "payments"
    SCHEDULE = "schedule"
    PAY = "pay"
    ACCOUNTS = "accounts"
    HELP = "help"


@dataclass(frozen=True)
class Command:
    kind: Kind
    account: str | None = None  # as typed (digits only for dk/huy), None when absent


# The first word, folded to ASCII lower case, names the command.
_KEYWORDS: dict[str, Kind] = {
    "dk": Kind.REGISTER,
    "dangky": Kind.REGISTER,
    "绑定": Kind.REGISTER,
    "huy": Kind.UNREGISTER,
    "解绑": Kind.UNREGISTER,
    "hd": Kind.LATEST_BILL,
    "hoadon": Kind.LATEST_BILL,
    "tien": Kind.LATEST_BILL,
    "账单": Kind.LATEST_BILL,
    "12ky": Kind.BILLS,
    "tiennuoc": Kind.BILLS,
    "kyhd": Kind.BILLS,
    "历史账单": Kind.BILLS,
    "tt": Kind.PAYMENTS,
    "thanhtoan": Kind.PAYMENTS,
    "缴费记录": Kind.PAYMENTS,
    "lich": Kind.SCHEDULE,
    "lichghi": Kind.SCHEDULE,
    "抄表": Kind.SCHEDULE,
    "nop": Kind.PAY,
    "pay": Kind.PAY,
    "缴费": Kind.PAY,
    "ds": Kind.ACCOUNTS,
    "danhsach": Kind.ACCOUNTS,
    "户号": Kind.ACCOUNTS,
}
_NEEDS_ACCOUNT = {Kind.REGISTER, Kind.UNREGISTER}


def fold(text: str) -> str:
    """Lower case without Vietnamese accents (đ → d), as people type on a phone."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def parse(text: str) -> Command:
    """The command in ``text``; anything unrecognised is ``HELP`` (the menu is shown)."""
    words = text.split()
    if not words:
        return Command(Kind.HELP)
    kind = _KEYWORDS.get(fold(words[0]))
    if kind is None:
        return Command(Kind.HELP)
    rest = "".join(words[1:])
    if kind in _NEEDS_ACCOUNT:
        return Command(kind, rest)
    return Command(kind, rest or None)
