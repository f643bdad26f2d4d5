"""Meter models as data: TOML files under ``config/meters`` (and a site's own directories).

A model file has a ``[model]`` table (name and limits), an optional ``[defaults]`` table and
``[[registers]]``. pydantic checks the file at the edge; the result is a frozen
:class:`~drivers.modbus.types.MeterModel`. Every error names the file, the key and the reason.

A site uses a model by name for any number of meters and may override it per meter
(:class:`MeterOverrides`, :func:`apply_overrides`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drivers.modbus.types import (
    MODBUS_MAX_READ,
    FunctionCode,
    Limits,
    MeterModel,
    Order,
    Part,
    Register,
    RegisterType,
    Span,
    Undocumented,
)

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "config" / "meters"
QUANTITY_PATTERN = r"^[a-z0-9_.]+$"  # as contract.mqtt.Reading.quantity


class ModelError(Exception):
    """A model file or an override is wrong. ``where`` is the file, ``key`` the dotted key."""

    def __init__(self, where: str, key: str, reason: str) -> None:
        self.where = where
        self.key = key
        self.reason = reason
        super().__init__(f"meter model error in {where}: key '{key}': {reason}")


class _Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ModelSection(_Edge):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    maker: str = ""
    description: str = ""
    max_registers: int = Field(default=MODBUS_MAX_READ, ge=1, le=MODBUS_MAX_READ)
    silence_ms: float = Field(default=5.0, ge=0, le=10_000)
    timeout_ms: float = Field(default=1000.0, gt=0, le=60_000)
    max_gap: int | None = Field(default=None, ge=0)
    undocumented: Undocumented = Field(
        default="zeros",
        description="what the meter answers for a register outside [[documented]]",
    )


class _Documented(_Edge):
    fc: FunctionCode
    ranges: list[tuple[int, int]] = Field(min_length=1, description="[first, last] inclusive")


class _Defaults(_Edge):
    fc: FunctionCode = 3
    type: RegisterType = "u16"
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0


class _PartEntry(_Edge):
    address: int = Field(ge=0, le=0xFFFF)
    type: RegisterType | None = None
    byte_order: Order | None = None
    word_order: Order | None = None
    scale: float | None = None


class RegisterEntry(_Edge):
    """One ``[[registers]]`` entry: either ``address`` (+ ``type``...) or ``parts``."""

    quantity: str = Field(min_length=1, max_length=64, pattern=QUANTITY_PATTERN)
    unit: str = Field(default="", max_length=16)
    fc: FunctionCode | None = None
    address: int | None = Field(default=None, ge=0, le=0xFFFF)
    type: RegisterType | None = None
    byte_order: Order | None = None
    word_order: Order | None = None
    scale: float | None = None
    digits: int | None = Field(default=None, ge=1, le=18)
    parts: list[_PartEntry] | None = None


class _ModelFile(_Edge):
    model: _ModelSection
    defaults: _Defaults = _Defaults()
    documented: list[_Documented] = Field(default_factory=list)
    registers: list[RegisterEntry] = Field(min_length=1)


class MeterOverrides(_Edge):
    """Per-meter changes to a model, from a site's configuration."""

    max_registers: int | None = Field(default=None, ge=1, le=MODBUS_MAX_READ)
    silence_ms: float | None = Field(default=None, ge=0, le=10_000)
    timeout_ms: float | None = Field(default=None, gt=0, le=60_000)
    max_gap: int | None = Field(default=None, ge=0)
    byte_order: Order | None = Field(default=None, description="for every register")
    word_order: Order | None = Field(default=None, description="for every register")
    quantities: list[str] | None = Field(default=None, description="read only these")
    registers: list[RegisterEntry] = Field(
        default_factory=list, description="added, or replacing the model's of the same quantity"
    )


