"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
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


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    tls_certfile: Path | None = Field(default=None, description="serve HTTPS with this chain")
    tls_keyfile: Path | None = None
    allow_plaintext: bool = Field(
        default=False,
        description="serve plain HTTP on a non-loopback address (behind a TLS proxy only)",
    )


class AuthSettings(_Section):
    secret_file: Path | None = Field(
        default=None, description="file holding the token-signing secret (at least 32 bytes)"
    )
    secret: SecretStr | None = Field(
        default=None, description="the secret itself; set it as M2C_CENTRAL_AUTH__SECRET"
    )
    generated_secret_file: Path = Field(
        default=Path("var/central/auth-secret"),
        description="where a secret is generated (0600) when none is configured",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/central/central.db"
    broker: BrokerSettings = BrokerSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()

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
