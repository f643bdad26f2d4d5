"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # unreadable folder, NUL in the name
        return False


class BrokerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    password_file: Path | None = Field(
        default=None, description="a file holding the password (instead of password)"
    )
    share_group: str | None = Field(
        default=None, description="join $share/<group>/... so several workers split the load"
    )
    client_id: str = Field(
        default="m2c-central-ingest",
        description="central's client ids start with m2c- (no gateway may be enrolled so)",
    )
    tls: bool = False
    ca_file: Path | None = Field(default=None, description="CA that signed the broker's cert")
    cert_file: Path | None = Field(default=None, description="client certificate, if required")
    key_file: Path | None = None

    @field_validator("password")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.lower() in {"changeme", "change-me", "password", "secret"}:
            raise ValueError("is a placeholder: set a real password")
        return value

    @model_validator(mode="after")
    def _tls_files(self) -> BrokerSettings:
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file/cert_file/key_file given but tls = false")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
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


class IdentitySettings(_Section):
    """Gateway identities: the command-signing key and the broker's gateway password file."""

    command_key: Path = Field(
        default=Path("var/central/command-key.pem"),
        description="central's Ed25519 command-signing key (PEM, 0600; created on first use)",
    )
    command_ttl_s: int = Field(
        default=24 * 3600, ge=60, le=7 * 24 * 3600, description="how long a command stays valid"
    )
    password_file: Path = Field(
        default=Path("/etc/mosquitto/m2c/gateways.passwd"),
        description="Mosquitto password file of the gateway listener (enroll/revoke edit it)",
    )
    max_clock_skew_s: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="a gateway status or event dated further ahead of central's clock is refused",
    )


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


PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", "your-secret"}


class VnpaySettings(_Section):
    """``[payments.vnpay]``: the merchant's terminal at VNPay (or ``m2c sim vnpay``)."""

    tmn_code: str = Field(default="", max_length=8, description="vnp_TmnCode; empty = disabled")
    hash_secret: SecretStr = SecretStr("")
    pay_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    api_url: str = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"
    return_url: str = "http://127.0.0.1:8080/api/v1/payments/vnpay/return"
    order_minutes: int = Field(default=15, ge=1, le=1440, description="vnp_ExpireDate")
    querydr_after_minutes: int = Field(default=5, ge=0, description="ask for silent orders")

    @field_validator("hash_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and (secret.lower() in PLACEHOLDERS or len(secret) < 16):
            raise ValueError("hash_secret must be the terminal's real secret (16+ characters)")
        return value


class BankSettings(_Section):
    """``[payments.bank]``: the bank-notification webhook's credentials (either or both)."""

    api_key: SecretStr = SecretStr("")
    hmac_secret: SecretStr = SecretStr("")

    @field_validator("api_key", "hmac_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and (secret.lower() in PLACEHOLDERS or len(secret) < 16):
            raise ValueError("webhook credentials must be real secrets (16+ characters)")
        return value


class WalletSettings(_Section):
    """``[payments.wallet]``: a hosted card/wallet gateway on Alipay's page-pay protocol."""

    app_id: str = Field(default="", description="empty = disabled")
    gateway_url: str = "https://openapi.alipay.com/gateway.do"
    merchant_private_key: SecretStr = SecretStr("")  # PEM, RSA 2048
    gateway_public_key: str = ""  # PEM: verifies the notifications
    notify_url: str = "http://127.0.0.1:8080/api/v1/payments/wallet/notify"
    return_url: str = "http://127.0.0.1:8080/api/v1/payments/wallet/return"


class PaymentsSettings(_Section):
    vnpay: VnpaySettings = VnpaySettings()
    bank: BankSettings = BankSettings()
    wallet: WalletSettings = WalletSettings()
    sweep_seconds: float = Field(default=30.0, gt=0, description="field cash and querydr")


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="M2C_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite:///var/central/central.db"
    broker: BrokerSettings = BrokerSettings()
    http: HttpSettings = HttpSettings()
    identity: IdentitySettings = IdentitySettings()
    ingest: IngestSettings = IngestSettings()
    channels: ChannelsSettings = ChannelsSettings()
    auth: AuthSettings = AuthSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    payments: PaymentsSettings = PaymentsSettings()

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
