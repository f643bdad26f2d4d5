"""The M-Bus exception tree, shared by the frame codec, the record decoder and the transport.

``LocalProtocolError``: we asked for something the protocol does not allow (an address out of
range, a value that does not fit its coding). ``RemoteProtocolError``: the other end sent bytes
that are not M-Bus; ``where`` says where (a frame field, a record's offset).
"""

from __future__ import annotations


class MbusError(Exception):
    """Base of every M-Bus error. ``kind`` is a short, countable reason."""

    kind = "protocol"


class LocalProtocolError(MbusError):
    """This side asked for something M-Bus cannot express."""


class RemoteProtocolError(MbusError):
    """The other end sent something that is not a valid M-Bus frame or record."""

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{message} (at {where})" if where else message)


class ChecksumError(RemoteProtocolError):
    """A frame's checksum does not match its bytes."""

    kind = "crc"


class TransportError(MbusError):
    """The serial port failed."""

    kind = "transport"


class TransportTimeout(TransportError):
    """No (complete) answer in time."""

    kind = "timeout"
