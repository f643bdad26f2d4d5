"""A catalog of tariffs by code, read from ``config/tariffs/*.toml``."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from central.tariffs.model import Tariff, TariffDataError, TariffVersion
from central.tariffs.schema import parse_tariff

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "config" / "tariffs"


@dataclass(frozen=True)
class Catalog(Mapping[str, Tariff]):
    tariffs: Mapping[str, Tariff] = field(default_factory=dict)

    def __getitem__(self, code: str) -> Tariff:
        return self.tariffs[code]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.tariffs))

    def __len__(self) -> int:
        return len(self.tariffs)

    def with_version(self, code: str, version: TariffVersion) -> Catalog:
        tariffs = dict(self.tariffs)
        tariffs[code] = tariffs[code].with_version(version)
        return Catalog(tariffs)


def load_file(path: Path) -> Tariff:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TariffDataError(f"{path}: cannot read tariff: {exc}") from exc
    return parse_tariff(data, str(path))


def load_dir(directory: Path = DEFAULT_DIR) -> Catalog:
    tariffs: dict[str, Tariff] = {}
    for path in sorted(directory.glob("*.toml")):
        tariff = load_file(path)
        if tariff.code in tariffs:
            raise TariffDataError(f"{path}: tariff code {tariff.code!r} is defined twice")
        tariffs[tariff.code] = tariff
    return Catalog(tariffs)
