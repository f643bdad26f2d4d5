"""The IEC 62056-21 exception tree, shared by the reader codec, the meter codec and the transport.

``LocalProtocolError``: we used the codec wrongly (sent a message in the wrong state).
``RemoteProtocolError``: the other end sent bytes that break the protocol; ``where`` names the
place (a state, a line number, a byte offset) so a log line says what went wrong and where.
"""

from __future__ import annotations


class IecError(Exception):
    """Base of every IEC 62056-21 error. ``kind`` is a short, countable reason."""

    kind = "protocol"


class LocalProtocolError(IecError):
    """This side asked the codec for something the protocol does not allow now."""


class RemoteProtocolError(IecError):
    """The other end sent something that is not IEC 62056-21 mode C."""

    kind = "protocol"

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{message} (at {where})" if where else message)


class BccError(RemoteProtocolError):
    """The block check character does not match the block."""

    kind = "bcc"


class ParityError(RemoteProtocolError):
    """A character arrived with the wrong even-parity bit (port read as 8N1)."""

    kind = "parity"


class TransportError(IecError):
    """The serial port failed or timed out."""

    kind = "transport"


class TransportTimeout(TransportError):
    """Nothing (or not enough) arrived in time."""

    kind = "timeout"
