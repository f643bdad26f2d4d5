"""``m2c sim vnpay``: a VNPay 2.1.0 gateway (pay page, IPN with faults, querydr, refund,
the daily report) for central to talk to without a merchant account."""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
examples:
  m2c sim vnpay --secret $SECRET --ipn-url http://127.0.0.1:8080/api/v1/payments/vnpay/ipn
  m2c sim vnpay ... --duplicates 2 --burst        every IPN three times at once
  m2c sim vnpay ... --drop                        no IPN at all: querydr must settle
  m2c sim vnpay ... --tamper --delay 5            a damaged hash, five seconds late

central's [payments.vnpay] then points at it:
  pay_url = "http://127.0.0.1:8091/paymentv2/vpcpay.html"
  api_url = "http://127.0.0.1:8091/merchant_webapi/api/transaction"
the daily report: curl 'http://127.0.0.1:8091/report?date=2025-07-20'
"""


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "vnpay",
        help="a VNPay 2.1.0 payment gateway (pay page, IPN, querydr, refund, report)",
        description=(
            "A VNPay 2.1.0 gateway over HTTP: the pay page checks the merchant's HMAC-SHA512\n"
            "and offers approved / cancelled / insufficient_funds / timeout; the IPN goes to\n"
            "--ipn-url with retries and the faults below (per payment too, as query\n"
            "parameters of /paymentv2/choose); querydr and refund on the merchant API."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--tmn-code", default="M2CDEMO1")
    parser.add_argument("--secret", required=True, help="the terminal's hash secret")
    parser.add_argument("--ipn-url", required=True, help="the merchant's IPN URL")
    parser.add_argument("--duplicates", type=int, default=0, help="extra copies of each IPN")
    parser.add_argument("--burst", action="store_true", help="send the copies at once")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before an IPN")
    parser.add_argument("--drop", action="store_true", help="never send IPNs")
    parser.add_argument("--tamper", action="store_true", help="damage every IPN's hash")
    parser.add_argument("--hold", action="store_true", help="hold each IPN until the next")
    parser.add_argument("--retries", type=int, default=3, help="retries of an unanswered IPN")
    parser.add_argument("--duration", type=float, default=None, help="seconds, then exit")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import threading

    from simulators.payments.vnpay import IpnFaults, VnpaySim

    faults = IpnFaults(
        duplicates=args.duplicates,
        burst=args.burst,
        delay=args.delay,
        drop=args.drop,
        tamper=args.tamper,
        hold=args.hold,
        retries=args.retries,
    )
    sim = VnpaySim(
        tmn_code=args.tmn_code,
        secret=args.secret,
        ipn_url=args.ipn_url,
        faults=faults,
        host=args.host,
        port=args.port,
    ).start()
    print(
        f"VNPay simulator at {sim.url} (terminal {args.tmn_code}), IPN to {args.ipn_url}",
        flush=True,
    )
    try:
        threading.Event().wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
