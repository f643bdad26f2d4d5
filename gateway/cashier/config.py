"""The cashier/kiosk configuration file (TOML): ``[cashier]`` and ``[printer]``.

[cashier]
gateway_id = "gw-camau-01"
data_dir = "/var/lib/meter2cash"               # cashier.db: bill cache, payments, print queue
signing_key = "/etc/meter2cash/receipt-key.pem" # m2c cashier keygen --key ...
cashier_name = "Trần Văn Bình"
cashier_phone = "0913 123 456"
receipt_prefix = "BN01"
verify_url = "https://m2c.example.vn"       # central's public page the receipt QR opens
listen_host = "127.0.0.1"
listen_port = 8088
token = ""                                  # required unless listening on loopback

[printer]
transport = "ble"                           # ble | serial | tcp
address = "DC:0D:30:12:34:56"
profile = "generic-58"
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.mqtt import GatewayId
from gateway.printing.config import PrinterConfig

PLACEHOLDERS = {"changeme", "change-me", "secret", "token", "xxx"}


class CashierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gateway_id: GatewayId
    data_dir: Path
    signing_key: Path
    cashier_name: str = Field(min_length=1, max_length=64, pattern=r"^[^*\r\n]+$")
    cashier_phone: str = ""
    receipt_prefix: str = Field(default="BN", pattern=r"^[A-Z0-9-]{1,12}$")
    # central's public receipt page; the receipt QR opens <verify_url>/r/<signed text>.
    # Empty: the QR holds the signed text only (checked with `m2c receipt verify`).
    verify_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8088, ge=0, le=65535)
    token: str = ""

    @model_validator(mode="after")
    def _safe_listen(self) -> CashierConfig:
        if self.token.lower() in PLACEHOLDERS:
            raise ValueError("token is a placeholder; set a real secret")
        if self.token and len(self.token) < 16:
            raise ValueError("token must have at least 16 characters")
        loopback = self.listen_host == "localhost"
        try:
            loopback = loopback or ipaddress.ip_address(self.listen_host).is_loopback
        except ValueError:
            loopback = False
        if not loopback and not self.token:
            raise ValueError(f"listening on {self.listen_host} needs a token")
        return self


class CashierFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cashier: CashierConfig
    printer: PrinterConfig
