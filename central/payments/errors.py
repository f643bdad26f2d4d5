"""The payments package's one exception tree (translated to HTTP in central/api/errors.py)."""

from __future__ import annotations


class PaymentError(Exception):
    """Base of every payments error."""


class NotFound(PaymentError):
    """No such payment, order, bill or account (404)."""


class Conflict(PaymentError):
    """The request contradicts what is stored: a reused key or reference, a state (409)."""


class Invalid(PaymentError):
    """A field of the request is wrong (422); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ProviderError(PaymentError):
    """A provider's API answered badly: transport, signature or a refusal (502); ``code`` is
    the provider's own code when it gave one."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
