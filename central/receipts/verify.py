"""Is a printed receipt genuine? The logic behind central's public verification page.

A receipt's QR carries the signed text (``contract.receipt_signature``): central checks the
signature against the signing gateway's receipt public key and says what the receipt says.
The keys come from :func:`receipt_public_key`, today from central's settings
(``[receipts] keys``); when gateways are enrolled with their keys in the database, that one
function changes and nothing else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contract.receipt_signature import (
    BadSignatureError,
    MalformedReceiptError,
    ReceiptFields,
    ReceiptSignatureError,
    UnknownSignerError,
    parse_receipt,
    verify_receipt,
)

log = structlog.get_logger(__name__)

Outcome = Literal["genuine", "forged", "unknown_signer", "malformed"]
Keyring = Mapping[str, Sequence[Ed25519PublicKey]]


class ReceiptKeyError(ValueError):
    """A configured receipt key is not a base64url 32-byte Ed25519 public key."""


def parse_keys(keys: Mapping[str, Sequence[str]]) -> dict[str, tuple[Ed25519PublicKey, ...]]:
    """``{"gw-1": ["<base64url raw key>", ...]}`` (settings) → public keys; names a bad one."""
    out: dict[str, tuple[Ed25519PublicKey, ...]] = {}
    for gateway_id, texts in keys.items():
        parsed = []
        for text in texts:
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
                parsed.append(Ed25519PublicKey.from_public_bytes(raw))
            except (binascii.Error, ValueError) as exc:
                raise ReceiptKeyError(
                    f"receipts.keys[{gateway_id!r}]: {text!r} is not a base64url Ed25519 key"
                ) from exc
        out[gateway_id] = tuple(parsed)
    return out


def receipt_public_key(gateway_id: str, keyring: Keyring) -> tuple[Ed25519PublicKey, ...]:
    """The receipt-signing public keys of ``gateway_id`` (several while a key is rotated)."""
    return tuple(keyring.get(gateway_id, ()))


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str  # for a person: why it is or is not genuine
    fields: ReceiptFields | None  # what the receipt says, when it could be read at all

    @property
    def genuine(self) -> bool:
        return self.outcome == "genuine"

    def as_dict(self) -> dict[str, object]:
        f = self.fields
        said: dict[str, object] | None = None
        if f is not None:
            said = {
                "gateway_id": f.signer,
                "receipt_no": f.receipt_no,
                "account": f.account,
                "bill_id": f.bill_id,
                "amount": f.amount,
                "currency": "VND",
                "method": f.method,
                "paid_at": _iso(f.paid_at),
                "cashier": f.cashier,
            }
        return {
            "genuine": self.genuine,
            "outcome": self.outcome,
            "reason": self.reason,
            "receipt": said,
        }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Counts:
    """Verifications by outcome since start (a forged receipt is worth counting)."""

    def __init__(self) -> None:
        self.by_outcome: dict[str, int] = dict.fromkeys(Outcome.__args__, 0)  # type: ignore[attr-defined]

    def add(self, outcome: Outcome) -> None:
        self.by_outcome[outcome] += 1


def check(code: str, keyring: Keyring, *, counts: Counts | None = None) -> Verdict:
    """The verdict on a receipt code: the signed text or a verification link."""
    verdict = _check(code, keyring)
    if counts is not None:
        counts.add(verdict.outcome)
    level = log.info if verdict.genuine else log.warning
    f = verdict.fields
    level(
        "receipt.verified",
        outcome=verdict.outcome,
        gateway=f.signer if f else None,
        receipt=f.receipt_no if f else None,
    )
    return verdict


def _check(code: str, keyring: Keyring) -> Verdict:
    try:
        fields, _ = parse_receipt(code)
    except MalformedReceiptError as exc:
        return Verdict("malformed", f"not a readable receipt code: {exc}", None)
    keys = {fields.signer: receipt_public_key(fields.signer, keyring)}
    try:
        verify_receipt(code, keys)
    except UnknownSignerError:
        return Verdict(
            "unknown_signer", f"no receipt key is known for gateway {fields.signer!r}", fields
        )
    except BadSignatureError as exc:
        return Verdict("forged", str(exc), fields)
    except ReceiptSignatureError as exc:  # anything else the contract refuses
        return Verdict("malformed", str(exc), fields)
    return Verdict("genuine", f"signed by gateway {fields.signer}", fields)
