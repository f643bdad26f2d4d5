"""RSP_UD application data (EN 13757-3, CI 0x72): the fixed header and the DIF/VIF records.

Header (12 bytes): identification (4 BCD bytes), manufacturer (2), version, medium, access
number, status, signature (2). Each record: DIF [DIFE...] VIF [VIFE...] data. DIF 0x0F ends the
records with manufacturer data, 0x1F does too and says more records follow in the next
telegram, 0x2F is a filler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from drivers.mbus.datatypes import (
    MeterDateTime,
    decode_bcd,
    decode_int,
    decode_manufacturer,
    decode_real,
    decode_type_f,
    decode_type_g,
    encode_bcd,
    encode_int,
    encode_manufacturer,
)
from drivers.mbus.errors import LocalProtocolError, RemoteProtocolError
from drivers.mbus.vif import (
    VIF_EXT_FB,
    VIF_EXT_FD,
    VIF_MANUFACTURER,
    VIF_PLAIN_TEXT,
    Vif,
    describe,
    describe_fb,
    describe_fd,
    vife_exponent,
)

MEDIUM = {0x02: "electricity", 0x03: "gas", 0x04: "heat", 0x06: "warm_water", 0x07: "water"}
MEDIUM |= {0x0C: "heat_inlet", 0x16: "cold_water", 0x0D: "heat_cooling"}
FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")
# DIF data field → bytes of data (None: variable length; 0x0F special)
_SIZES: dict[int, int | None] = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 6: 6, 7: 8, 8: 0}
_SIZES |= {9: 1, 10: 2, 11: 3, 12: 4, 13: None, 14: 6}
_BCD = {9, 10, 11, 12, 14}
MAX_DIFE = 10
MAX_VIFE = 10

Value = Decimal | MeterDateTime | date | str | bytes | None


@dataclass(frozen=True)
class Header:
    id: int  # the 8-digit identification (secondary address)
    manufacturer: str
    version: int
    medium: int
    access_no: int
    status: int
    signature: int = 0

    @property
    def medium_name(self) -> str:
        return MEDIUM.get(self.medium, f"medium_{self.medium:02x}")


@dataclass(frozen=True)
class Record:
    quantity: str
    unit: str
    value: Value
    function: str = "instantaneous"
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    vife: tuple[int, ...] = ()
    offset: int = 0


@dataclass(frozen=True)
class Telegram:
    header: Header
    records: tuple[Record, ...]
    more_follows: bool = False
    manufacturer_data: bytes = b""


def decode_header(data: bytes) -> Header:
    if len(data) < 12:
        raise RemoteProtocolError(f"RSP_UD header is {len(data)} bytes, not 12", where="header")
    return Header(
        id=decode_bcd(data[0:4], where="header id"),
        manufacturer=decode_manufacturer(data[4:6]),
        version=data[6],
        medium=data[7],
        access_no=data[8],
        status=data[9],
        signature=int.from_bytes(data[10:12], "little"),
    )


def encode_header(header: Header) -> bytes:
    return (
        encode_bcd(header.id, 4)
        + encode_manufacturer(header.manufacturer)
        + bytes([header.version, header.medium, header.access_no, header.status])
        + header.signature.to_bytes(2, "little")
    )


def decode_telegram(data: bytes) -> Telegram:
    """The application data of a CI 0x72 RSP_UD (header and records)."""
    header = decode_header(data)
    records, more, tail = decode_records(data, start=12)
    return Telegram(header=header, records=records, more_follows=more, manufacturer_data=tail)


@dataclass
class _Cursor:
    data: bytes
    pos: int
    start: int = field(default=0)

    def take(self, count: int, what: str) -> bytes:
        if self.pos + count > len(self.data):
            raise RemoteProtocolError(f"record cut short in its {what}", where=f"byte {self.start}")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk


def decode_records(data: bytes, *, start: int = 0) -> tuple[tuple[Record, ...], bool, bytes]:
    """(records, more records follow, manufacturer data) from ``data[start:]``."""
    records: list[Record] = []
    cur = _Cursor(data, start)
    while cur.pos < len(data):
        cur.start = cur.pos
        dif = cur.take(1, "DIF")[0]
        if dif == 0x2F:
            continue
        if dif in (0x0F, 0x1F):
            return tuple(records), dif == 0x1F, data[cur.pos :]
        if dif & 0x0F == 0x0F:
            raise RemoteProtocolError(f"DIF 0x{dif:02x} is reserved", where=f"byte {cur.start}")
        records.append(_record(cur, dif))
    return tuple(records), False, b""


def _record(cur: _Cursor, dif: int) -> Record:
    where = f"byte {cur.start}"
    storage, tariff, subunit = (dif >> 6) & 1, 0, 0
    extension, count = bool(dif & 0x80), 0
    while extension:
        dife = cur.take(1, "DIFE")[0]
        count += 1
        if count > MAX_DIFE:
            raise RemoteProtocolError("more than 10 DIFE", where=where)
        shift = count - 1
        storage |= (dife & 0x0F) << (1 + 4 * shift)
        tariff |= ((dife >> 4) & 0x03) << (2 * shift)
        subunit |= ((dife >> 6) & 0x01) << shift
        extension = bool(dife & 0x80)
    vif_byte = cur.take(1, "VIF")[0]
    vifes: list[int] = []
    text_unit = ""
    code = vif_byte & 0x7F
    if vif_byte in (VIF_EXT_FB, VIF_EXT_FD):
        ext = cur.take(1, "VIFE")[0]
        vifes.append(ext)
        vif = describe_fb(ext & 0x7F) if vif_byte == VIF_EXT_FB else describe_fd(ext & 0x7F)
        more = bool(ext & 0x80)
    else:
        if code == VIF_PLAIN_TEXT:
            length = cur.take(1, "plain-text VIF length")[0]
            text_unit = cur.take(length, "plain-text VIF")[::-1].decode("latin-1")
            vif = Vif("plain_text", text_unit)
        elif code == VIF_MANUFACTURER:
            vif = Vif("manufacturer_specific", "")
        else:
            vif = describe(code)
        more = bool(vif_byte & 0x80)
    while more:
        vife = cur.take(1, "VIFE")[0]
        vifes.append(vife)
        if len(vifes) > MAX_VIFE:
            raise RemoteProtocolError("more than 10 VIFE", where=where)
        more = bool(vife & 0x80)
    exponent = vif.exponent + sum(
        vife_exponent(v) for v in vifes[1 if vif_byte in (0xFB, 0xFD) else 0 :]
    )
    value = _value(cur, dif & 0x0F, vif, exponent, where)
    return Record(
        quantity=vif.quantity,
        unit=vif.unit,
        value=value,
        function=FUNCTIONS[(dif >> 4) & 0x03],
        storage=storage,
        tariff=tariff,
        subunit=subunit,
        vife=tuple(vifes),
        offset=cur.start,
    )


def _value(cur: _Cursor, coding: int, vif: Vif, exponent: int, where: str) -> Value:
    size = _SIZES[coding]
    if size is None:
        return _variable(cur, where)
    raw = cur.take(size, "data")
    if size == 0:
        return None
    if vif.kind == "datetime" and coding == 4:
        return decode_type_f(raw, where=where)
    if vif.kind == "date" and coding == 2:
        return decode_type_g(raw, where=where)
    if coding == 5:
        real = decode_real(raw)
        if real != real or real in (float("inf"), float("-inf")):
            raise RemoteProtocolError("real value is not finite", where=where)
        number = Decimal(repr(real))
    elif coding in _BCD:
        number = Decimal(decode_bcd(raw, where=where))
    else:
        number = Decimal(decode_int(raw))
    if vif.kind in ("id", "date", "datetime"):
        return number if vif.kind == "id" else raw
    return number.scaleb(exponent)


def _variable(cur: _Cursor, where: str) -> Value:
    lvar = cur.take(1, "LVAR")[0]
    if lvar <= 0xBF:
        return cur.take(lvar, "text")[::-1].decode("latin-1")
    if 0xC0 <= lvar <= 0xC9:
        return Decimal(decode_bcd(cur.take(lvar - 0xC0, "BCD"), where=where))
    if 0xD0 <= lvar <= 0xD9:
        return -Decimal(decode_bcd(cur.take(lvar - 0xD0, "BCD"), where=where))
    if 0xE0 <= lvar <= 0xEF:
        return Decimal(decode_int(cur.take(lvar - 0xE0, "binary")))
    raise RemoteProtocolError(f"LVAR 0x{lvar:02x} is reserved", where=where)


# -- building records (the meter's side) -------------------------------------------------------

_CODINGS = {"int8": (1, 1), "int16": (2, 2), "int24": (3, 3), "int32": (4, 4), "int48": (6, 6)}
_CODINGS |= {"int64": (7, 8), "bcd2": (9, 1), "bcd4": (10, 2), "bcd6": (11, 3), "bcd8": (12, 4)}
_CODINGS |= {"bcd12": (14, 6)}


def encode_record(
    vif: bytes,
    raw: int | bytes,
    coding: str,
    *,
    storage: int = 0,
    tariff: int = 0,
    subunit: int = 0,
    function: int = 0,
) -> bytes:
    """One record. ``raw`` is the integer on the wire (the value over 10^exponent), or the
    bytes of a type F/G date with ``coding`` "datetime"/"date"."""
    if isinstance(raw, bytes):
        if coding not in ("datetime", "date"):
            raise LocalProtocolError("bytes are for the datetime and date codings")
        data_field, data = (4 if coding == "datetime" else 2), raw
    else:
        if coding not in _CODINGS:
            raise LocalProtocolError(f"unknown coding {coding!r}")
        data_field, size = _CODINGS[coding]
        data = encode_bcd(raw, size) if coding.startswith("bcd") else encode_int(raw, size)
    difes = bytearray()
    rest_storage, rest_tariff, rest_subunit = storage >> 1, tariff, subunit
    while rest_storage or rest_tariff or rest_subunit:
        difes.append(
            (rest_storage & 0x0F) | ((rest_tariff & 0x03) << 4) | ((rest_subunit & 1) << 6)
        )
        rest_storage, rest_tariff, rest_subunit = (
            rest_storage >> 4,
            rest_tariff >> 2,
            rest_subunit >> 1,
        )
    for i in range(len(difes) - 1):
        difes[i] |= 0x80
    dif = data_field | ((function & 0x03) << 4) | ((storage & 1) << 6) | (0x80 if difes else 0)
    return bytes([dif]) + bytes(difes) + vif + data
