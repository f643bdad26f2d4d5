"""``m2c sim bank``: a bank account receiving VietQR transfers: credited transfers announced
to central's webhook, statements exported as CSV, XLSX and camt.053."""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
examples:
  m2c sim bank --webhook http://127.0.0.1:8080/api/v1/payments/bank/webhook --api-key $KEY
then, on its HTTP port (8092):
  curl -X POST localhost:8092/credit -d '{"amount": 78255, "content": "TT 01000000001"}'
  curl -X POST localhost:8092/credit -d '{"amount": 5000, "content": "x", "drop": true}'
  curl 'localhost:8092/statement?date=2025-07-20&format=camt053'   (csv, xlsx, camt053)
"""
FORMATS = {"csv": "text/csv", "xlsx": "application/octet-stream", "camt053": "application/xml"}


def register_sim(sims: Any) -> None:
    parser: argparse.ArgumentParser = sims.add_parser(
        "bank",
        help="a bank account receiving VietQR transfers (webhook, statements)",
        description="Credited transfers sent to a webhook (SePay-style JSON, API key or "
        "HMAC-SHA256), statements exported as CSV, XLSX and ISO 20022 camt.053.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--account", default="0071000123456")
    parser.add_argument("--webhook", default="", help="the merchant's webhook URL")
    parser.add_argument("--api-key", default="", help="sign with Authorization: Apikey")
    parser.add_argument("--hmac-secret", default="", help="sign with X-Signature (HMAC)")
    parser.add_argument("--duration", type=float, default=None, help="seconds, then exit")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    import json
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from simulators.payments.bank import BankSim

    sim = BankSim(
        account=args.account,
        webhook_url=args.webhook,
        api_key=args.api_key,
        hmac_secret=args.hmac_secret,
    )

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            try:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                t = sim.credit(
                    int(req["amount"]),
                    str(req.get("content", "")),
                    duplicates=int(req.get("duplicates", 0)),
                    drop=bool(req.get("drop")),
                    tamper=bool(req.get("tamper")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode())
                return
            self._send(200, json.dumps({"ref": t.ref, "amount": t.amount}).encode())

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            fmt = q.get("format", "csv")
            if url.path != "/statement" or fmt not in FORMATS or "date" not in q:
                self._send(404, b"GET /statement?date=YYYY-MM-DD&format=csv|xlsx|camt053")
                return
            body = getattr(sim, f"statement_{fmt}")(q["date"])
            self._send(200, body, FORMATS[fmt])

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"bank simulator for account {args.account} at http://{args.host}:{args.port}", flush=True
    )
    try:
        threading.Event().wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0
