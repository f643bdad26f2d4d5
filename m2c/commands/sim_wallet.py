"""``m2c sim wallet``: a hosted card/wallet gateway on Alipay's page-pay protocol (RSA2)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  m2c sim wallet --app-id 2021000000000001 --merchant-public-key merchant_pub.pem \\
      --write-public-key gateway_pub.pem
central's [payments.wallet] then holds gateway_url = "http://127.0.0.1:8093/gateway.do",
the merchant's private key and gateway_pub.pem as gateway_public_key.
"""


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "wallet",
        help="a hosted card/wallet gateway (Alipay-style page pay and notify, RSA2)",
        description="Page pay checked with the merchant's public key; the asynchronous notify "
        "signed with the gateway's own key, resent until the merchant answers success.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--merchant-public-key", type=Path, required=True, help="PEM file")
    parser.add_argument(
        "--write-public-key",
        type=Path,
        default=None,
        help="write the gateway's public key (PEM) here",
    )
    parser.add_argument("--duplicates", type=int, default=0, help="extra copies of a notify")
    parser.add_argument("--duration", type=float, default=None, help="seconds, then exit")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import threading

    from simulators.payments.wallet import WalletSim

    sim = WalletSim(
        app_id=args.app_id,
        merchant_public_key=args.merchant_public_key.read_text(),
        host=args.host,
        port=args.port,
        duplicates=args.duplicates,
    ).start()
    if args.write_public_key:
        args.write_public_key.write_text(sim.public_pem)
    print(f"wallet gateway simulator at {sim.url}/gateway.do (app {args.app_id})", flush=True)
    try:
        threading.Event().wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
