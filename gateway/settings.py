"""The gateway's typed configuration (TOML file, overridden by ``M2C_GW_*`` variables)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from contract.mqtt import GATEWAY_ID_RE, METER_ID_RE
from gateway.polling.config import Bus, PollingConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = Field(default=None, description="default m2c-gw-<gateway_id>")
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    fallback_311: bool = Field(
        default=True, description="retry as MQTT 3.1.1 when the broker refuses protocol 5"
    )
    keepalive_s: int = Field(default=30, ge=5)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    max_inflight: int = Field(default=20, ge=1, le=65535)
    rate_limit_msgs_s: float = Field(default=200.0, gt=0, description="messages per second")
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.lower() in {"changeme", "change-me", "password", "secret"}:
            raise ValueError("is a placeholder: set a real password")
        return value

    @model_validator(mode="after")
    def _tls_files(self) -> MqttSettings:
        if (self.cert_file is None) != (self.key_file is None) and self.key_file is not None:
            raise ValueError("key_file needs cert_file")
        if not self.tls and (self.ca_file or self.cert_file):
            raise ValueError("ca_file/cert_file given but tls = false")
        return self


class OutboxSettings(_Section):
    path: Path = Path("var/gateway/outbox.db")
    max_batch: int = Field(default=500, ge=1, le=10_000, description="readings per message")
    max_message_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Quota: when either limit is passed, readings go by ``drop_policy`` until 95 % remain.
    max_items: int = Field(default=5_000_000, ge=100)
    max_bytes: int = Field(default=1024 * 1024 * 1024, ge=64 * 1024)
    drop_policy: Literal["priority", "oldest"] = "priority"
    cumulative_prefixes: tuple[str, ...] = ("energy", "volume", "counter", "register")
    instantaneous_prefixes: tuple[str, ...] = (
        "voltage",
        "current",
        "power",
        "frequency",
        "flow",
        "temperature",
        "pressure",
    )


class MetricsSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535, description="0 picks a free port")


class StatusSettings(_Section):
    path: Path = Path("var/gateway/status.json")
    interval_s: float = Field(default=5.0, gt=0)


class DownlinkSettings(_Section):
    pushed_config: Path = Field(
        default=Path("var/gateway/pushed-config.json"),
        description="configuration pushed from central, laid over the TOML file",
    )


class SyntheticMeter(_Section):
    """A deterministic test meter: sample ``n`` has timestamp ``base_ts + n * step_s`` and values
    that are a function of ``n``; its position is checkpointed with the readings, so after a
    crash it resumes exactly where the committed data ends. ``count`` samples, then it stops."""

    id: str
    quantities: tuple[str, ...] = ("energy_import", "voltage_l1")
    period_s: float = Field(default=1.0, gt=0, description="wall time between reads")
    samples_per_read: int = Field(default=1, ge=1, le=10_000)
    step_s: float = Field(default=1.0, gt=0)
    base_ts: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    count: int | None = Field(default=None, ge=1)

    @field_validator("id")
    @classmethod
    def _meter_id(cls, value: str) -> str:
        if not METER_ID_RE.fullmatch(value):
            raise ValueError(f"must match {METER_ID_RE.pattern}")
        return value


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_GW_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    gateway_id: str = "gw-1"
    mqtt: MqttSettings = MqttSettings()
    outbox: OutboxSettings = OutboxSettings()
    metrics: MetricsSettings = MetricsSettings()
    status: StatusSettings = StatusSettings()
    downlink: DownlinkSettings = DownlinkSettings()
    watchdog_s: float = Field(default=10.0, gt=0, description="sd_notify WATCHDOG=1 interval")
    meter_models: tuple[Path, ...] = Field(
        default=(), description="more meter model folders, besides config/meters"
    )
    buses: tuple[Bus, ...] = ()
    cashier: Path | None = Field(
        default=None, description="the field cashier's TOML file (see config/cashier.toml)"
    )
    synthetic: tuple[SyntheticMeter, ...] = ()

    @field_validator("gateway_id")
    @classmethod
    def _gateway_id(cls, value: str) -> str:
        if not GATEWAY_ID_RE.fullmatch(value):
            raise ValueError(f"must match {GATEWAY_ID_RE.pattern}")
        return value

    @property
    def polling(self) -> PollingConfig:
        return PollingConfig(meter_models=list(self.meter_models), buses=list(self.buses))

    @model_validator(mode="after")
    def _unique_buses_and_meters(self) -> GatewaySettings:
        try:
            PollingConfig(meter_models=list(self.meter_models), buses=list(self.buses))
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"] for e in exc.errors())) from exc
        return self

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
