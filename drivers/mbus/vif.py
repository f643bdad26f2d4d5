"""Value information fields (EN 13757-3): what a record measures, its unit and decimal scale.

:func:`describe` maps a primary VIF (extension bit cleared) or an extension-table code to a
:class:`Vif`: a quantity name, the unit on the wire, and the power of ten to apply.
"""

from __future__ import annotations

from dataclasses import dataclass

VIF_EXT_FB = 0xFB  # first extension table
VIF_EXT_FD = 0xFD  # second extension table
VIF_PLAIN_TEXT = 0x7C
VIF_MANUFACTURER = 0x7F
VIF_ANY = 0x7E


@dataclass(frozen=True)
class Vif:
    quantity: str
    unit: str
    exponent: int = 0
    kind: str = "number"  # "number", "date", "datetime", "duration", "id", "text"


_DURATION_UNITS = ("s", "min", "h", "d")


def describe(code: int) -> Vif:
    """A primary VIF, bit 7 already cleared."""
    n3, n2 = code & 0x07, code & 0x03
    group = code & 0x78
    if group == 0x00:
        return Vif("energy", "Wh", n3 - 3)
    if group == 0x08:
        return Vif("energy", "J", n3)
    if group == 0x10:
        return Vif("volume", "m3", n3 - 6)
    if group == 0x18:
        return Vif("mass", "kg", n3 - 3)
    if code & 0x7C == 0x20:
        return Vif("on_time", _DURATION_UNITS[n2], 0, "duration")
    if code & 0x7C == 0x24:
        return Vif("operating_time", _DURATION_UNITS[n2], 0, "duration")
    if group == 0x28:
        return Vif("power", "W", n3 - 3)
    if group == 0x30:
        return Vif("power", "J/h", n3)
    if group == 0x38:
        return Vif("volume_flow", "m3/h", n3 - 6)
    if group == 0x40:
        return Vif("volume_flow", "m3/min", n3 - 7)
    if group == 0x48:
        return Vif("volume_flow", "m3/s", n3 - 9)
    if group == 0x50:
        return Vif("mass_flow", "kg/h", n3 - 3)
    simple = {
        0x58: ("flow_temperature", "degC"),
        0x5C: ("return_temperature", "degC"),
        0x60: ("temperature_difference", "K"),
        0x64: ("external_temperature", "degC"),
        0x68: ("pressure", "bar"),
    }
    if code & 0x7C in simple:
        name, unit = simple[code & 0x7C]
        return Vif(name, unit, n2 - 3)
    if code == 0x6C:
        return Vif("date", "", 0, "date")
    if code == 0x6D:
        return Vif("datetime", "", 0, "datetime")
    if code == 0x6E:
        return Vif("hca_units", "", 0)
    if code & 0x7C == 0x70:
        return Vif("averaging_duration", _DURATION_UNITS[n2], 0, "duration")
    if code & 0x7C == 0x74:
        return Vif("actuality_duration", _DURATION_UNITS[n2], 0, "duration")
    if code == 0x78:
        return Vif("fabrication_no", "", 0, "id")
    if code == 0x79:
        return Vif("enhanced_id", "", 0, "id")
    if code == 0x7A:
        return Vif("bus_address", "", 0, "id")
    return Vif(f"vif_{code:02x}", "", 0)


def describe_fb(code: int) -> Vif:
    """First extension table (after VIF 0xFB), bit 7 cleared: the large units."""
    n = code & 0x01
    if code & 0x7E == 0x00:
        return Vif("energy", "Wh", n + 5)  # MWh × 10^(n-1)
    if code & 0x7E == 0x08:
        return Vif("energy", "J", n + 8)  # GJ × 10^(n-1)
    if code & 0x7E == 0x10:
        return Vif("volume", "m3", n + 2)
    if code & 0x7E == 0x28:
        return Vif("power", "W", n + 5)  # MW × 10^(n-1)
    return Vif(f"vif_fb_{code:02x}", "", 0)


_FD: dict[int, Vif] = {
    0x08: Vif("access_number", "", 0, "id"),
    0x09: Vif("medium", "", 0, "id"),
    0x0A: Vif("manufacturer", "", 0, "id"),
    0x0B: Vif("parameter_set", "", 0, "id"),
    0x0C: Vif("model_version", "", 0, "id"),
    0x0D: Vif("hardware_version", "", 0, "id"),
    0x0E: Vif("firmware_version", "", 0, "id"),
    0x0F: Vif("software_version", "", 0, "id"),
    0x11: Vif("customer", "", 0, "text"),
    0x16: Vif("password", "", 0, "id"),
    0x17: Vif("error_flags", "", 0, "id"),
}


def describe_fd(code: int) -> Vif:
    """Second extension table (after VIF 0xFD), bit 7 cleared."""
    return _FD.get(code, Vif(f"vif_fd_{code:02x}", "", 0))


def vife_exponent(vife: int) -> int:
    """Extra power of ten from a combinable VIFE: E111 0nnn (10^(nnn-6)) or E111 1101 (10^3)."""
    code = vife & 0x7F
    if code & 0x78 == 0x70:
        return (code & 0x07) - 6
    if code == 0x7D:
        return 3
    return 0
