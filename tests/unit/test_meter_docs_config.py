"""The gateway accepts the configuration the meter docs show, key for key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from m2c.configfile import ConfigError, load

DOCS = Path(__file__).resolve().parents[2] / "docs"


def toml_blocks(doc: str) -> list[str]:
    text = (DOCS / doc).read_text()
    return [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[[buses]]" in b]


@pytest.mark.parametrize("doc", ["modbus.md", "meters-serial.md"])
def test_the_documented_gateway_configuration_loads(doc: str, tmp_path: Path) -> None:
    (block,) = toml_blocks(doc)
    # The documented model directory must exist for the gateway to accept it: stand one in.
    models = tmp_path / "meters"
    models.mkdir()
    path = tmp_path / "gateway.toml"
    path.write_text(block.replace("/etc/meter2cash/meters", str(models)))
    settings = load(GatewaySettings, path)
    assert settings.buses
    if doc == "modbus.md":
        assert "/etc/meter2cash/meters" in block
        assert settings.polling.meter_models == [models]


def test_the_old_name_of_the_model_directories_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('model_dirs = ["/etc/meter2cash/meters"]\n')
    with pytest.raises(ConfigError) as info:
        load(GatewaySettings, path)
    assert "key 'model_dirs': unknown key" in str(info.value)
