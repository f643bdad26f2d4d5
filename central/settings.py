"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
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


class ReceiptSettings(_Section):
    # receipt-signing public keys per gateway (base64url raw Ed25519, as `m2c receipt keygen`
    # prints them); several per gateway while a key is rotated
    keys: dict[str, tuple[str, ...]] = {}

    @field_validator("keys")
    @classmethod
    def _keys_parse(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from central.receipts.verify import parse_keys

        parse_keys(value)  # a bad key is named at start-up, not at the first receipt
        return value


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/central/central.db"
    broker: BrokerSettings = BrokerSettings()
    http: HttpSettings = HttpSettings()
    receipts: ReceiptSettings = ReceiptSettings()

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
