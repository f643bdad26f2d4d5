"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


class ZaloSettings(_Section):
    """A Zalo Official Account: webhook MAC and the OA's send-message API."""

    app_id: str = Field(min_length=1, max_length=64)
    oa_secret: str = Field(min_length=8, max_length=256, description="the OA secret key")
    access_token: str = Field(default="", max_length=2000, description="OA access token (send)")
    api_url: str = "https://openapi.zalo.me"
    utility: str = Field(min_length=1, max_length=32, description="whose accounts it serves")
    locale: Literal["vi", "zh"] = "vi"
    pay_link: str = Field(default="", description="payment link template with {account}")


class WeChatSettings(_Section):
    """A WeChat Official Account: server token, and app id and secret for sending."""

    token: str = Field(min_length=3, max_length=32)
    app_id: str = Field(default="", max_length=64)
    app_secret: str = Field(default="", max_length=256)
    api_url: str = "https://api.weixin.qq.com"
    utility: str = Field(min_length=1, max_length=32)
    locale: Literal["vi", "zh"] = "zh"
    pay_link: str = ""


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(default="noreply@localhost", max_length=254)
    username: str = ""
    password: str = ""
    starttls: bool = Field(default=False, description="require STARTTLS (else used if offered)")
    timeout_s: float = Field(default=30, gt=0, le=300)


class SmsSettings(_Section):
    api_url: str = Field(description="the provider's API base URL")
    api_key: str = Field(min_length=8)
    sender: str = Field(default="", max_length=32, description="brand name or number")


class ChannelsSettings(_Section):
    zalo: ZaloSettings | None = None
    wechat: WeChatSettings | None = None
    smtp: SmtpSettings | None = None
    sms: SmsSettings | None = None
    timestamp_window_s: int = Field(
        default=300, ge=10, le=3600, description="callbacks older or newer than this are refused"
    )


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/central/central.db"
    broker: BrokerSettings = BrokerSettings()
    http: HttpSettings = HttpSettings()
    channels: ChannelsSettings = ChannelsSettings()
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
