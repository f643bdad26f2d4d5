"""Printer configuration (TOML ``[printer]``) and the transport it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.escpos.profile import PrinterProfile, profile
from drivers.escpos.template import Template, load_template
from drivers.printers.base import PrinterTransport

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"


class PrinterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="field", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    transport: Literal["ble", "serial", "tcp"]
    # BLE: the printer's address; serial: a device or pyserial URL; tcp: host name or address
    address: str = Field(min_length=1)
    port: int = Field(default=9100, ge=1, le=65535)
    baudrate: int = 9600
    profile: str = "generic-58"
    notice_template: Path = DEFAULT_TEMPLATES / "notice.toml"
    receipt_template: Path = DEFAULT_TEMPLATES / "receipt.toml"
    status_timeout_s: float = Field(default=2.0, gt=0)
    # tcp: the slowest link the printer is used on; the confirmation wait for a job of N bytes
    # is status_timeout_s + N / min_rate_bps until the link's own speed has been measured
    min_rate_bps: float = Field(default=1000.0, gt=0)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        profile(value)  # ProfileError (a ValueError) names what is wrong
        return value

    def printer_profile(self) -> PrinterProfile:
        return profile(self.profile)

    def templates(self) -> tuple[Template, Template]:
        return load_template(self.notice_template), load_template(self.receipt_template)


def build_transport(config: PrinterConfig, *, ble_backend: Any = None) -> PrinterTransport:
    """The transport for ``config``; ``ble_backend`` is a bleak client backend class."""
    if config.transport == "tcp":
        from drivers.printers.tcp import TcpPrinter

        return TcpPrinter(
            config.address,
            config.port,
            status_timeout=config.status_timeout_s,
            min_rate_bps=config.min_rate_bps,
        )
    if config.transport == "serial":
        from drivers.printers.serial import SerialPrinter

        return SerialPrinter(
            config.address, baudrate=config.baudrate, status_timeout=config.status_timeout_s
        )
    from drivers.printers.ble import BlePrinter

    return BlePrinter(config.address, backend=ble_backend, status_timeout=config.status_timeout_s)
