"""``m2c``: one command for the gateway, central, the simulators and the demo.

Each module in :mod:`m2c.commands` adds its own subcommands through ``register(subparsers)``;
heavy imports happen inside the handlers, so ``m2c --help`` is quick and an edge install
without the central extras still runs ``m2c gateway``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from m2c import commands
from m2c.configfile import ConfigError

EPILOG = """\
examples:
  m2c demo --duration 60            run the whole system on simulators
  m2c gateway run -c config/gateway.toml
  m2c central run -c config/central.toml
  m2c sim modbus --help             simulated meters
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="m2c",
        description="meter2cash: read meters, print receipts, bill and collect.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--log-json",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="JSON log lines (default: when stdout is not a terminal)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from m2c import logs

    logs.configure(args.log_level, json=args.log_json)
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
