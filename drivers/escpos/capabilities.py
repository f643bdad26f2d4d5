"""Printer profiles from python-escpos's capability database (escpos-printer-db).

The database describes some 35 printer models: paper width in dots, native QR, cutter, raster
images, code pages. ``profile("escpos:POS-5890")`` builds our :class:`PrinterProfile` from it,
so a utility with one of those printers names its model instead of guessing the capabilities.
Only the data is used: the document encoder is our own (docs/printing.md says why).
"""

from __future__ import annotations

from typing import Any

from drivers.escpos.profile import PrinterProfile, ProfileError

PREFIX = "escpos:"


def _database() -> dict[str, Any]:
    from escpos.capabilities import CAPABILITIES  # loads (and caches) the YAML database

    profiles: dict[str, Any] = CAPABILITIES["profiles"]
    return profiles


def escpos_models() -> list[str]:
    return sorted(_database())


def from_escpos(model: str) -> PrinterProfile:
    """Our profile for a model in python-escpos's database; :class:`ProfileError` names what
    is missing (an unknown model, a width the database does not know, no raster images)."""
    data = _database().get(model)
    if data is None:
        raise ProfileError(f"printer model {model!r} is not in python-escpos's database")
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    if not isinstance(pixels, int):
        raise ProfileError(f"printer model {model!r}: the database gives no paper width in dots")
    features = data.get("features", {})
    if not features.get("bitImageRaster", False):
        raise ProfileError(f"printer model {model!r} cannot print raster images (GS v 0)")
    return PrinterProfile(
        PREFIX + model,
        pixels,
        native_qr=bool(features.get("qrCode", False)),
        cutter=bool(features.get("paperPartCut", False) or features.get("paperFullCut", False)),
    )
