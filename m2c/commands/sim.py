"""``m2c sim ...``: simulated devices that speak the real protocols."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

from m2c import commands


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="run simulated meters, printers and payment gateways",
        description="Simulated devices that speak the real wire protocols, with fault injection.",
    )
    sims = parser.add_subparsers(dest="sim", metavar="DEVICE", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("sim_"):
            module = importlib.import_module(f"{commands.__name__}.{info.name}")
            module.register_sim(sims)
