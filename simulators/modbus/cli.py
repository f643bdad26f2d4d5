"""Meters of a simulated bus from command-line arguments or a TOML file.

``--meter 1-32=eastron-sdm630`` puts 32 SDM630 at unit ids 1..32; ``--fault 5:no_answer=0.5``
gives unit 5 faults (see :mod:`simulators.modbus.faults`). A file has ``[[meters]]`` tables with
``units``, ``model`` and optional ``faults``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulators.modbus.faults import Faults, FaultSpecError, parse_faults
from simulators.modbus.meter import MeterSpec


class SimSpecError(ValueError):
    """A ``--meter``/``--fault`` argument or a simulator file is wrong."""


class _MeterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: str = Field(description='"7" or "1-32"')
    model: str
    faults: str = ""


class SimFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meters: list[_MeterEntry] = Field(min_length=1)


def parse_units(text: str) -> list[int]:
    first, _, last = text.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise SimSpecError(f"unit ids {text!r}: want N or N-M") from None
    if not 1 <= lo <= hi <= 247:
        raise SimSpecError(f"unit ids {text!r}: want 1 <= N <= M <= 247")
    return list(range(lo, hi + 1))


def meters_from_args(
    meters: Sequence[str], faults: Sequence[str], config: Path | None = None
) -> list[MeterSpec]:
    entries: list[tuple[str, str, str]] = []
    if config is not None:
        try:
            doc = SimFile.model_validate(tomllib.loads(config.read_text()))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
            raise SimSpecError(f"{config}: {exc}") from exc
        entries += [(m.units, m.model, m.faults) for m in doc.meters]
    for arg in meters:
        units, sep, model = arg.partition("=")
        if not sep or not model:
            raise SimSpecError(f"--meter {arg!r}: want UNITS=MODEL, e.g. 1-32=eastron-sdm630")
        entries.append((units, model, ""))
    by_unit: dict[int, tuple[str, Faults]] = {}
    try:
        for units, model, spec in entries:
            for u in parse_units(units):
                by_unit[u] = (model, parse_faults(spec))
        for arg in faults:
            units, sep, spec = arg.partition(":")
            if not sep:
                raise SimSpecError(f"--fault {arg!r}: want UNITS:SPEC, e.g. 5:no_answer=0.5")
            for u in parse_units(units):
                if u not in by_unit:
                    raise SimSpecError(f"--fault {arg!r}: no meter at unit {u}")
                by_unit[u] = (by_unit[u][0], parse_faults(spec))
    except FaultSpecError as exc:
        raise SimSpecError(str(exc)) from exc
    if not by_unit:
        raise SimSpecError("no meters: give --meter UNITS=MODEL or --config FILE")
    return [MeterSpec(u, model, faults=f) for u, (model, f) in sorted(by_unit.items())]
