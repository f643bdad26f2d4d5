"""Signed receipts: the verification QR a field gateway prints and anyone can check offline.

Depends on ``cryptography`` and the standard library only, so central may import it to verify
receipts over REST; gateways use it to sign. It is the one module besides :mod:`contract.mqtt`
that both sides share.

QR text (UTF-8), fields joined by ``*``::

    M2C1*<signer>*<receipt_no>*<account>*<bill_id>*<amount>*<METHOD>*<paid_at>*<cashier>*<sig>

``signer`` is the gateway id whose Ed25519 key signed; ``amount`` whole VND in decimal;
``METHOD`` ``CASH``, ``CARD`` or ``TRANSFER``; ``paid_at`` UTC as ``YYYYMMDDTHHMMSSZ``; ``sig``
the unpadded RFC 4648 base32 of the 64-byte Ed25519 signature of the **canonical content**:
the UTF-8 bytes of the QR text up to, not including, the last ``*``. No field may contain
``*`` or a line break, so the content is deterministic. Separator, method and signature use
only QR alphanumeric characters, which keeps the code small (a version 8-9 QR at level M).

Printed, the QR is a link to central's public verification page carrying that same text:
``<base>/r/<text>`` with the text percent-encoded where a URL needs it (the cashier's
Vietnamese name, spaces); ``*``, ``-`` and the base32 signature stay as they are, so the code
stays at version 10. A phone camera opens the page; :func:`receipt_text` turns a link back
into the text, and every function here accepts either form.
"""

from __future__ import annotations

import base64
import binascii
import re
import tomllib
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = "M2C1"
_TIME = "%Y%m%dT%H%M%SZ"
_FIELD = re.compile(r"^[^*\r\n]*$")
SEP = "*"
METHODS = ("cash", "card", "transfer")
URL_PATH = "/r/"  # central serves GET /r/{text}
_URL_SAFE = "*-"  # besides letters, digits and "_.~", which quote() always keeps


class ReceiptSignatureError(Exception):
    """Base: a receipt could not be verified. ``str()`` says why, for a person."""


class MalformedReceiptError(ReceiptSignatureError):
    """The text is not a receipt QR (garbage, truncated, wrong version)."""


class UnknownSignerError(ReceiptSignatureError):
    """No public key is known for the signer."""


class BadSignatureError(ReceiptSignatureError):
    """The signature does not match the content: altered, invented or signed by another key."""


@dataclass(frozen=True)
class ReceiptFields:
    signer: str
    receipt_no: str
    account: str
    bill_id: str
    amount: int
    method: str
    paid_at: datetime
    cashier: str

    def __post_init__(self) -> None:
        for name in ("signer", "receipt_no", "account", "bill_id", "cashier"):
            value = getattr(self, name)
            if not _FIELD.fullmatch(value):
                raise MalformedReceiptError(f"{name} {value!r} contains '*' or a line break")
        if not self.signer or not self.receipt_no or not self.account:
            raise MalformedReceiptError("signer, receipt_no and account must not be empty")
        if self.amount <= 0:
            raise MalformedReceiptError(f"amount {self.amount} must be positive")
        if self.method not in METHODS:
            raise MalformedReceiptError(f"method {self.method!r} is not one of {METHODS}")
        if self.paid_at.tzinfo is None:
            raise MalformedReceiptError("paid_at must carry a UTC offset")

    def canonical(self) -> bytes:
        """The exact bytes that are signed."""
        parts = (
            MAGIC,
            self.signer,
            self.receipt_no,
            self.account,
            self.bill_id,
            str(self.amount),
            self.method.upper(),
            self.paid_at.astimezone(UTC).strftime(_TIME),
            self.cashier,
        )
        return SEP.join(parts).encode("utf-8")


def sign_receipt(fields: ReceiptFields, key: Ed25519PrivateKey) -> str:
    """The verification QR text for ``fields``."""
    signature = base64.b32encode(key.sign(fields.canonical())).rstrip(b"=")
    return fields.canonical().decode("utf-8") + SEP + signature.decode("ascii")


def receipt_url(qr_text: str, base_url: str) -> str:
    """The link printed as the QR: central's verification page for ``qr_text``."""
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"verification base URL {base_url!r} must start with https:// or http://")
    return base_url.rstrip("/") + URL_PATH + urllib.parse.quote(qr_text, safe=_URL_SAFE)


