"""``m2c receipt``: verify a printed receipt's QR offline; make a gateway signing key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "receipt", help="verify signed receipts, create receipt-signing keys"
    )
    sub = parser.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="check a receipt QR (its text or link, or a file holding it)"
    )
    verify.add_argument("qr", help="the QR text or link, or a path to a file containing it")
    verify.add_argument(
        "--keyring",
        type=Path,
        required=True,
        help="TOML file: [keys] <gateway id> = ['<base64url public key>']",
    )
    verify.set_defaults(func=_verify)
    keygen = sub.add_parser("keygen", help="create this gateway's signing key (PEM, mode 0600)")
    keygen.add_argument("--key", type=Path, required=True)
    keygen.add_argument("--gateway", required=True, help="gateway id (the keyring entry name)")
    keygen.set_defaults(func=_keygen)


def _verify(args: argparse.Namespace) -> int:
    from contract.receipt_signature import ReceiptSignatureError, parse_keyring, verify_receipt

    text = args.qr
    candidate = Path(text)
    if len(text) < 4096 and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        keyring = parse_keyring(args.keyring.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"cannot read keyring {args.keyring}: {exc.strerror}", file=sys.stderr)
        return 2
    except ReceiptSignatureError as exc:
        print(f"{args.keyring}: {exc}", file=sys.stderr)
        return 2
    try:
        fields = verify_receipt(text, keyring)
    except ReceiptSignatureError as exc:
        print(f"INVALID: {exc}")
        return 1
    print(f"VALID receipt {fields.receipt_no} signed by {fields.signer}")
    print(f"  account {fields.account}, bill {fields.bill_id or '-'}")
    print(
        f"  {fields.amount:,} VND {fields.method}, {fields.paid_at.isoformat()}, "
        f"cashier {fields.cashier}"
    )
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from contract.receipt_signature import public_key_text
    from gateway.cashier.keys import SigningKeyError, create_signing_key

    try:
        key = create_signing_key(args.key)
    except SigningKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print("# add to central's receipt keyring:")
    print("[keys]")
    print(f'"{args.gateway}" = ["{public_key_text(key.public_key())}"]')
    return 0