def _fmt(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "<top>"
    reason = "unknown key (misspelt?)" if err["type"] == "extra_forbidden" else err["msg"]
    more = len(exc.errors()) - 1
    return key, reason + (f" (and {more} more)" if more else "")


def _register(entry: RegisterEntry, defaults: _Defaults, where: str, key: str) -> Register:
    def part(p: _PartEntry | RegisterEntry, address: int) -> Part:
        return Part(
            address=address,
            type=p.type or entry.type or defaults.type,
            byte_order=p.byte_order or entry.byte_order or defaults.byte_order,
            word_order=p.word_order or entry.word_order or defaults.word_order,
            scale=p.scale
            if p.scale is not None
            else (entry.scale if entry.scale is not None else defaults.scale),
        )

    try:
        if entry.parts is not None:
            if entry.address is not None:
                raise ValueError("give either 'address' or 'parts', not both")
            if not entry.parts:
                raise ValueError("'parts' is empty")
            parts = tuple(part(p, p.address) for p in entry.parts)
        elif entry.address is None:
            raise ValueError("missing 'address' (or 'parts')")
        else:
            parts = (part(entry, entry.address),)
        return Register(
            quantity=entry.quantity,
            fc=entry.fc or defaults.fc,
            parts=parts,
            unit=entry.unit,
            digits=entry.digits,
        )
    except ValueError as exc:
        raise ModelError(where, key, str(exc)) from exc


def _check_overlaps(registers: Sequence[Register], where: str, key: str) -> None:
    seen: dict[tuple[int, int], str] = {}
    for reg in registers:
        for p in reg.parts:
            for addr in range(p.address, p.end):
                other = seen.get((reg.fc, addr))
                if other is not None and other != reg.quantity:
                    raise ModelError(
                        where,
                        key,
                        f"'{reg.quantity}' and '{other}' both use FC{reg.fc:02d} "
                        f"register {addr:#06x}",
                    )
                seen[(reg.fc, addr)] = reg.quantity


def parse_model(data: dict[str, Any], *, where: str = "<memory>") -> MeterModel:
    """Build a model from a parsed TOML document."""
    try:
        doc = _ModelFile.model_validate(data)
    except ValidationError as exc:
        raise ModelError(where, *_fmt(exc)) from exc
    registers: list[Register] = []
    names: set[str] = set()
    for i, entry in enumerate(doc.registers):
        key = f"registers.{i}"
        if entry.quantity in names:
            raise ModelError(where, f"{key}.quantity", f"'{entry.quantity}' is listed twice")
        names.add(entry.quantity)
        reg = _register(entry, doc.defaults, where, key)
        widest = max(p.end for p in reg.parts) - min(p.address for p in reg.parts)
        if widest > doc.model.max_registers:
            raise ModelError(
                where, key, f"spans {widest} registers, more than max_registers in one request"
            )
        registers.append(reg)
    _check_overlaps(registers, where, "registers")
    m = doc.model
    spans: list[Span] = []
    for i, d in enumerate(doc.documented):
        for k, (first, last) in enumerate(d.ranges):
            try:
                spans.append(Span(d.fc, first, last))
            except ValueError as exc:
                raise ModelError(where, f"documented.{i}.ranges.{k}", str(exc)) from exc
    if m.undocumented == "exception" and not spans:
        raise ModelError(
            where, "model.undocumented", "'exception' needs the [[documented]] registers"
        )
    model = MeterModel(
        name=m.name,
        maker=m.maker,
        description=m.description,
        registers=tuple(registers),
        limits=Limits(
            max_registers=m.max_registers,
            silence_s=m.silence_ms / 1000,
            timeout_s=m.timeout_ms / 1000,
            max_gap=m.max_gap,
        ),
        source=where,
        documented=tuple(spans),
        undocumented=m.undocumented,
    )
    for i, reg in enumerate(model.registers):
        for p in reg.parts:
            if not model.is_documented(reg.fc, p.address, p.end):
                raise ModelError(
                    where,
                    f"registers.{i}",
                    f"FC{reg.fc:02d} {p.address:#06x}+{p.width} is outside [[documented]]",
                )
    return model


def load_model_file(path: Path) -> MeterModel:
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelError(where, "<file>", f"cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelError(where, "<file>", f"not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(where, "<file>", f"not valid TOML: {exc}") from exc
    return parse_model(data, where=where)


class ModelCatalog:
    """Models found by name in the built-in directory and a site's own directories.

    A later directory wins over an earlier one, so a site can replace a built-in model.
    """

    def __init__(self, dirs: Iterable[Path] = (), *, builtin: bool = True) -> None:
        self._dirs = ([BUILTIN_DIR] if builtin else []) + [Path(d) for d in dirs]
        self._cache: dict[str, MeterModel] = {}

    def _files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for d in self._dirs:
            if not d.is_dir():
                raise ModelError(str(d), "<dir>", "meter model directory does not exist")
            for path in sorted(d.glob("*.toml")):
                found[path.stem] = path
        return found

    def names(self) -> list[str]:
        return sorted(self._files())

    def get(self, name: str) -> MeterModel:
        if name in self._cache:
            return self._cache[name]
        files = self._files()
        path = files.get(name)
        if path is None:
            known = ", ".join(sorted(files)) or "none"
            raise ModelError(
                " ".join(str(d) for d in self._dirs), "model", f"no model '{name}' (known: {known})"
            )
        model = load_model_file(path)
        if model.name != name:
            raise ModelError(
                str(path), "model.name", f"is '{model.name}' but the file is named '{name}.toml'"
            )
        self._cache[name] = model
        return model


def apply_overrides(
    model: MeterModel, overrides: MeterOverrides, *, where: str = "overrides"
) -> MeterModel:
    """The model as one meter uses it: limits, orders and registers changed as asked."""
    lim = model.limits
    try:
        limits = Limits(
            max_registers=overrides.max_registers or lim.max_registers,
            silence_s=lim.silence_s
            if overrides.silence_ms is None
            else overrides.silence_ms / 1000,
            timeout_s=lim.timeout_s
            if overrides.timeout_ms is None
            else overrides.timeout_ms / 1000,
            max_gap=lim.max_gap if overrides.max_gap is None else overrides.max_gap,
        )
    except ValueError as exc:
        raise ModelError(where, "<limits>", str(exc)) from exc
    registers = {reg.quantity: reg for reg in model.registers}
    defaults = _Defaults()
    for i, entry in enumerate(overrides.registers):
        registers[entry.quantity] = _register(entry, defaults, where, f"registers.{i}")
    if overrides.quantities is not None:
        unknown = [q for q in overrides.quantities if q not in registers]
        if unknown:
            raise ModelError(
                where,
                "quantities",
                f"model '{model.name}' has no {', '.join(unknown)} "
                f"(it has: {', '.join(registers)})",
            )
        registers = {q: registers[q] for q in overrides.quantities}
    out: list[Register] = []
    for reg in registers.values():
        parts = tuple(
            dataclasses.replace(
                p,
                byte_order=overrides.byte_order or p.byte_order,
                word_order=overrides.word_order or p.word_order,
            )
            for p in reg.parts
        )
        widest = max(p.end for p in parts) - min(p.address for p in parts)
        if widest > limits.max_registers:
            raise ModelError(
                where, "max_registers", f"'{reg.quantity}' needs {widest} registers in one request"
            )
        out.append(dataclasses.replace(reg, parts=parts))
    _check_overlaps(out, where, "registers")
    return dataclasses.replace(model, registers=tuple(out), limits=limits)
