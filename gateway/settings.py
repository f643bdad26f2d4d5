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

from contract.command_signature import parse_public_key
from contract.mqtt import GATEWAY_ID_RE, MAX_BATCH_READINGS, MAX_MESSAGE_BYTES, METER_ID_RE
from drivers.modbus.models import ModelCatalog, ModelError
from gateway.polling.config import Bus, PollingConfig, bus_name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # unreadable folder, NUL in the name
        return False


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = Field(default=None, description="default m2c-gw-<gateway_id>")
    username: str | None = None
    password: str | None = None
    password_file: Path | None = Field(
        default=None, description="a file holding the password (instead of password)"
    )
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
    confirmed_channels: tuple[Literal["readings", "payments"], ...] = Field(
        default=("readings",),
        description="channels whose messages leave the outbox only when central confirms it"
        " stored them (IngestAck); the others leave on the broker's PUBACK",
    )
    confirm_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="a message the broker acknowledged but central has not confirmed is sent"
        " again after this (doubling per attempt, at most 10 minutes), and at every reconnect",
    )
    max_unconfirmed: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="messages out and not yet confirmed by central; no new one is formed beyond",
    )

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
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        for name in ("ca_file", "cert_file", "key_file", "password_file"):
            path = getattr(self, name)
            if path is not None and not _is_file(path):
                raise ValueError(f"{name} {str(path)!r} does not exist or is not a file")
        return self

    def secret(self) -> str | None:
        """The password, read from ``password_file`` when one is given."""
        if self.password_file is None:
            return self.password
        return self.password_file.read_text("utf-8").strip()


class OutboxSettings(_Section):
    path: Path = Path("var/gateway/outbox.db")
    max_batch: int = Field(
        default=500, ge=1, le=MAX_BATCH_READINGS, description="readings per message"
    )
    max_message_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=MAX_MESSAGE_BYTES - 4096,
        description="bodies per message; the envelope adds at most 4 KiB",
    )
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
    central_keys: tuple[str, ...] = Field(
        default=(),
        description="central's command-signing public keys (base64url Ed25519, from"
        " `m2c central gateway enroll`); with none, every command is refused",
    )
    replay_db: Path | None = Field(
        default=None,
        description="ids of admitted commands, kept until they expire (replay protection);"
        " default: commands.db beside the outbox",
    )
    clock_skew_s: float = Field(
        default=300.0, ge=0, le=3600, description="tolerated difference to central's clock"
    )

    @field_validator("central_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, key in enumerate(value):
            try:
                parse_public_key(key)
            except ValueError as exc:
                raise ValueError(f"key {i}: {exc}") from exc
        return value


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

    @model_validator(mode="after")
    def _known_models(self) -> GatewaySettings:
        """Every Modbus meter names a model that exists and loads (else: which, where)."""
        catalog = ModelCatalog(self.meter_models)
        try:
            catalog.names()  # every model directory exists
        except ModelError as exc:
            raise ValueError(str(exc)) from exc
        for bus in self.buses:
            for meter in bus.meters:
                name = getattr(meter, "model", None)
                if name is None:
                    continue
                try:
                    catalog.get(name)
                except ModelError as exc:
                    raise ValueError(f"bus '{bus_name(bus)}' meter '{meter.id}': {exc}") from exc
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


def config_warnings(settings: GatewaySettings) -> list[str]:
    """What is valid but probably wrong on this host: serial ports that are not there, meters
    read more than once a second, no key to accept central's commands with."""
    out: list[str] = []
    for bus in settings.buses:
        port = getattr(bus, "port", None)
        if isinstance(port, str) and port.startswith("/") and bus.kind != "modbus-tcp":
            try:
                present = Path(port).exists()
            except (OSError, ValueError):
                present = False
            if not present:
                out.append(f"bus '{bus_name(bus)}': serial port {port} does not exist (yet?)")
        periods = [
            getattr(bus, "period_s", None),
            *(getattr(m, "period_s", None) for m in bus.meters),
        ]
        fast = [p for p in periods if p is not None and p < 1.0]
        if fast:
            out.append(
                f"bus '{bus_name(bus)}': a period of {min(fast)} s reads more than once a second"
            )
    if not settings.downlink.central_keys:
        out.append("downlink.central_keys is empty: every command from central will be refused")
    if not settings.mqtt.username:
        out.append(
            "mqtt.username is not set: the shipped broker configuration refuses anonymous clients"
        )
    return out
