"""``m2c demo``: the whole system on simulators."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the whole system on simulators (Ctrl-C to stop)",
        description="Simulated meters → gateway → private Mosquitto → central, with a live "
        "progress view. Central's REST API is served while it runs.",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until Ctrl-C)",
    )
    parser.add_argument("--port", type=int, default=8080, help="central's HTTP port")
    parser.add_argument(
        "--meters",
        type=int,
        default=4,
        help="simulated SDM630 meters on Modbus TCP (besides one meter of each other kind)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("var/demo"),
        help="where the demo keeps its databases (wiped at start)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from m2c import logs
    from m2c.demo import DemoOptions, run

    if args.log_level == "info":
        logs.set_level("warning")  # the progress view is the demo's output; logs only on trouble

    return asyncio.run(
        run(
            DemoOptions(
                workdir=args.workdir,
                http_port=args.port,
                meters=args.meters,
                duration_s=args.duration,
            )
        )
    )
