"""``m2c central gateway enroll|list|revoke``: gateway identities at central."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register_gateway(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "gateway",
        help="enroll, list or revoke gateways (broker credentials, receipt keys)",
        description="Gateway identities: broker credentials in the gateway listener's password"
        " file, receipt public keys in central's database. Reload Mosquitto afterwards"
        " (systemctl reload mosquitto) so it reads the password file again.",
    )
    actions = parser.add_subparsers(dest="gateway_action", metavar="ACTION", required=True)
    enroll = actions.add_parser(
        "enroll",
        help="issue broker credentials and register the gateway's receipt key",
        description="Prints the gateway's [mqtt] and [downlink] settings; the password is"
        " shown only this once.",
    )
    enroll.add_argument("gateway_id")
    enroll.add_argument(
        "--receipt-key",
        required=True,
        help="the gateway's receipt public key: base64url raw Ed25519, or a PEM file (public"
        " key, or the gateway's signing key)",
    )
    enroll.add_argument("--note", default="", help="free text kept with the enrollment")
    enroll.set_defaults(func=_enroll)
    listing = actions.add_parser("list", help="enrolled gateways and their state")
    listing.set_defaults(func=_list)
    revoke = actions.add_parser("revoke", help="remove the gateway's credentials and key")
    revoke.add_argument("gateway_id")
    revoke.set_defaults(func=_revoke)
    for p in (enroll, listing, revoke):
        p.add_argument("-c", "--config", type=Path, default=None, help="central's TOML file")
        p.add_argument(
            "--password-file",
            type=Path,
            default=None,
            help="Mosquitto password file (default: identity.password_file of the config)",
        )


def _setup(args: argparse.Namespace) -> tuple[Any, Any, Path]:
    from m2c.commands.central import _engine, _load

    settings = _load(args.config)
    password_file = args.password_file or settings.identity.password_file
    return settings, _engine(settings), password_file


def receipt_key_text(value: str) -> str:
    """A base64url key as given, or the public half of a PEM file's key, as base64url."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from contract.command_signature import public_key_text

    path = Path(value)
    if not path.is_file():
        return value
    data = path.read_bytes()
    key: Any
    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None)
        if isinstance(key, Ed25519PrivateKey):
            return public_key_text(key.public_key())
    else:
        key = serialization.load_pem_public_key(data)
        if isinstance(key, Ed25519PublicKey):
            return public_key_text(key)
    raise ValueError(f"{path} holds no Ed25519 key")


def _enroll(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from central.identity.enrollment import EnrollmentError, enroll
    from central.identity.keys import CommandKeyError, load_or_create
    from contract.command_signature import public_key_text

    settings, engine, password_file = _setup(args)
    try:
        key = receipt_key_text(args.receipt_key)
        command_key = load_or_create(settings.identity.command_key)
        done = enroll(
            engine,
            args.gateway_id,
            key,
            password_file=password_file,
            now=datetime.now(UTC),
            note=args.note,
        )
    except (EnrollmentError, CommandKeyError, ValueError) as exc:
        print(f"enroll {args.gateway_id}: {exc}", file=sys.stderr)
        return 2
    central_key = public_key_text(command_key.public_key())
    print(f"# gateway {done.gateway_id} enrolled; its password is shown only now.")
    print(f"# Reload the broker so it reads {password_file}: systemctl reload mosquitto")
    print("# Add to the gateway's TOML file:")
    print("[mqtt]")
    print(f'username = "{done.gateway_id}"')
    print(f'password = "{done.password}"')
    print("[downlink]")
    print(f'central_keys = ["{central_key}"]')
    return 0


def _list(args: argparse.Namespace) -> int:
    from central.identity.enrollment import EnrollmentError, listing

    _, engine, password_file = _setup(args)
    try:
        rows = listing(engine, password_file=password_file)
    except EnrollmentError as exc:
        print(f"list: {exc}", file=sys.stderr)
        return 2
    for r in rows:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "enrolled"
        creds = "credentials" if r.has_credentials else "NO credentials"
        print(f"{r.gateway_id}\t{state}\t{creds}\t{r.enrolled_at:%Y-%m-%d %H:%M}\t{r.receipt_key}")
    if not rows:
        print("no gateway enrolled")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from central.identity.enrollment import EnrollmentError, revoke

    _, engine, password_file = _setup(args)
    try:
        done = revoke(engine, args.gateway_id, password_file=password_file, now=datetime.now(UTC))
    except EnrollmentError as exc:
        print(f"revoke {args.gateway_id}: {exc}", file=sys.stderr)
        return 2
    if not done:
        print(f"revoke {args.gateway_id}: no such gateway enrolled", file=sys.stderr)
        return 1
    print(f"{args.gateway_id} revoked; reload the broker: systemctl reload mosquitto")
    return 0
