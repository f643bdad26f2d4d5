"""Central's typed configuration (TOML file, overridden by ``M2C_CENTRAL_*`` variables)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
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
