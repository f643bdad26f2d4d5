"""``m2c sim modbus tcp|rtu``: simulated Modbus meters, with faults."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  m2c sim modbus tcp --port 5020 --meter 1-10=eastron-sdm630 --meter 11=dynaflox-ultrad
  m2c sim modbus rtu --link /tmp/ttyM2C0 --baud 9600 --wire-timing \\
      --meter 1-32=eastron-sdm630 --fault 7:no_answer=1 --fault 8:late=0.3@0.2,crc=0.1

faults (comma separated): no_answer[=P] late=S[@P] crc[=P] exception=CODE[@P] garble[=P]
  split stuck rollover drift=F disappear=EVERY/GONE
  a broken gateway: truncate[=P] (also RTU), wrong_length[=P] wrong_tid[=P] (TCP only)
models: the files in config/meters (and --model-dir)
"""


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "modbus",
        help="Modbus meters over TCP or RTU on a pty",
        description="Simulated Modbus meters whose values evolve like a real site's.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="transport", metavar="TRANSPORT", required=True)
    tcp = kinds.add_parser(
        "tcp",
        help="Modbus TCP server",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tcp.add_argument("--host", default="127.0.0.1")
    tcp.add_argument("--port", type=int, default=5020)
    rtu = kinds.add_parser(
        "rtu",
        help="Modbus RTU on a pty (a multi-drop RS-485 line)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rtu.add_argument("--link", type=Path, help="symlink to the pty, e.g. /tmp/ttyM2C0")
    rtu.add_argument("--baud", type=int, default=9600)
    rtu.add_argument("--bits-per-char", type=int, default=11, help="11 for 8E1/8N2, 10 for 8N1")
    rtu.add_argument(
        "--wire-timing",
        action="store_true",
        help="bytes take their time at the baud rate; the meter waits 3.5 chars",
    )
    for p in (tcp, rtu):
        p.add_argument("--meter", action="append", default=[], metavar="UNITS=MODEL")
        p.add_argument("--fault", action="append", default=[], metavar="UNITS:SPEC")
        p.add_argument("--config", type=Path, help="TOML file with [[meters]] units/model/faults")
        p.add_argument("--model-dir", action="append", type=Path, default=[])
        p.add_argument("--duration", type=float, default=0, help="stop after N s (0: never)")
        p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from drivers.modbus.models import ModelCatalog, ModelError
    from simulators.modbus.cli import SimSpecError, meters_from_args

    try:
        meters = meters_from_args(args.meter, args.fault, args.config)
        catalog = ModelCatalog(args.model_dir)
        for m in meters:
            catalog.get(str(m.model))
    except (SimSpecError, ModelError) as exc:
        print(f"m2c sim modbus: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args, meters, catalog))


async def _serve(args: argparse.Namespace, meters: Any, catalog: Any) -> int:
    import asyncio

    from simulators.modbus.rtu import ModbusRtuSimulator
    from simulators.modbus.tcp import ModbusTcpSimulator

    sim: ModbusTcpSimulator | ModbusRtuSimulator
    if args.transport == "tcp":
        sim = ModbusTcpSimulator(meters, host=args.host, port=args.port, catalog=catalog)
    else:
        sim = ModbusRtuSimulator(
            meters,
            link=args.link,
            baud=args.baud,
            bits_per_char=args.bits_per_char,
            wire_timing=args.wire_timing,
            catalog=catalog,
        )
    async with sim:
        where = f"{args.host}:{sim.port}" if args.transport == "tcp" else sim.port
        print(f"serving {len(meters)} meters on {where}", flush=True)
        if args.duration:
            await asyncio.sleep(args.duration)
        else:
            await asyncio.Event().wait()
    return 0
