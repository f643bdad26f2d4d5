"""IEC 62056-21 mode C messages as bytes: building and checking, no state.

Mode C speaks 7-bit ASCII at 7E1. A UART set to 7E1 delivers 7-bit characters; a port read as
8N1 (some converters, or a pty that cannot do parity) delivers the parity bit in bit 7.
:func:`apply_parity` adds it for a sender that emulates the wire, :func:`remove_parity` strips
or checks it for a receiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drivers.iec62056.errors import ParityError, RemoteProtocolError

SOH = 0x01
STX = 0x02
ETX = 0x03
EOT = 0x04
ACK = 0x06
NAK = 0x15
CRLF = b"\r\n"

# Baud-rate characters of mode C (the fifth character of the identification).
BAUD_CHARS: dict[str, int] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}
BAUD_CHAR_OF: dict[int, str] = {baud: char for char, baud in BAUD_CHARS.items()}

MAX_IDENT_LINE = 64  # "/" + 3 maker + 1 baud + at most 16 ident (+ "\W") + CRLF, with room
ADDRESS_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ")

ParityMode = Literal["none", "strip", "check"]


def bcc(block: bytes) -> int:
    """XOR of every byte given, in 7 bits (the caller passes the bytes after STX up to ETX)."""
    value = 0
    for byte in block:
        value ^= byte
    return value & 0x7F


def even_parity_bit(byte: int) -> int:
    return (byte & 0x7F).bit_count() & 1


def apply_parity(data: bytes) -> bytes:
    """Set bit 7 of each character to its even-parity bit, as a 7E1 line shows on 8N1."""
    return bytes((b & 0x7F) | (even_parity_bit(b) << 7) for b in data)


def remove_parity(data: bytes, mode: ParityMode, *, offset: int = 0) -> bytes:
    """Strip (``strip``), check and strip (``check``) or keep (``none``) bit 7."""
    if mode == "none":
        return data
    if mode == "check":
        for i, byte in enumerate(data):
            if (byte >> 7) != even_parity_bit(byte):
                raise ParityError(f"parity error in byte 0x{byte:02x}", where=f"byte {offset + i}")
    return bytes(b & 0x7F for b in data)


def check_address(address: str) -> str:
    if len(address) > 32 or not set(address) <= ADDRESS_CHARS:
        raise ValueError(f"device address {address!r}: at most 32 letters, digits or spaces")
    return address


def encode_sign_on(address: str = "") -> bytes:
    """``/?!\\r\\n``, or ``/?<address>!\\r\\n`` to wake one meter on a shared bus."""
    return b"/?" + check_address(address).encode("ascii") + b"!" + CRLF


def encode_ack_option(baud_char: str, mode_char: str = "0", protocol_char: str = "0") -> bytes:
    """ACK option select: ``ACK V Z Y CR LF`` (V protocol, Z baud, Y mode; 0 = data readout)."""
    if baud_char not in BAUD_CHARS:
        raise ValueError(f"baud character {baud_char!r} is not one of mode C's 0-6")
    if len(mode_char) != 1 or len(protocol_char) != 1:
        raise ValueError("mode and protocol are single characters")
    return bytes([ACK]) + f"{protocol_char}{baud_char}{mode_char}".encode("ascii") + CRLF


@dataclass(frozen=True)
class Identification:
    """The meter's ``/XXXZ<ident>`` answer to a sign-on."""

    maker: str  # three letters; a lowercase third letter means a 20 ms reaction time
    baud_char: str
    ident: str
    enhanced: str = ""  # the W of an optional ``\\W`` enhanced-identification prefix

    @property
    def baudrate(self) -> int:
        return BAUD_CHARS[self.baud_char]

    @property
    def short_reaction(self) -> bool:
        return self.maker[2].islower()

    @property
    def reaction_time_s(self) -> float:
        return 0.02 if self.short_reaction else 0.2


def encode_identification(ident: Identification) -> bytes:
    enhanced = f"\\{ident.enhanced}" if ident.enhanced else ""
    text = f"/{ident.maker}{ident.baud_char}{enhanced}{ident.ident}"
    return text.encode("ascii") + CRLF


def parse_identification(line: bytes) -> Identification:
    """Parse one identification line (``/`` up to and including CR LF)."""
    if not line.startswith(b"/") or not line.endswith(CRLF):
        raise RemoteProtocolError("identification must be '/' ... CR LF", where="identification")
    try:
        text = line[1:-2].decode("ascii")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("identification is not ASCII", where="identification") from exc
    if len(text) < 5 or not text.isprintable():
        raise RemoteProtocolError(f"identification {text!r} is too short", where="identification")
    maker, baud_char, rest = text[:3], text[3], text[4:]
    if not maker.isalpha():
        raise RemoteProtocolError(f"maker {maker!r} is not three letters", where="identification")
    if baud_char not in BAUD_CHARS:
        raise RemoteProtocolError(
            f"baud character {baud_char!r} is not mode C's 0-6", where="identification"
        )
    enhanced = ""
    if rest.startswith("\\") and len(rest) >= 2:
        enhanced, rest = rest[1], rest[2:]
    if not rest:
        raise RemoteProtocolError("identification has no device name", where="identification")
    return Identification(maker=maker, baud_char=baud_char, ident=rest, enhanced=enhanced)


def encode_data_block(text: str) -> bytes:
    """STX, the data lines, ``!`` CR LF, ETX, BCC. ``text`` holds the lines, each ending CR LF."""
    body = text.encode("ascii") + b"!" + CRLF + bytes([ETX])
    return bytes([STX]) + body + bytes([bcc(body)])
