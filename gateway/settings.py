"""The gateway's typed configuration (TOML file, overridden by ``M2C_GW_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from contract.mqtt import GATEWAY_ID_RE


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive_s: int = Field(default=30, ge=5)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    max_inflight: int = Field(default=20, ge=1, le=65535)

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.lower() in {"changeme", "change-me", "password", "secret"}:
            raise ValueError("is a placeholder: set a real password")
        return value


class OutboxSettings(_Section):
    path: Path = Path("var/gateway/outbox.db")
    max_batch: int = Field(default=500, ge=1, le=10_000)


class SimpleModbusTcpMeter(_Section):
    """An Eastron SDM630 on Modbus TCP, read in one block (the walking skeleton's meter)."""

    id: str
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=1, le=247)
    period_s: float = Field(default=5.0, gt=0)


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_GW_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    gateway_id: str = "gw-1"
    mqtt: MqttSettings = MqttSettings()
    outbox: OutboxSettings = OutboxSettings()
    meters: tuple[SimpleModbusTcpMeter, ...] = ()

    @field_validator("gateway_id")
    @classmethod
    def _gateway_id(cls, value: str) -> str:
        if not GATEWAY_ID_RE.fullmatch(value):
            raise ValueError(f"must match {GATEWAY_ID_RE.pattern}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which is passed in as init arguments.
        return env_settings, init_settings
