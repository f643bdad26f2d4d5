"""``m2c sim mbus``: wired M-Bus water and heat meters on a simulated serial port."""

from __future__ import annotations

import argparse
from typing import Any

from m2c.commands._serial_sim import add_common, faults_from, serve

EPILOG = """\
examples:
  m2c sim mbus --link /tmp/ttyMBUS0                   one water meter at primary address 1
  m2c sim mbus --water 3 --heat 1                     water at 1, 2, 3; heat at 4
  m2c sim mbus --fault no_answer                      every meter silent
"""


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "mbus",
        help="wired M-Bus water and heat meters on a pty",
        description=(
            "Water and heat meters on a simulated M-Bus (EN 13757-2/3) line: SND_NKE gets\n"
            "E5, REQ_UD2 an RSP_UD long frame (CI 0x72) with volume, flow, energy, power,\n"
            "temperatures and the meter's date-time; the frame count bit is honoured;\n"
            "secondary addressing by 8-digit id (CI 0x52, wildcards). Meter ids are\n"
            "10000000 + the primary address."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--water", type=int, default=1, help="how many water meters")
    parser.add_argument("--heat", type=int, default=0, help="how many heat meters (after water)")
    parser.add_argument("--first-primary", type=int, default=1, help="primary address of the first")
    parser.add_argument("--baud", type=int, default=2400, help="line speed the meters listen at")
    parser.add_argument(
        "--ids",
        help="comma-separated 8-digit ids, one per meter in order (default 10000000 + primary)",
    )
    add_common(parser)
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import asyncio

    from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec
    from simulators.profiles import Faults

    kinds = ["water"] * args.water + ["heat"] * args.heat
    if not kinds:
        print("nothing to simulate: give --water or --heat")
        return 2
    ids = [int(i) for i in args.ids.split(",")] if args.ids else []
    if ids and (len(ids) != len(kinds) or not all(0 <= i <= 99_999_999 for i in ids)):
        print(f"--ids needs {len(kinds)} ids of at most 8 digits")
        return 2
    meters = []
    for i, kind in enumerate(kinds):
        primary = args.first_primary + i
        if not 0 <= primary <= 250:
            print(f"primary address {primary} is outside 0-250")
            return 2
        heat = kind == "heat"
        spec = MbusMeterSpec(
            primary=primary,
            id=ids[i] if ids else 10000000 + primary,
            kind=kind,  # type: ignore[arg-type]
            start=5000.0 if heat else 1234.567 + 100 * i,
            mean_rate=4.0 if heat else 0.05,
            telegrams=2 if heat else 1,
            tz_offset_h=args.tz_offset,
            seed=i + 1,
            faults=Faults(**faults_from(args)),
        )
        meters.append(MbusMeter(spec))
    bus = MbusBus(meters, link=args.link, baudrate=args.baud, wire_timing=args.wire_timing)
    listing = ", ".join(f"{m.spec.kind}@{m.spec.primary}" for m in meters)
    asyncio.run(serve(bus, f"M-Bus meters {listing}", args.duration))
    return 0
