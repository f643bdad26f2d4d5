from __future__ import annotations

from pathlib import Path

import pytest

from drivers.modbus.models import (
    MeterOverrides,
    ModelCatalog,
    ModelError,
    apply_overrides,
    load_model_file,
    parse_model,
)
from drivers.modbus.types import Part

REFERENCE_SDM630 = {
    "voltage_l1": 0x0000,
    "voltage_l2": 0x0002,
    "voltage_l3": 0x0004,
    "current_l1": 0x0006,
    "current_l2": 0x0008,
    "current_l3": 0x000A,
    "power_active_l1": 0x000C,
    "power_active_l2": 0x000E,
    "power_active_l3": 0x0010,
    "power_active": 0x0034,
    "power_factor_total": 0x003E,
    "frequency": 0x0046,
    "energy_import": 0x0048,
    "energy_export": 0x004A,
    "energy_absolute": 0x0156,
}


def test_builtin_models_are_all_found() -> None:
    assert ModelCatalog().names() == [
        "dynaflox-ultrad",
        "eastron-sdm120",
        "eastron-sdm630",
        "eastron-sdm72d",
        "generic",
    ]


def test_sdm630_matches_the_reference_map() -> None:
    m = ModelCatalog().get("eastron-sdm630")
    got = {r.quantity: r.parts[0].address for r in m.registers}
    assert got == REFERENCE_SDM630
    for r in m.registers:
        assert r.fc == 4
        assert r.parts == (Part(got[r.quantity], "f32", "big", "big"),)
    assert m.limits.max_registers == 80
    assert m.limits.silence_s == pytest.approx(0.060)


def test_sdm120_power_factor_and_sdm72d_limit() -> None:
    cat = ModelCatalog()
    assert cat.get("eastron-sdm120").register("power_factor_total").parts[0].address == 0x1E
    assert cat.get("eastron-sdm72d").limits.max_registers == 60


def test_ultrad_totals_are_integer_plus_millilitres() -> None:
    m = ModelCatalog().get("dynaflox-ultrad")
    fwd = m.register("volume")
    assert fwd.fc == 3
    assert [(p.address, p.type, p.scale) for p in fwd.parts] == [(2, "u32", 1.0), (4, "u32", 1e-6)]
    assert fwd.digits == 8
    assert m.limits.max_registers == 22
    assert all(r.fc == 3 for r in m.registers)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


GOOD = """
[model]
name = "mine"
max_registers = 10
[[registers]]
quantity = "a"
address = 0
"""


def test_user_directory_adds_and_overrides_models(tmp_path: Path) -> None:
    _write(tmp_path, "mine", GOOD)
    _write(tmp_path, "generic", GOOD.replace('"mine"', '"generic"'))
    cat = ModelCatalog([tmp_path])
    assert "mine" in cat.names()
    assert cat.get("generic").limits.max_registers == 10
    assert cat.get("generic").source == str(tmp_path / "generic.toml")


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (GOOD.replace("address = 0", "adress = 0"), "registers.0.adress", "unknown key"),
        (GOOD.replace('quantity = "a"', 'quantity = "Volt L1"'), "registers.0.quantity", "pattern"),
        (GOOD + '[[registers]]\nquantity = "a"\naddress = 4\n', "registers.1.quantity", "twice"),
        (GOOD + '[[registers]]\nquantity = "b"\naddress = 0\n', "registers", "both use FC03"),
        (GOOD.replace("address = 0", 'type = "u16"'), "registers.0", "missing 'address'"),
        (GOOD.replace("address = 0", 'address = 0\ntype = "f128"'), "registers.0.type", "f32"),
        (GOOD.replace("max_registers = 10", "max_registers = 200"), "model.max_registers", "125"),
        (
            GOOD.replace("address = 0", 'address = 0\ntype = "u64"').replace("= 10", "= 3"),
            "registers.0",
            "spans 4 registers",
        ),
        ("[model\n", "<file>", "not valid TOML"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = _write(tmp_path, "mine", text)
    with pytest.raises(ModelError) as info:
        load_model_file(path)
    assert info.value.where == str(path)
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(path) in str(info.value)


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match=r"no model 'sdm999'.*eastron-sdm630"):
        ModelCatalog().get("sdm999")


def test_file_name_and_model_name_must_agree(tmp_path: Path) -> None:
    _write(tmp_path, "other", GOOD)
    with pytest.raises(ModelError, match=r"model\.name"):
        ModelCatalog([tmp_path]).get("other")


def test_overrides_change_limits_orders_and_registers() -> None:
    base = ModelCatalog().get("eastron-sdm630")
    over = MeterOverrides.model_validate(
        {
            "max_registers": 40,
            "silence_ms": 100,
            "word_order": "little",
            "quantities": ["voltage_l1", "energy_import", "extra"],
            "registers": [{"quantity": "extra", "fc": 3, "address": 0x14, "type": "f32"}],
        }
    )
    m = apply_overrides(base, over)
    assert m.quantities == ("voltage_l1", "energy_import", "extra")
    assert m.limits.max_registers == 40
    assert m.limits.silence_s == pytest.approx(0.1)
    assert m.limits.timeout_s == base.limits.timeout_s
    assert {p.word_order for r in m.registers for p in r.parts} == {"little"}
    assert m.register("extra").fc == 3
    assert base.limits.max_registers == 80  # the shared model is untouched


def test_override_of_an_unknown_quantity_is_refused() -> None:
    base = ModelCatalog().get("eastron-sdm120")
    with pytest.raises(ModelError, match="no voltage_l3") as info:
        apply_overrides(base, MeterOverrides(quantities=["voltage_l3"]), where="meter m1")
    assert info.value.where == "meter m1"


def test_parse_model_from_memory_reports_memory() -> None:
    with pytest.raises(ModelError, match=r"<memory>.*'model'"):
        parse_model({"registers": []})


def _doc(model: str, documented: str) -> dict[str, object]:
    import tomllib

    return tomllib.loads(
        f'[model]\nname = "x"\n{model}\n{documented}\n'
        '[[registers]]\nquantity = "a"\naddress = 0\n\n'
        '[[registers]]\nquantity = "b"\naddress = 8\n'
    )


def test_what_a_meter_refuses_is_part_of_its_model() -> None:
    m = parse_model(
        _doc('undocumented = "exception"', "[[documented]]\nfc = 3\nranges = [[0, 3], [6, 9]]")
    )
    assert m.undocumented == "exception"
    assert m.is_documented(3, 0, 4)
    assert m.is_documented(3, 6, 10)
    assert not m.is_documented(3, 0, 9)  # 4 and 5 are not documented
    assert not m.is_documented(4, 0, 1)  # nor any input register
    assert parse_model(_doc("", "")).is_documented(3, 0, 0x1000)  # nothing said: all readable


@pytest.mark.parametrize(
    ("model", "documented", "key", "reason"),
    [
        ('undocumented = "exception"', "", "model.undocumented", "needs the [[documented]]"),
        ("", "[[documented]]\nfc = 3\nranges = [[5, 2]]", "documented.0.ranges.0", "first"),
        (
            'undocumented = "exception"',
            "[[documented]]\nfc = 3\nranges = [[0, 1]]",
            "registers.1",
            "outside [[documented]]",
        ),
        ('undocumented = "sometimes"', "", "model.undocumented", "zeros"),
    ],
)
def test_a_wrong_refusal_description_names_its_key(
    model: str, documented: str, key: str, reason: str
) -> None:
    with pytest.raises(ModelError) as info:
        parse_model(_doc(model, documented))
    assert info.value.key == key
    assert reason in info.value.reason
