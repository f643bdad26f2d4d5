"""The master's side of wired M-Bus, sans I/O: requests out, answers in (h11 style).

    master = MbusMaster()
    wire = master.send(SndNke(address=5))    # expect an Ack
    wire = master.send(ReqUd2(address=5))    # expect an RspUd; FCB toggles per answered request
    master.receive_data(chunk); event = master.next_event()

The frame count bit (FCB) of REQ_UD2 toggles after each answered request, so a meter can tell
a repeat (the answer was lost: it sends the same telegram again) from a request for the next
telegram. After SND_NKE the next FCB is 1. A repeat is simply ``send`` without an answer seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.mbus.datatypes import decode_manufacturer, encode_manufacturer
from drivers.mbus.errors import LocalProtocolError, RemoteProtocolError
from drivers.mbus.frames import (
    ADDRESS_BROADCAST_REPLY,
    ADDRESS_NETWORK,
    CI_RSP_UD_LONG,
    CI_SELECT,
    FCB,
    FCV,
    MAX_PRIMARY,
    NEED_DATA,
    REQ_UD2,
    SND_NKE,
    SND_UD,
    Ack,
    FrameParser,
    LongFrame,
    NeedData,
    ShortFrame,
    encode,
)
from drivers.mbus.records import Header, Telegram, decode_telegram


@dataclass(frozen=True)
class SndNke:
    address: int


@dataclass(frozen=True)
class ReqUd2:
    address: int


@dataclass(frozen=True)
class SelectSecondary:
    """Select one meter by secondary address; ``None`` fields and ``F`` id digits are wildcards."""

    id_pattern: str  # 8 characters, digits or F
    manufacturer: str | None = None
    version: int | None = None
    medium: int | None = None

    def encode_data(self) -> bytes:
        pattern = self.id_pattern.upper()
        if len(pattern) != 8 or any(ch not in "0123456789F" for ch in pattern):
            raise LocalProtocolError(f"secondary id pattern {self.id_pattern!r}: 8 digits or F")
        id_bytes = bytes(int(pattern[i : i + 2], 16) for i in range(6, -1, -2))
        man = encode_manufacturer(self.manufacturer) if self.manufacturer else b"\xff\xff"
        version = 0xFF if self.version is None else self.version
        medium = 0xFF if self.medium is None else self.medium
        return id_bytes + man + bytes([version, medium])

    @classmethod
    def decode_data(cls, data: bytes) -> SelectSecondary:
        """The meter's side: read the 8 bytes of a CI 0x52 selection."""
        if len(data) != 8:
            raise RemoteProtocolError(f"selection of {len(data)} bytes, not 8", where="CI 0x52")
        pattern = data[3::-1].hex().upper()
        manufacturer = None if data[4:6] == b"\xff\xff" else decode_manufacturer(data[4:6])
        return cls(
            id_pattern=pattern,
            manufacturer=manufacturer,
            version=None if data[6] == 0xFF else data[6],
            medium=None if data[7] == 0xFF else data[7],
        )

    def matches(self, header: Header) -> bool:
        digits = f"{header.id:08d}"
        if any(p not in ("F", d) for p, d in zip(self.id_pattern.upper(), digits, strict=True)):
            return False
        return (
            (self.manufacturer is None or self.manufacturer == header.manufacturer)
            and (self.version is None or self.version == header.version)
            and (self.medium is None or self.medium == header.medium)
        )


@dataclass(frozen=True)
class RspUd:
    address: int
    c: int
    telegram: Telegram


Request = SndNke | ReqUd2 | SelectSecondary
Event = NeedData | Ack | RspUd


def _check_address(address: int) -> int:
    if not (0 <= address <= MAX_PRIMARY or address in (ADDRESS_NETWORK, ADDRESS_BROADCAST_REPLY)):
        raise LocalProtocolError(f"primary address {address} is not 0-250, 253 or 254")
    return address


class MbusMaster:
    def __init__(self) -> None:
        self._fcb: dict[int, bool] = {}
        self._parser = FrameParser()
        self._expect: Request | None = None

    def send(self, request: Request) -> bytes:
        """The bytes of ``request``; whatever was buffered from an earlier exchange is dropped."""
        self._parser = FrameParser()
        self._expect = request
        if isinstance(request, SndNke):
            self._fcb[_check_address(request.address)] = True
            return encode(ShortFrame(c=SND_NKE, a=request.address))
        if isinstance(request, ReqUd2):
            address = _check_address(request.address)
            fcb = self._fcb.get(address, True)
            return encode(ShortFrame(c=REQ_UD2 | FCV | (FCB if fcb else 0), a=address))
        self._fcb[ADDRESS_NETWORK] = True
        data = request.encode_data()
        return encode(LongFrame(c=SND_UD, a=ADDRESS_NETWORK, ci=CI_SELECT, data=data))

    def receive_data(self, data: bytes) -> None:
        self._parser.receive_data(data)

    def next_event(self) -> Event:
        expected = self._expect
        if expected is None:
            return NEED_DATA
        frame = self._parser.next_event()
        if isinstance(frame, NeedData):
            return NEED_DATA
        self._expect = None
        if isinstance(expected, (SndNke, SelectSecondary)):
            if not isinstance(frame, Ack):
                raise RemoteProtocolError(f"expected E5, got {frame}", where="acknowledgement")
            return frame
        if not isinstance(frame, LongFrame) or frame.c & 0x4F != 0x08:
            raise RemoteProtocolError(f"expected RSP_UD, got {frame}", where="response")
        if frame.ci != CI_RSP_UD_LONG:
            raise RemoteProtocolError(f"CI 0x{frame.ci:02x} is not supported", where="response")
        address = expected.address
        if address <= MAX_PRIMARY and frame.a != address:
            raise RemoteProtocolError(f"answer from address {frame.a}, asked {address}", where="A")
        telegram = decode_telegram(frame.data)
        self._fcb[address] = not self._fcb.get(address, True)
        return RspUd(address=frame.a, c=frame.c, telegram=telegram)

    @property
    def expecting(self) -> bool:
        return self._expect is not None


def secondary_id(id_number: int) -> str:
    """An 8-digit secondary address as a select pattern with no wildcard."""
    return f"{id_number:08d}"
