"""``m2c sim printer``: a simulated ESC/POS thermal printer on TCP 9100, a pty, or BLE."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "printer",
        help="simulated ESC/POS receipt printer (TCP 9100, serial pty, BLE demo)",
        description=(
            "A thermal printer that parses ESC/POS, writes every job as PNG and text to --out, "
            "answers DLE EOT status, and simulates paper out and a slow link. 'ble-demo' "
            "prints a sample notice and receipt over the virtual BLE link (bleak + bumble)."
        ),
    )
    parser.add_argument("transport", choices=["tcp", "pty", "ble-demo"])
    parser.add_argument("--out", type=Path, default=Path("printouts"), help="PNG/text directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--width", type=int, default=384, help="dots: 384 (58 mm), 576 (80 mm)")
    parser.add_argument("--rate", type=float, default=None, help="link speed, bytes/s")
    parser.add_argument("--paper-dots", type=int, default=None, help="paper left on the roll")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds of silence ending a job")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    if args.transport == "ble-demo":
        from m2c.printing_demo import run

        profile = "generic-80" if args.width == 576 else "generic-58"
        result = run(args.out, "ble", profile)
        for png in result.pngs:
            print(png)
        print(
            f"receipt {result.payment.receipt_no}: m2c receipt verify "
            f"'{result.payment.verification}' --keyring <file with [keys] {result.keyring_line}>"
        )
        return 0
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from simulators.printer.machine import PrinterMachine
    from simulators.printer.servers import PtyPrinter, TcpPrinterServer

    machine = PrinterMachine(
        args.width,
        out_dir=args.out,
        paper_dots=args.paper_dots,
        on_job=lambda job: print(f"job {job.number}: {job.png}", flush=True),
    )
    if args.transport == "tcp":
        server = TcpPrinterServer(
            machine, host=args.host, port=args.port, rate_bps=args.rate, idle_flush_s=args.idle
        )
        port = await server.start()
        print(f"printer listening on tcp://{args.host}:{port}, printouts in {args.out}", flush=True)
        stop = server.stop
    else:
        pty = PtyPrinter(machine, rate_bps=args.rate, idle_flush_s=args.idle)
        path = await pty.start()
        print(f"printer on serial port {path}, printouts in {args.out}", flush=True)
        stop = pty.stop
    try:
        await asyncio.Event().wait()
    finally:
        await stop()
    return 0
