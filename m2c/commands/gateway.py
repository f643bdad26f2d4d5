"""``m2c gateway ...``: the edge daemon."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gateway",
        help="the edge daemon: poll meters, buffer, publish, print",
        description="The edge daemon that runs on the Raspberry Pi.",
    )
    sub = parser.add_subparsers(dest="gateway_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the daemon in the foreground (as systemd does)")
    run.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="TOML file (see config/gateway.sample.toml); env M2C_GW_* overrides",
    )
    run.set_defaults(func=_run)
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("-c", "--config", type=Path, required=True)
    check.set_defaults(func=_check)
    status = sub.add_parser(
        "status",
        help="show the daemon's state for a person at the Pi (status file and outbox)",
        description="Reads the status file the daemon writes every few seconds and the outbox.",
    )
    status.add_argument("-c", "--config", type=Path, default=None)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=_status)


def _load(path: Path | None) -> Any:
    from gateway.settings import GatewaySettings
    from m2c.configfile import load

    return load(GatewaySettings, path)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.cashier.config import CashierFile
    from gateway.daemon import serve_forever
    from m2c.configfile import load
    from m2c.logs import set_level

    settings = _load(args.config)
    cashier = load(CashierFile, settings.cashier) if settings.cashier else None
    asyncio.run(serve_forever(settings, set_log_level=set_level, cashier=cashier))
    return 0


def _check(args: argparse.Namespace) -> int:
    import sys

    from gateway.settings import config_warnings

    settings = _load(args.config)
    for warning in config_warnings(settings):
        print(f"warning: {args.config}: {warning}", file=sys.stderr)
    print(
        f"{args.config}: ok (gateway {settings.gateway_id}, {len(settings.buses)} buses,"
        f" {len(settings.synthetic)} synthetic)"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    import json

    from gateway.status import read_status, render

    settings = _load(args.config)
    report = read_status(settings)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    return 0 if report.get("healthy") else 1
