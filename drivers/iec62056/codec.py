"""The reader's side of an IEC 62056-21 mode C data readout, sans I/O (h11 style).

    reader = IecReader(address="12345678")
    wire = reader.send(SignOn())            # bytes to write at the sign-on speed
    reader.receive_data(chunk)              # whatever the port delivered
    event = reader.next_event()             # NEED_DATA, Identification, or DataBlock
    wire = reader.send(AckOptionSelect())   # then switch to reader.data_baudrate
    ...                                     # next_event() -> DataBlock

No clock, no port: the transport decides how long to wait and when to change speed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.iec62056.datasets import DataSet, parse_block_text
from drivers.iec62056.errors import BccError, LocalProtocolError, RemoteProtocolError
from drivers.iec62056.frames import (
    ACK,
    BAUD_CHAR_OF,
    BAUD_CHARS,
    CRLF,
    EOT,
    ETX,
    MAX_IDENT_LINE,
    NAK,
    SOH,
    STX,
    Identification,
    ParityMode,
    bcc,
    check_address,
    encode_ack_option,
    encode_sign_on,
    parse_identification,
    remove_parity,
)

MAX_BLOCK = 64 * 1024


class NeedData:
    """More bytes must arrive before the next event."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


@dataclass(frozen=True)
class WakeUp:
    """NUL characters that wake a battery meter's optical port (sent for about 2 s)."""

    count: int = 1


@dataclass(frozen=True)
class SignOn:
    pass


@dataclass(frozen=True)
class AckOptionSelect:
    """Accept a data readout; ``baud_char`` None takes the meter's offer (capped by the reader)."""

    baud_char: str | None = None
    mode_char: str = "0"


@dataclass(frozen=True)
class RepeatRequest:
    """NAK: ask the meter to send the data block again (after a BCC error)."""


@dataclass(frozen=True)
class DataBlock:
    datasets: tuple[DataSet, ...]
    size: int  # bytes from STX to BCC


Event = NeedData | Identification | DataBlock


class State(enum.Enum):
    IDLE = "idle"
    AWAIT_IDENT = "await identification"
    IDENTIFIED = "identified"
    AWAIT_DATA = "await data"
    DONE = "done"
    ERROR = "error"


