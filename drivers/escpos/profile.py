"""What a printer can do: paper width, native QR, cutter, text mode, raster alignment."""

from __future__ import annotations

from dataclasses import dataclass


class ProfileError(ValueError):
    """An unknown profile name or impossible capability values."""


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    width_dots: int  # 384 on 58 mm paper, 576 on 80 mm (203 dpi)
    native_qr: bool = False  # GS ( k model 2
    cutter: bool = False  # GS V
    text_mode: bool = True  # ASCII-only lines may go as text (font A, 12x24)
    raster_align: bool = True  # ESC a positions GS v 0 images
    qr_module_dots: int = 3  # module size for raster QR (and native QR)

    def __post_init__(self) -> None:
        if self.width_dots % 8 or not 128 <= self.width_dots <= 832:
            raise ProfileError(f"profile {self.name}: width {self.width_dots} dots")
        if not 1 <= self.qr_module_dots <= 16:
            raise ProfileError(f"profile {self.name}: QR module {self.qr_module_dots} dots")

    @property
    def text_columns(self) -> int:
        """Characters per line in font A (12 dots wide)."""
        return self.width_dots // 12


PROFILES: dict[str, PrinterProfile] = {
    p.name: p
    for p in (
        # Cheap Bluetooth 58 mm printers (MPT-II, PT-210 class): no cutter, raster QR is safest.
        PrinterProfile("generic-58", 384),
        # The same with native QR (Xprinter XP-P300, GoojPrt PT-210 recent firmware).
        PrinterProfile("qr-58", 384, native_qr=True),
        # 80 mm kiosk printers (Epson TM-T20/T88 class).
        PrinterProfile("generic-80", 576, native_qr=True, cutter=True),
        # 80 mm without native QR.
        PrinterProfile("raster-80", 576, cutter=True),
    )
}


def profile(name: str) -> PrinterProfile:
    """A profile by name: one of :data:`PROFILES`, or ``escpos:<model>`` for a model of
    python-escpos's capability database (:mod:`drivers.escpos.capabilities`)."""
    if name.startswith("escpos:"):
        from drivers.escpos.capabilities import from_escpos

        return from_escpos(name.removeprefix("escpos:"))
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(
            f"unknown printer profile {name!r}; known: {sorted(PROFILES)} or escpos:<model>"
        ) from None
