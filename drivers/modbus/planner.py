"""Which read requests fetch a meter's wanted registers fastest (a pure function).

The wanted registers become unsplittable *atoms* (one value's registers must come in one
answer, or the value could tear). Atoms of one function code are sorted and covered by runs of
consecutive atoms; each run is one request. A dynamic programme picks the runs that cost least
under a :class:`Cost` model: every request pays a fixed price (its frames' fixed bytes, the gaps
around them and the meter's silence) and every register read — wanted or not — a small one. So
a gap between two blocks is read whenever that is cheaper than another request, and never when
the request would exceed ``max_registers`` or the gap ``max_gap``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from drivers.modbus.types import Limits, Register

# Fixed bytes of one FC03/FC04 transaction: RTU request (unit, fc, addr 2, count 2, crc 2) and
# response without its data (unit, fc, byte count, crc 2); Modbus TCP: 7-byte MBAP + PDU.
RTU_FIXED_BYTES = 8 + 5
TCP_FIXED_BYTES = 12 + 9


@dataclass(frozen=True, slots=True)
class Request:
    """Read ``count`` registers from ``address`` with function code ``fc``."""

    fc: int
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class Cost:
    """Seconds a request costs: ``per_request_s`` + ``per_register_s`` per register read."""

    per_request_s: float
    per_register_s: float

    def of(self, requests: Iterable[Request]) -> float:
        return sum(self.per_request_s + self.per_register_s * r.count for r in requests)

    @classmethod
    def rtu(cls, *, baud: int, silence_s: float, bits_per_char: int = 11) -> Cost:
        """RS-485: bytes at ``baud``, 3.5 characters of gap after each frame, then silence."""
        char = bits_per_char / baud
        return cls(per_request_s=(RTU_FIXED_BYTES + 7) * char + silence_s, per_register_s=2 * char)

    @classmethod
    def tcp(cls, *, round_trip_s: float = 0.0003, bytes_per_s: float = 12.5e6) -> Cost:
        """Modbus TCP: a round trip per request, bytes nearly free."""
        return cls(
            per_request_s=round_trip_s + TCP_FIXED_BYTES / bytes_per_s,
            per_register_s=2 / bytes_per_s,
        )


class PlanError(Exception):
    """The wanted registers cannot be read within the limits (a value wider than a request)."""


@dataclass(frozen=True, slots=True)
class _Atom:
    fc: int
    start: int
    end: int


def atoms(registers: Iterable[Register]) -> list[_Atom]:
    """Each value's registers, overlapping ones merged, sorted by (fc, address)."""
    raw = sorted((reg.fc, p.address, p.end) for reg in registers for p in reg.parts)
    out: list[_Atom] = []
    for fc, start, end in raw:
        if out and out[-1].fc == fc and start < out[-1].end:
            last = out[-1]
            out[-1] = _Atom(fc, last.start, max(last.end, end))
        else:
            out.append(_Atom(fc, start, end))
    return out


Readable = Callable[[int, int, int], bool]
"""``readable(fc, start, end)``: whether registers ``start .. end-1`` may be read in a block."""


def _everything(fc: int, start: int, end: int) -> bool:
    return True


def _plan_fc(
    run: Sequence[_Atom], limits: Limits, cost: Cost, readable: Readable = _everything
) -> list[Request]:
    n = len(run)
    inf = (float("inf"), 0)
    best: list[tuple[float, int]] = [(0.0, 0)] + [inf] * n
    choice = [0] * (n + 1)
    for j in range(1, n + 1):
        end = run[j - 1].end
        for i in range(j - 1, -1, -1):
            span = end - run[i].start
            if span > limits.max_registers:
                break
            if i < j - 1 and (
                (limits.max_gap is not None and run[i + 1].start - run[i].end > limits.max_gap)
                or (
                    run[i + 1].start > run[i].end
                    and not readable(run[i].fc, run[i].end, run[i + 1].start)
                )
            ):
                break
            prev = best[i]
            cand = (prev[0] + cost.per_request_s + cost.per_register_s * span, prev[1] + 1)
            if cand < best[j]:
                best[j] = cand
                choice[j] = i
    requests: list[Request] = []
    j = n
    while j > 0:
        i = choice[j]
        requests.append(Request(run[i].fc, run[i].start, run[j - 1].end - run[i].start))
        j = i
    requests.reverse()
    return requests


def plan(
    registers: Iterable[Register], limits: Limits, cost: Cost, readable: Readable = _everything
) -> tuple[Request, ...]:
    """The cheapest requests that read every register in ``registers``.

    A gap between wanted registers is read only where ``readable`` allows it (a meter that
    refuses undocumented registers: its model's documented ones).
    """
    all_atoms = atoms(registers)
    for a in all_atoms:
        if a.end - a.start > limits.max_registers:
            raise PlanError(
                f"FC{a.fc:02d} registers {a.start:#06x}..{a.end - 1:#06x} hold one value "
                f"wider than max_registers={limits.max_registers}"
            )
    out: list[Request] = []
    for fc in sorted({a.fc for a in all_atoms}):
        out.extend(_plan_fc([a for a in all_atoms if a.fc == fc], limits, cost, readable))
    return tuple(out)


def split(
    request: Request, registers: Iterable[Register], limits: Limits, readable: Readable
) -> tuple[Request, ...]:
    """``request`` cut into blocks of the wanted registers it covers, with gaps only where
    ``readable``: what to ask a meter that refused it. ``(request,)`` when it cannot be cut."""
    inside = [
        a
        for a in atoms(registers)
        if a.fc == request.fc and request.address <= a.start and a.end <= request.end
    ]
    out: list[Request] = []
    for a in inside:
        last = out[-1] if out else None
        if (
            last is not None
            and (last.end == a.start or readable(a.fc, last.end, a.start))
            and a.end - last.address <= limits.max_registers
        ):
            out[-1] = Request(a.fc, last.address, a.end - last.address)
        else:
            out.append(Request(a.fc, a.start, a.end - a.start))
    return tuple(out) or (request,)


def plan_blocks(registers: Iterable[Register], limits: Limits) -> tuple[Request, ...]:
    """The plain strategy: each contiguous block, cut at ``max_registers`` between values."""
    out: list[Request] = []
    for a in atoms(registers):
        last = out[-1] if out else None
        if (
            last is not None
            and last.fc == a.fc
            and last.end == a.start
            and a.end - last.address <= limits.max_registers
        ):
            out[-1] = Request(a.fc, last.address, a.end - last.address)
        else:
            out.append(Request(a.fc, a.start, a.end - a.start))
    return tuple(out)


def plan_each(registers: Iterable[Register]) -> tuple[Request, ...]:
    """Register by register: one request per value (what many gateways do by default)."""
    return tuple(Request(reg.fc, p.address, p.width) for reg in registers for p in reg.parts)
