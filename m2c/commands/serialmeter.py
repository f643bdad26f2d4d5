"""``m2c serial ...``: read one IEC 62056-21 or M-Bus meter now, or find the M-Bus meters on a
line; for installers and for checking a port before it goes into the gateway's configuration."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EPILOG = """\
examples:
  m2c serial iec-read /dev/ttyUSB0                      the meter behind an optical head
  m2c serial iec-read /dev/ttyUSB1 --address 10000001   one meter of a shared RS-485 line
  m2c serial mbus-read /dev/ttyAMA0 --primary 1
  m2c serial mbus-read /dev/ttyAMA0 --secondary 5550FFFF
  m2c serial mbus-scan /dev/ttyAMA0                     every meter, by secondary address
"""


TZ_HELP = (
    "IANA zone or +HH:MM of the meter's clock (UTC must be said: a meter that sends its clock "
    "is not read without it)"
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serial",
        help="read an IEC 62056-21 or M-Bus meter now; scan an M-Bus line",
        description="One-off reads of serial meters. Readings print as JSON lines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    iec = actions.add_parser("iec-read", help="one IEC 62056-21 mode C data readout")
    iec.add_argument("port")
    iec.add_argument("--address", default="", help="device address on a shared bus")
    iec.add_argument("--max-baud", type=int, default=19200)
    iec.add_argument("--wake-up", type=float, default=0.0, help="seconds of NULs (battery meters)")
    iec.add_argument("--meter-tz", help=TZ_HELP)
    iec.add_argument("--answer", type=float, default=1.5, help="seconds to wait for an answer")
    iec.set_defaults(func=iec_read)

    mbus = actions.add_parser("mbus-read", help="read one M-Bus meter")
    mbus.add_argument("port")
    which = mbus.add_mutually_exclusive_group(required=True)
    which.add_argument("--primary", type=int)
    which.add_argument("--secondary", help="8 digits, F for any digit")
    mbus.add_argument("--baud", type=int, default=2400)
    mbus.add_argument("--meter-tz", help=TZ_HELP)
    mbus.add_argument("--answer", type=float, default=0.5, help="seconds to wait for an answer")
    mbus.set_defaults(func=mbus_read)

    scan = actions.add_parser("mbus-scan", help="find the meters on an M-Bus line")
    scan.add_argument("port")
    scan.add_argument("--baud", type=int, default=2400)
    scan.add_argument("--answer", type=float, default=0.3, help="seconds to wait for each E5")
    scan.set_defaults(func=mbus_scan)


def _print_readings(readings: Any) -> None:
    for reading in readings:
        print(reading.model_dump_json(), flush=True)


def iec_read(args: Any) -> int:
    from gateway.polling.serialbus import IecBusConfig, build_iec_bus

    meter = {"id": "iec", "address": args.address, "max_baud": args.max_baud}
    meter |= {"wake_up_s": args.wake_up, "meter_tz": args.meter_tz}
    config = _validated(
        IecBusConfig,
        {"kind": "iec62056-21", "port": args.port, "answer_s": args.answer, "meters": [meter]},
    )
    if config is None:
        return 2
    port, (device,) = build_iec_bus(config)
    return _read(device, port)


def mbus_read(args: Any) -> int:
    from gateway.polling.serialbus import MbusBusConfig, build_mbus_bus

    meter = {"id": "mbus", "primary": args.primary, "secondary": args.secondary}
    meter["meter_tz"] = args.meter_tz
    config = _validated(
        MbusBusConfig,
        {
            "kind": "mbus",
            "port": args.port,
            "baud": args.baud,
            "answer_s": args.answer,
            "meters": [meter],
        },
    )
    if config is None:
        return 2
    port, (device,) = build_mbus_bus(config)
    return _read(device, port)


def _validated(model: Any, data: dict[str, Any]) -> Any:
    """``data`` as ``model``, or ``None`` after printing what is wrong with the arguments."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"bad argument {err['loc'][-1]}: {err['msg']}", file=sys.stderr)
        return None


def _read(device: Any, port: Any) -> int:
    import asyncio

    from gateway.polling.device import DeviceError

    try:
        _print_readings(asyncio.run(device.read()))
    except DeviceError as exc:
        hint = " (--meter-tz)" if exc.kind == "config" else ""
        print(f"no reading: {exc}{hint}")
        return 1
    finally:
        port.close()
    return 0


def mbus_scan(args: Any) -> int:
    import asyncio

    from drivers.mbus.errors import MbusError
    from drivers.mbus.scan import scan_secondary
    from drivers.mbus.transport import MbusLink
    from drivers.serialport import AsyncSerialPort, SerialPortError

    link = MbusLink(baudrate=args.baud, answer_s=args.answer, gap_s=min(0.1, args.answer))
    port = AsyncSerialPort(args.port, link.line())
    try:
        port.open()
        found = asyncio.run(scan_secondary(port, link))
    except (MbusError, SerialPortError) as exc:
        print(f"scan failed: {exc}")
        return 1
    finally:
        port.close()
    for meter in found:
        h = meter.header
        print(f"{h.id:08d} {h.manufacturer} v{h.version} {h.medium_name}")
    print(f"{len(found)} meter(s)")
    return 0
