"""``m2c sim iec``: IEC 62056-21 mode C electricity meters on a simulated serial port."""

from __future__ import annotations

import argparse
from typing import Any

from m2c.commands._serial_sim import add_common, faults_from, serve

EPILOG = """\
examples:
  m2c sim iec --link /tmp/ttyUSB0                     one meter behind an optical head
  m2c sim iec --address 10000001 --address 10000002   two meters on a shared RS-485 line
  m2c sim iec --fault garble --late 0.3               a meter with a bad line
"""


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "iec",
        help="IEC 62056-21 mode C electricity meters on a pty",
        description=(
            "Electricity meters answering an IEC 62056-21 mode C data readout on a\n"
            "pseudo-terminal: sign-on at the sign-on speed (300 baud), identification, ACK\n"
            "with speed switch (the data block goes out only once the reader has switched),\n"
            "BCC-checked data block with energy rising along a household load profile."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--address",
        action="append",
        default=[],
        help="device address of a meter (repeatable); without it one meter answers /?!",
    )
    parser.add_argument("--maker", default="MCs", help="three-letter maker id (lowercase third "
                        "letter: 20 ms reaction time)")  # fmt: skip
    parser.add_argument("--baud-char", default="5", choices=list("0123456"),
                        help="highest speed offered: 0=300 ... 5=9600, 6=19200")  # fmt: skip
    parser.add_argument("--signon-baud", type=int, default=300)
    parser.add_argument("--start-kwh", type=float, default=12345.678)
    parser.add_argument("--mean-kw", type=float, default=1.2)
    parser.add_argument("--battery", action="store_true", help="needs wake-up NULs first")
    parser.add_argument("--no-clock", action="store_true", help="send no 0.9.1/0.9.2")
    parser.add_argument(
        "--parity-on-wire",
        action="store_true",
        help="set bit 7 to even parity, as an 8N1 port would see a 7E1 meter",
    )
    add_common(parser)
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import asyncio

    from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec
    from simulators.profiles import Faults

    addresses = args.address or [""]
    meters = [
        IecMeter(
            IecMeterSpec(
                address=address,
                maker=args.maker,
                baud_char=args.baud_char,
                start_kwh=args.start_kwh + 1000 * i,
                mean_kw=args.mean_kw,
                tz_offset_h=args.tz_offset,
                has_clock=not args.no_clock,
                battery=args.battery,
                seed=i + 1,
                faults=Faults(**faults_from(args)),
            )
        )
        for i, address in enumerate(addresses)
    ]
    bus = IecBus(
        meters,
        link=args.link,
        signon_baud=args.signon_baud,
        wire_timing=args.wire_timing,
        parity_on_wire=args.parity_on_wire,
    )
    names = ", ".join(a or "(any)" for a in addresses)
    asyncio.run(serve(bus, f"IEC 62056-21 meters {names}", args.duration))
    return 0
