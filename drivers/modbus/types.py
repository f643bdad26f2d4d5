"""Value types of Modbus registers and the frozen description of a meter model.

These are the values the rest of the code works with; :mod:`drivers.modbus.models` builds them
from TOML files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RegisterType = Literal["u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64"]
Order = Literal["big", "little"]
FunctionCode = Literal[3, 4]

WIDTH: dict[str, int] = {
    "u16": 1,
    "s16": 1,
    "u32": 2,
    "s32": 2,
    "u64": 4,
    "s64": 4,
    "f32": 2,
    "f64": 4,
}

MODBUS_MAX_READ = 125  # registers per FC03/FC04 request, by the Modbus specification


@dataclass(frozen=True, slots=True)
class Part:
    """One number stored in ``width`` consecutive registers starting at ``address``."""

    address: int
    type: RegisterType
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0

    @property
    def width(self) -> int:
        return WIDTH[self.type]

    @property
    def end(self) -> int:
        """One past the last register."""
        return self.address + self.width

    def __post_init__(self) -> None:
        if not 0 <= self.address <= 0xFFFF or self.end > 0x10000:
            raise ValueError(f"address {self.address:#06x} ({self.type}) is outside 0..0xFFFF")
        if self.scale == 0:
            raise ValueError("scale must not be 0")


@dataclass(frozen=True, slots=True)
class Register:
    """A quantity of a meter: the sum of its parts' scaled values, in ``unit``."""

    quantity: str
    fc: FunctionCode
    parts: tuple[Part, ...]
    unit: str = ""
    digits: int | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError(f"{self.quantity}: a register needs at least one part")
        if self.digits is not None and not 1 <= self.digits <= 18:
            raise ValueError(f"{self.quantity}: digits must be 1..18")

    @property
    def rollover(self) -> float | None:
        """The value at which the counter starts again from 0, if it has a digit count."""
        return float(10**self.digits) if self.digits is not None else None


@dataclass(frozen=True, slots=True)
class Limits:
    """What one meter accepts: registers per request, quiet time after a request, timeout."""

    max_registers: int = MODBUS_MAX_READ
    silence_s: float = 0.005
    timeout_s: float = 1.0
    max_gap: int | None = None  # at most this many unwanted registers read between two values

    def __post_init__(self) -> None:
        if not 1 <= self.max_registers <= MODBUS_MAX_READ:
            raise ValueError(f"max_registers must be 1..{MODBUS_MAX_READ}")
        if self.silence_s < 0 or self.timeout_s <= 0:
            raise ValueError("silence must be >= 0 and timeout > 0")


Undocumented = Literal["zeros", "exception"]


@dataclass(frozen=True, slots=True)
class Span:
    """Registers ``first .. last`` (inclusive) of function code ``fc``."""

    fc: int
    first: int
    last: int

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.last <= 0xFFFF:
            raise ValueError(f"range {self.first:#06x}..{self.last:#06x} is not first <= last")


@dataclass(frozen=True, slots=True)
class MeterModel:
    """A kind of meter: its registers and its limits. ``source`` is the file it came from.

    ``documented``: the registers the meter's document lists (empty: not known);
    ``undocumented``: what the meter answers for a read that touches any other register —
    ``"zeros"`` or ``"exception"`` (02, illegal data address).
    """

    name: str
    registers: tuple[Register, ...]
    limits: Limits = field(default_factory=Limits)
    maker: str = ""
    description: str = ""
    source: str = ""
    documented: tuple[Span, ...] = ()
    undocumented: Undocumented = "zeros"

    def is_documented(self, fc: int, start: int, end: int) -> bool:
        """Whether registers ``start .. end-1`` of ``fc`` are all documented (or nothing is)."""
        if not self.documented:
            return True
        at = start
        for span in sorted((s for s in self.documented if s.fc == fc), key=lambda s: s.first):
            if span.first <= at <= span.last:
                at = span.last + 1
            if at >= end:
                return True
        return at >= end

    def register(self, quantity: str) -> Register:
        for reg in self.registers:
            if reg.quantity == quantity:
                return reg
        raise KeyError(quantity)

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(reg.quantity for reg in self.registers)
