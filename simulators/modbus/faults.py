"""Faults a simulated meter can show, per meter, from a config table or a CLI string.

``"no_answer=0.2,late=0.3@0.1,crc=0.05,exception=2@0.1,garble=0.05,split,stuck,rollover,
drift=0.01,disappear=60/10"`` reads: no answer 20 % of the time, 0.3 s late 10 % of the time,
a bad CRC 5 %, exception 2 10 %, one flipped byte 5 %, answers written in two pieces, values
frozen, counters starting just below their rollover, a clock 1 % fast, and gone for 10 s out of
every 60 s.

Faults of a broken Modbus TCP gateway: ``truncate=P`` cuts an answer after its byte count (on
TCP the MBAP header still announces the whole answer, so the next answer on the connection seems
to complete it; on RTU the frame ends there), ``wrong_length=P`` puts a wrong length into the
MBAP header, ``wrong_tid=P`` answers with another transaction id (these two: TCP only).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


class FaultSpecError(ValueError):
    """A fault string does not parse; the message names the part."""


@dataclass(frozen=True, slots=True)
class Faults:
    no_answer: float = 0.0
    late_s: float = 0.0
    late_p: float = 0.0
    crc_error: float = 0.0
    exception_code: int = 0
    exception_p: float = 0.0
    garble: float = 0.0
    split: bool = False
    stuck: bool = False
    rollover: bool = False
    clock_drift: float = 0.0
    disappear_every_s: float = 0.0
    disappear_for_s: float = 0.0
    truncate: float = 0.0
    wrong_length: float = 0.0
    wrong_tid: float = 0.0

    def gone(self, t: float) -> bool:
        """Whether the meter is off the bus at ``t`` seconds since the simulator started."""
        if self.disappear_every_s <= 0:
            return False
        return (t % self.disappear_every_s) >= self.disappear_every_s - self.disappear_for_s


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one answer."""

    silent: bool = False
    delay_s: float = 0.0
    exception_code: int = 0
    bad_crc: bool = False
    garble: bool = False
    split: bool = False
    truncate: bool = False
    wrong_length: bool = False
    wrong_tid: bool = False


NO_FAULT = Decision()


def decide(faults: Faults, rng: random.Random, t: float) -> Decision:
    if faults == Faults():
        return NO_FAULT
    if faults.gone(t) or (faults.no_answer and rng.random() < faults.no_answer):
        return Decision(silent=True)
    return Decision(
        delay_s=faults.late_s if faults.late_p and rng.random() < faults.late_p else 0.0,
        exception_code=(
            faults.exception_code if faults.exception_p and rng.random() < faults.exception_p else 0
        ),
        bad_crc=bool(faults.crc_error and rng.random() < faults.crc_error),
        garble=bool(faults.garble and rng.random() < faults.garble),
        split=faults.split,
        truncate=bool(faults.truncate and rng.random() < faults.truncate),
        wrong_length=bool(faults.wrong_length and rng.random() < faults.wrong_length),
        wrong_tid=bool(faults.wrong_tid and rng.random() < faults.wrong_tid),
    )


def _prob(text: str, part: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise FaultSpecError(f"fault '{part}': {text!r} is not a number") from None
    if not 0 <= p <= 1:
        raise FaultSpecError(f"fault '{part}': probability {p} not in 0..1")
    return p


def parse_faults(spec: str) -> Faults:
    """Faults from ``"name=value,..."`` (see the module's docstring)."""
    kw: dict[str, float | int | bool] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        try:
            if name == "no_answer":
                kw["no_answer"] = _prob(value or "1", part)
            elif name == "late":
                seconds, _, p = value.partition("@")
                kw["late_s"] = float(seconds)
                kw["late_p"] = _prob(p or "1", part)
            elif name == "crc":
                kw["crc_error"] = _prob(value or "1", part)
            elif name == "exception":
                code, _, p = value.partition("@")
                kw["exception_code"] = int(code)
                kw["exception_p"] = _prob(p or "1", part)
                if not 1 <= int(code) <= 255:
                    raise FaultSpecError(f"fault '{part}': exception code not in 1..255")
            elif name in ("garble", "truncate", "wrong_length", "wrong_tid"):
                kw[name] = _prob(value or "1", part)
            elif name in ("split", "stuck", "rollover"):
                kw[name] = True
            elif name == "drift":
                kw["clock_drift"] = float(value)
            elif name == "disappear":
                every, _, gone = value.partition("/")
                kw["disappear_every_s"] = float(every)
                kw["disappear_for_s"] = float(gone)
                if not 0 < float(gone) < float(every):
                    raise FaultSpecError(f"fault '{part}': want every/gone with 0 < gone < every")
            else:
                raise FaultSpecError(
                    f"unknown fault '{name}' (know: no_answer late crc exception garble split "
                    "stuck rollover drift disappear truncate wrong_length wrong_tid)"
                )
        except ValueError as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"fault '{part}': {exc}") from None
    return Faults(**kw)  # type: ignore[arg-type]
