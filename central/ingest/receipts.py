"""Is a field payment money? Only when its receipt signature verifies against the receipt key
enrolled for the gateway it came from (sans-IO: keys are handed in).

The signed receipt content is rebuilt from the payment's own fields (signer = the gateway the
message came from), so an amount, account or cashier altered after signing, a signature made by
another gateway's key, or a payment from a gateway never enrolled (or revoked) is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from contract import mqtt as contract
from contract.command_signature import parse_public_key
from contract.receipt_signature import ReceiptFields, ReceiptSignatureError, verify_receipt

SIGNED_CURRENCY = "VND"  # receipt amounts are whole VND; the currency itself is not signed


def refusal(
    payment: contract.FieldPayment,
    gateway_id: str,
    enrolled: Mapping[str, tuple[str, bool]],
) -> str | None:
    """``None`` when ``payment`` may be stored as money; else the reason it may not."""
    where = f"field payment {payment.payment_id!r} from {gateway_id}"
    found = enrolled.get(gateway_id)
    if found is None:
        return f"{where}: gateway is not enrolled (no receipt key to verify against)"
    key_text, revoked = found
    if revoked:
        return f"{where}: gateway's enrollment is revoked"
    if payment.currency != SIGNED_CURRENCY:
        return f"{where}: currency {payment.currency!r}, signed receipts are in VND"
    sig = payment.signature
    try:
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except (binascii.Error, ValueError):
        return f"{where}: bad signature: not base64url"
    if len(raw) != 64:
        return f"{where}: bad signature: {len(raw)} bytes, Ed25519 has 64"
    try:
        key = parse_public_key(key_text)
        fields = ReceiptFields(
            gateway_id,
            payment.receipt_no,
            payment.account,
            payment.bill_id,
            payment.amount,
            payment.method,
            payment.ts,
            payment.cashier,
        )
        b32 = base64.b32encode(raw).rstrip(b"=").decode("ascii")
        verify_receipt(f"{fields.canonical().decode()}*{b32}", {gateway_id: (key,)})
    except ReceiptSignatureError as exc:
        return f"{where}: bad signature: {exc}"
    except ValueError as exc:  # the enrolled key itself is unusable
        return f"{where}: enrolled receipt key unusable: {exc}"
    return None
