"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrokerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    share_group: str | None = Field(
        default=None, description="join $share/<group>/... so several workers split the load"
    )
    client_id: str = "m2c-central-ingest"


class IngestSettings(_Section):
    max_messages: int = Field(default=200, ge=1, le=10_000, description="per transaction")
    stall_s: float = Field(
        default=120.0, gt=0, description="a store thread silent this long is unhealthy"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="`m2c central ingest` only: serve Prometheus metrics on 127.0.0.1:<port>"
        " (`central run` serves them at /metrics)",
    )


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/central/central.db"
    broker: BrokerSettings = BrokerSettings()
    http: HttpSettings = HttpSettings()
    ingest: IngestSettings = IngestSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings
