"""VietQR (NAPAS 247) payloads: EMVCo merchant-presented QR, TLV + CRC-16/CCITT-FALSE.

Dependency-free on purpose: central may build the same payloads for bills and payment links.

A field is ``ID LL value`` with a two-digit id and a two-digit length (characters). The payload
ends with ``6304`` and four uppercase hex digits of CRC-16/CCITT-FALSE (poly 0x1021, init
0xFFFF) computed over everything before them, ``6304`` included.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
_FREE_TEXT = re.compile(r"^[ -~]*$")  # printable ASCII: banks reject anything else


class VietQRError(ValueError):
    """A value cannot go into a VietQR payload, or a payload is malformed."""


def ascii_fold(text: str) -> str:
    """What a bank field can carry: Vietnamese letters without their marks (Đ → D), other
    characters outside printable ASCII dropped. ``"HĐ-2611-0009"`` → ``"HD-2611-0009"``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return "".join(c for c in bare if " " <= c <= "~")


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    """One ``ID LL value`` field."""
    if len(tag) != 2 or not tag.isdigit():
        raise VietQRError(f"tag {tag!r} must be two digits")
    if len(value) > 99:
        raise VietQRError(f"field {tag}: value of {len(value)} characters exceeds 99")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str) -> dict[str, str]:
    """Split a run of TLV fields into ``{id: value}``; raises :class:`VietQRError`."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        head = text[pos : pos + 4]
        if len(head) < 4 or not (head.isascii() and head.isdigit()):
            raise VietQRError(f"malformed field header {head!r} at offset {pos}")
        size = int(head[2:])
        value = text[pos + 4 : pos + 4 + size]
        if len(value) != size:
            raise VietQRError(f"field {head[:2]} at offset {pos} is truncated")
        out[head[:2]] = value
        pos += 4 + size
    return out


@dataclass(frozen=True)
class VietQR:
    """What a bank-transfer QR says: pay ``amount`` VND to an account, quoting a bill."""

    bank_bin: str  # 6 digits, the bank's NAPAS BIN
    account: str
    amount: int | None = None  # whole VND; None makes a static QR (payer types the amount)
    bill_number: str = ""
    purpose: str = ""
    to_card: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]{6}", self.bank_bin):
            raise VietQRError(f"bank BIN {self.bank_bin!r} must be 6 digits")
        if not re.fullmatch(r"[0-9A-Za-z]{1,19}", self.account):
            raise VietQRError(f"account {self.account!r} must be 1-19 letters or digits")
        if self.amount is not None and not 0 < self.amount < 10**13:
            raise VietQRError(f"amount {self.amount} must be a positive whole VND amount")
        for name in ("bill_number", "purpose"):
            value = getattr(self, name)
            if not _FREE_TEXT.fullmatch(value) or len(value) > 25:
                raise VietQRError(f"{name} {value!r} must be printable ASCII, at most 25")

    def payload(self) -> str:
        """The QR text, CRC included."""
        service = SERVICE_TO_CARD if self.to_card else SERVICE_TO_ACCOUNT
        beneficiary = tlv("00", self.bank_bin) + tlv("01", self.account)
        merchant = tlv("00", GUID) + tlv("01", beneficiary) + tlv("02", service)
        parts = [
            tlv("00", "01"),
            tlv("01", "12" if self.amount is not None else "11"),
            tlv("38", merchant),
            tlv("53", "704"),
        ]
        if self.amount is not None:
            parts.append(tlv("54", str(self.amount)))
        parts.append(tlv("58", "VN"))
        extra = ""
        if self.bill_number:
            extra += tlv("01", self.bill_number)
        if self.purpose:
            extra += tlv("08", self.purpose)
        if extra:
            parts.append(tlv("62", extra))
        body = "".join(parts) + "6304"
        return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def parse(payload: str) -> VietQR:
    """Read a VietQR payload back, checking its CRC; raises :class:`VietQRError`."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise VietQRError("payload does not end with a 6304 CRC field")
    want = f"{crc16_ccitt_false(payload[:-4].encode('utf-8')):04X}"
    if payload[-4:].upper() != want:
        raise VietQRError(f"CRC mismatch: payload says {payload[-4:]}, content gives {want}")
    fields = parse_tlv(payload[:-8])
    try:
        merchant = parse_tlv(fields["38"])
        beneficiary = parse_tlv(merchant["01"])
        bank_bin, account = beneficiary["00"], beneficiary["01"]
    except KeyError as exc:
        raise VietQRError(f"missing merchant account field {exc.args[0]}") from exc
    if merchant.get("00") != GUID:
        raise VietQRError(f"merchant GUID {merchant.get('00')!r} is not NAPAS {GUID}")
    extra = parse_tlv(fields.get("62", ""))
    return VietQR(
        bank_bin=bank_bin,
        account=account,
        amount=int(fields["54"]) if "54" in fields else None,
        bill_number=extra.get("01", ""),
        purpose=extra.get("08", ""),
        to_card=merchant.get("02") == SERVICE_TO_CARD,
    )
