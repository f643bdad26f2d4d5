"""The shipped cashier configuration fits the shipped gateway unit's sandbox.

The gateway unit makes the whole file system read-only but ``ReadWritePaths`` (and its state
directory). This machine has no running systemd, so ``systemd-run`` with the unit's properties
cannot start; instead the unit is parsed for the paths it lets the daemon write and read, the
shipped ``config/cashier.toml`` is checked against them, and the cashier is run with every
absolute path of that file moved under a scratch root: after a payment and its print attempt,
every file it created is inside the unit's writable directory.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from pathlib import Path, PurePosixPath

from contract.bill_cache import BillCachePush
from gateway.cashier.app import CashierApp
from gateway.cashier.config import CashierFile
from gateway.cashier.keys import create_signing_key

ROOT = Path(__file__).parents[3]
UNIT = ROOT / "systemd" / "meter2cash-gateway.service"
SHIPPED = ROOT / "config" / "cashier.toml"


def _service() -> dict[str, list[str]]:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return {k: v.split() for k, v in parser["Service"].items()}


def _writable() -> list[PurePosixPath]:
    service = _service()
    assert service["ProtectSystem"] == ["strict"]  # else more than these would be writable
    paths = [PurePosixPath(p) for p in service.get("ReadWritePaths", [])]
    paths += [PurePosixPath("/var/lib") / d for d in service.get("StateDirectory", [])]
    return paths


def _config_dirs() -> list[PurePosixPath]:
    return [PurePosixPath("/etc") / d for d in _service().get("ConfigurationDirectory", [])]


def _under(path: PurePosixPath, roots: list[PurePosixPath]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def test_the_shipped_cashier_paths_are_where_the_unit_allows() -> None:
    shipped = CashierFile.model_validate(tomllib.loads(SHIPPED.read_text("utf-8")))
    data_dir = PurePosixPath(shipped.cashier.data_dir)
    key = PurePosixPath(shipped.cashier.signing_key)
    assert _under(data_dir, _writable()), f"{data_dir} is read-only under {UNIT.name}"
    assert _under(key, _config_dirs() + _writable()), f"{key} is outside the unit's directories"
    # the check itself can fail: the old paths are refused
    assert not _under(PurePosixPath("/var/lib/m2c"), _writable())
    assert not _under(PurePosixPath("/etc/m2c/receipt-key.pem"), _config_dirs())


def _rebased(raw: dict[str, dict[str, object]], root: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for section, values in raw.items():
        out[section] = {
            k: str(root / str(v).lstrip("/")) if isinstance(v, str) and v.startswith("/") else v
            for k, v in values.items()
        }
    return out


def _files(root: Path) -> set[PurePosixPath]:
    return {
        PurePosixPath("/") / Path(d, f).relative_to(root)
        for d, _, names in os.walk(root)
        for f in names
    }


def test_the_cashier_writes_only_inside_the_units_writable_directory(tmp_path: Path) -> None:
    raw = tomllib.loads(SHIPPED.read_text("utf-8"))
    raw["printer"] = {"transport": "tcp", "address": "127.0.0.1", "port": 9, "profile": "qr-58"}
    raw["printer"]["status_timeout_s"] = 0.2
    config = CashierFile.model_validate(_rebased(raw, tmp_path))
    create_signing_key(config.cashier.signing_key)  # what the installer does, in /etc
    before = _files(tmp_path)
    app = CashierApp.build(config)
    try:
        push = (ROOT / "config" / "samples" / "bill_cache_route.json").read_text("utf-8")
        app.cache.apply(BillCachePush.model_validate_json(push))
        app.cashier.print_notice("HD-2611-0002")
        app.cashier.pay("HD-2611-0002", 89994)
    finally:
        app.close()
    created = _files(tmp_path) - before
    assert created, "the cashier stored nothing"
    outside = [p for p in created if not _under(p, _writable())]
    assert outside == []