class IecReader:
    """One data readout of one meter, from sign-on to the data block."""

    def __init__(
        self, *, address: str = "", max_baud: int = 19200, parity: ParityMode = "strip"
    ) -> None:
        self.address = check_address(address)
        if max_baud not in BAUD_CHAR_OF:
            raise ValueError(f"max_baud {max_baud} is not a mode C speed")
        self.max_baud = max_baud
        self.parity: ParityMode = parity
        self.state = State.IDLE
        self.identification: Identification | None = None
        self.data_baudrate: int | None = None
        self._buffer = bytearray()
        self._received = 0

    # -- outgoing -------------------------------------------------------------------------
    def send(self, message: WakeUp | SignOn | AckOptionSelect | RepeatRequest) -> bytes:
        if isinstance(message, RepeatRequest):
            self._expect(State.AWAIT_DATA, "NAK")
            self._buffer.clear()
            return bytes([NAK])
        if isinstance(message, WakeUp):
            self._expect(State.IDLE, "wake-up")
            return b"\x00" * message.count
        if isinstance(message, SignOn):
            self._expect(State.IDLE, "sign-on")
            self.state = State.AWAIT_IDENT
            return encode_sign_on(self.address)
        self._expect(State.IDENTIFIED, "ACK option select")
        assert self.identification is not None
        baud_char = message.baud_char or self._choose_baud(self.identification)
        if BAUD_CHARS.get(baud_char, 0) > self.identification.baudrate:
            raise LocalProtocolError(
                f"baud {baud_char!r} is faster than the meter offers "
                f"({self.identification.baud_char!r})"
            )
        wire = encode_ack_option(baud_char, message.mode_char)
        self.data_baudrate = BAUD_CHARS[baud_char]
        self.state = State.AWAIT_DATA
        return wire

    def _choose_baud(self, ident: Identification) -> str:
        return BAUD_CHAR_OF[min(ident.baudrate, self.max_baud)]

    def _expect(self, state: State, what: str) -> None:
        if self.state is not state:
            raise LocalProtocolError(f"cannot send {what} in state {self.state.value!r}")

    # -- incoming -------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Buffer ``data``; with ``parity="check"`` a bad parity bit fails the readout here."""
        offset, self._received = self._received, self._received + len(data)
        try:
            self._buffer += remove_parity(data, self.parity, offset=offset)
        except RemoteProtocolError:
            self.state = State.ERROR
            raise

    def next_event(self) -> Event:
        if self.state is State.ERROR:
            raise RemoteProtocolError("the readout already failed", where=self.state.value)
        try:
            if self.state is State.AWAIT_IDENT:
                return self._identification()
            if self.state is State.AWAIT_DATA:
                return self._data_block()
        except BccError:
            raise  # still waiting for a good block: the reader may send RepeatRequest
        except RemoteProtocolError:
            self.state = State.ERROR
            raise
        return NEED_DATA

    def _skip(self, ignorable: bytes) -> None:
        skip = 0
        while skip < len(self._buffer) and self._buffer[skip] in ignorable:
            skip += 1
        del self._buffer[:skip]

    def _identification(self) -> Event:
        while True:
            self._skip(b"\x00\r\n")
            if not self._buffer:
                return NEED_DATA
            if self._buffer[0] != ord("/"):
                raise RemoteProtocolError(
                    f"expected '/' of the identification, got 0x{self._buffer[0]:02x}",
                    where=self.state.value,
                )
            end = self._buffer.find(CRLF)
            if end < 0:
                if len(self._buffer) > MAX_IDENT_LINE:
                    raise RemoteProtocolError(
                        "identification line too long", where="identification"
                    )
                return NEED_DATA
            line = bytes(self._buffer[: end + 2])
            del self._buffer[: end + 2]
            if line.startswith(b"/?"):
                continue  # our own request echoed by a half-duplex line or optical head
            ident = parse_identification(line)
            self.identification = ident
            self.state = State.IDENTIFIED
            return ident

    def _data_block(self) -> Event:
        while True:
            self._skip(b"\x00")
            if not self._buffer:
                return NEED_DATA
            first = self._buffer[0]
            if first == ACK:  # echo of our ACK option select
                end = self._buffer.find(CRLF)
                if end < 0:
                    if len(self._buffer) > 8:
                        raise RemoteProtocolError("garbled ACK echo", where="data block")
                    return NEED_DATA
                del self._buffer[: end + 2]
                continue
            if first == SOH:
                raise RemoteProtocolError("meter sent a command, not a data block", where="data")
            if first != STX:
                raise RemoteProtocolError(
                    f"expected STX, got 0x{first:02x}", where="start of data block"
                )
            return self._complete_block()

    def _complete_block(self) -> Event:
        end = self._buffer.find(bytes([ETX]))
        if end < 0 or end + 1 >= len(self._buffer):
            if len(self._buffer) > MAX_BLOCK:
                raise RemoteProtocolError(f"data block over {MAX_BLOCK} bytes", where="data block")
            if EOT in self._buffer:
                raise RemoteProtocolError("partial blocks (EOT) are not supported", where="data")
            return NEED_DATA
        body = bytes(self._buffer[1 : end + 1])
        got = self._buffer[end + 1]
        del self._buffer[: end + 2]
        expected = bcc(body)
        if got & 0x7F != expected:
            raise BccError(f"BCC 0x{got:02x}, computed 0x{expected:02x}", where="data block")
        if not body.endswith(b"!\r\n\x03"):
            raise RemoteProtocolError("data block does not end with '!' CR LF", where="data block")
        try:
            text = body[:-4].decode("ascii")
        except UnicodeDecodeError as exc:
            raise RemoteProtocolError("data block is not ASCII", where="data block") from exc
        datasets = parse_block_text(text)
        self.state = State.DONE
        return DataBlock(datasets=datasets, size=len(body) + 2)
