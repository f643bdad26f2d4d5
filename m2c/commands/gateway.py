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


def _load(path: Path | None) -> Any:
    from gateway.settings import GatewaySettings
    from m2c.configfile import load

    return load(GatewaySettings, path)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.daemon import serve

    asyncio.run(serve(_load(args.config)))
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    print(f"{args.config}: ok (gateway {settings.gateway_id}, {len(settings.meters)} meters)")
    return 0
