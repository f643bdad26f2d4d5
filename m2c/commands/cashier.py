"""``m2c cashier``: the field-cashier / kiosk API and one-shot actions, all offline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cashier", help="field cashier and kiosk: bill cache, notices, payments, receipts"
    )
    parser.add_argument("-c", "--config", type=Path, required=True, help="cashier TOML file")
    sub = parser.add_subparsers(dest="cashier_command", metavar="ACTION", required=True)
    sub.add_parser("serve", help="run the local HTTP API and the print worker").set_defaults(
        func=_serve
    )
    load = sub.add_parser("load-cache", help="apply a bill_cache push (JSON file)")
    load.add_argument("push", type=Path)
    load.set_defaults(func=_load)
    lookup = sub.add_parser("lookup", help="bills of an account in the local cache")
    lookup.add_argument("account")
    lookup.set_defaults(func=_lookup)
    notice = sub.add_parser("notice", help="queue a bill notice and print the queue")
    notice.add_argument("bill_id")
    notice.set_defaults(func=_notice)
    pay = sub.add_parser("pay", help="record a payment, print its signed receipt")
    pay.add_argument("bill_id")
    pay.add_argument("amount", type=int, help="whole VND")
    pay.add_argument("--method", default="cash", choices=["cash", "card", "transfer"])
    pay.set_defaults(func=_pay)
    reprint = sub.add_parser(
        "reprint", help="print a receipt again (the marked copy), as POST /receipts/NO/reprint"
    )
    reprint.add_argument("receipt_no", help="e.g. BN01-000123")
    reprint.set_defaults(func=_reprint)
    sub.add_parser("pending", help="payments not yet sent to central").set_defaults(func=_pending)
    sub.add_parser("print", help="print what is queued, then exit").set_defaults(func=_print)


def _app(args: argparse.Namespace) -> Any:
    from gateway.cashier.app import CashierApp
    from gateway.cashier.config import CashierFile
    from gateway.cashier.keys import SigningKeyError
    from m2c.configfile import ConfigError, load

    try:
        return CashierApp.build(load(CashierFile, args.config))
    except SigningKeyError as exc:
        raise ConfigError(f"{exc} (create one with: m2c receipt keygen --key PATH)") from exc


def _drain(app: Any) -> None:
    import asyncio

    async def run() -> None:
        await app.worker.drain()
        await app.worker.transport.close()

    asyncio.run(run())
    if app.worker.problem:
        print(f"printer held: {app.worker.problem}")


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    app = _app(args)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await app.run(stop)

    try:
        asyncio.run(run())
    finally:
        app.close()
    return 0


def _load(args: argparse.Namespace) -> int:
    from contract.bill_cache import BillCachePush

    app = _app(args)
    push = BillCachePush.model_validate_json(args.push.read_text(encoding="utf-8"))
    print(f"route {push.route}: {app.cache.apply(push)} bills cached")
    app.close()
    return 0


def _lookup(args: argparse.Namespace) -> int:
    app = _app(args)
    print(json.dumps(app.cashier.lookup(args.account), ensure_ascii=False, indent=2))
    app.close()
    return 0


def _notice(args: argparse.Namespace) -> int:
    from gateway.cashier.service import CashierError

    app = _app(args)
    try:
        print(f"queued {app.cashier.print_notice(args.bill_id)}")
        _drain(app)
    except CashierError as exc:
        print(f"refused ({exc.code}): {exc}")
        return 1
    finally:
        app.close()
    return 0


def _pay(args: argparse.Namespace) -> int:
    from gateway.cashier.service import CashierError

    app = _app(args)
    try:
        result = app.cashier.pay(args.bill_id, args.amount, method=args.method)
        print(f"receipt {result.receipt_no}, payment {result.payment_id}, job {result.job_id}")
        _drain(app)
    except CashierError as exc:
        print(f"refused ({exc.code}): {exc}")
        return 1
    finally:
        app.close()
    return 0


def _reprint(args: argparse.Namespace) -> int:
    from gateway.cashier.service import CashierError

    app = _app(args)
    try:
        print(f"queued {app.cashier.reprint_receipt(args.receipt_no)} (copy)")
        _drain(app)
    except CashierError as exc:
        print(f"refused ({exc.code}): {exc}")
        return 1
    finally:
        app.close()
    return 0


def _pending(args: argparse.Namespace) -> int:
    app = _app(args)
    for payment in app.ledger.pending_payments(limit=1000):
        print(payment.model_dump_json())
    app.close()
    return 0


def _print(args: argparse.Namespace) -> int:
    app = _app(args)
    try:
        _drain(app)
    finally:
        app.close()
    return 0