def receipt_text(code: str) -> str:
    """The receipt text from what a QR held: the text itself, or a verification link."""
    code = code.strip()
    if code.startswith(MAGIC + SEP):
        return code
    parsed = urllib.parse.urlsplit(code)
    if parsed.scheme in ("http", "https") and URL_PATH in parsed.path:
        return urllib.parse.unquote(parsed.path.split(URL_PATH, 1)[1], errors="strict")
    return code  # parse_receipt names what is wrong with it


def signature_of(qr_text: str) -> str:
    """The base64url signature of a QR text (what ``contract.mqtt.FieldPayment`` carries)."""
    _, raw = parse_receipt(qr_text)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_receipt(qr_text: str) -> tuple[ReceiptFields, bytes]:
    """Split a QR text (or link) into its fields and raw signature, without checking the
    signature."""
    try:
        text = receipt_text(qr_text)
    except UnicodeDecodeError as exc:
        raise MalformedReceiptError("the link's receipt text is not UTF-8") from exc
    parts = text.split(SEP)
    if len(parts) != 10 or parts[0] != MAGIC:
        raise MalformedReceiptError(
            f"not a {MAGIC} receipt code (expected 10 '{SEP}'-separated fields, got {len(parts)})"
        )
    _, signer, receipt_no, account, bill_id, amount, method, paid_at, cashier, sig = parts
    try:
        when = datetime.strptime(paid_at, _TIME).replace(tzinfo=UTC)
    except ValueError as exc:
        raise MalformedReceiptError(f"time {paid_at!r} is not YYYYMMDDTHHMMSSZ") from exc
    if not re.fullmatch(r"[0-9]{1,15}", amount):
        raise MalformedReceiptError(f"amount {amount!r} is not a whole number")
    try:
        raw = base64.b32decode(sig + "=" * (-len(sig) % 8))
    except (binascii.Error, ValueError) as exc:
        raise MalformedReceiptError("signature is not base32") from exc
    if len(raw) != 64:
        raise MalformedReceiptError(f"signature has {len(raw)} bytes, Ed25519 has 64")
    fields = ReceiptFields(
        signer, receipt_no, account, bill_id, int(amount), method.lower(), when, cashier
    )
    return fields, raw


def verify_receipt(
    qr_text: str, public_keys: Mapping[str, Sequence[Ed25519PublicKey]]
) -> ReceiptFields:
    """Check a receipt QR against the signer's public keys; returns its fields.

    Raises :class:`MalformedReceiptError`, :class:`UnknownSignerError` or
    :class:`BadSignatureError` (all :class:`ReceiptSignatureError`).
    """
    fields, raw = parse_receipt(qr_text)
    keys = public_keys.get(fields.signer, ())
    if not keys:
        raise UnknownSignerError(f"no public key for signer {fields.signer!r} in the keyring")
    content = fields.canonical()
    for key in keys:
        try:
            key.verify(raw, content)
        except InvalidSignature:
            continue
        return fields
    raise BadSignatureError(
        f"receipt {fields.receipt_no}: signature does not match its content "
        f"(altered, or not signed by {fields.signer})"
    )


def public_key_text(key: Ed25519PublicKey) -> str:
    """Raw 32-byte public key, base64url: the form a keyring holds."""
    raw = key.public_bytes_raw()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_keyring(text: str) -> dict[str, tuple[Ed25519PublicKey, ...]]:
    """A keyring TOML: ``[keys]`` with ``<gateway id> = ["<base64url key>", ...]``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReceiptSignatureError(f"keyring is not valid TOML: {exc}") from exc
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise ReceiptSignatureError("keyring has no [keys] table")
    out: dict[str, tuple[Ed25519PublicKey, ...]] = {}
    for signer, values in keys.items():
        items = [values] if isinstance(values, str) else values
        parsed = []
        for item in items:
            try:
                raw = base64.urlsafe_b64decode(str(item) + "=" * (-len(str(item)) % 4))
                parsed.append(Ed25519PublicKey.from_public_bytes(raw))
            except (binascii.Error, ValueError) as exc:
                raise ReceiptSignatureError(
                    f"keyring: key of {signer!r} is not a base64url 32-byte Ed25519 key"
                ) from exc
        out[str(signer)] = tuple(parsed)
    return out
