"""The local cashier/kiosk API: stdlib HTTP in a thread, JSON in and out.

    GET  /health
    GET  /bills?account=PB14010012345          cached bills with what is owed
    POST /bills/<bill_id>/notice                queue the notice → {"job_id"}
    POST /bills/<bill_id>/payments              {"amount", "method"?, "request_id"?}
                                                → {"payment_id", "receipt_no", "job_id", ...}
    POST /receipts/<receipt_no>/reprint         queue a marked copy
    GET  /jobs/<job_id>                         {"state", "copy", "attempts", "reason"}

With a token configured every request needs ``Authorization: Bearer <token>``. Bodies over
64 KiB are refused. Errors are ``{"error": code, "detail": text}`` with a 4xx status.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from gateway.cashier.service import Cashier, CashierError
from gateway.printing.queue import UnknownJobError

log = structlog.get_logger(__name__)
MAX_BODY = 64 * 1024
_NOTICE = re.compile(r"^/bills/([^/]{1,64})/notice$")
_PAY = re.compile(r"^/bills/([^/]{1,64})/payments$")
_REPRINT = re.compile(r"^/receipts/([^/]{1,64})/reprint$")
_JOB = re.compile(r"^/jobs/([^/]{1,128})$")
_STATUS = {"unknown_bill": 404, "unknown_receipt": 404, "already_paid": 409}


class _ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def make_handler(cashier: Cashier, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "m2c-cashier"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("cashier.http", request=self.requestline, status=args[1:2])

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorise(self) -> None:
            if not token:
                return
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise _ApiError(401, "unauthorised", "missing or wrong bearer token")

        def _body(self) -> dict[str, Any]:
            try:
                size = int(self.headers.get("Content-Length", "0"))
            except ValueError as exc:
                raise _ApiError(400, "bad_request", "bad Content-Length") from exc
            if size > MAX_BODY:
                raise _ApiError(413, "too_large", f"body over {MAX_BODY} bytes")
            raw = self.rfile.read(size) if size else b"{}"
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise _ApiError(400, "bad_json", f"body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise _ApiError(400, "bad_json", "body must be a JSON object")
            return body

        def _handle(self, method: str) -> None:
            try:
                self._authorise()
                status, body = self._route(method, urlsplit(self.path))
            except _ApiError as exc:
                status, body = exc.status, {"error": exc.code, "detail": exc.detail}
            except CashierError as exc:
                status = _STATUS.get(exc.code, 422)
                body = {"error": exc.code, "detail": str(exc)}
            self._send(status, body)

        def _route(self, method: str, url: Any) -> tuple[int, object]:
            path = url.path
            if method == "GET" and path == "/health":
                return 200, {"ok": True}
            if method == "GET" and path == "/bills":
                account = parse_qs(url.query).get("account", [""])[0]
                if not account:
                    raise _ApiError(400, "bad_request", "account query parameter is required")
                return 200, {"bills": cashier.lookup(account)}
            if method == "GET" and (m := _JOB.match(path)):
                try:
                    job = cashier.queue.get(m.group(1))
                except UnknownJobError as exc:
                    raise _ApiError(404, "unknown_job", str(exc)) from exc
                return 200, {
                    "job_id": job.id,
                    "state": job.state.value,
                    "copy": job.as_copy,
                    "attempts": job.attempts,
                    "reason": job.reason,
                }
            if method == "POST" and (m := _NOTICE.match(path)):
                return 202, {"job_id": cashier.print_notice(m.group(1))}
            if method == "POST" and (m := _PAY.match(path)):
                body = self._body()
                amount = body.get("amount")
                if not isinstance(amount, int) or isinstance(amount, bool):
                    raise _ApiError(400, "bad_request", "amount must be a whole number of VND")
                result = cashier.pay(
                    m.group(1),
                    amount,
                    method=str(body.get("method", "cash")),
                    request_id=str(body.get("request_id", "")),
                )
                return (200 if result.repeated else 201), {
                    "payment_id": result.payment_id,
                    "receipt_no": result.receipt_no,
                    "job_id": result.job_id,
                    "amount": result.amount,
                    "verification": result.verification,
                    "repeated": result.repeated,
                }
            if method == "POST" and (m := _REPRINT.match(path)):
                return 202, {"job_id": cashier.reprint_receipt(m.group(1))}
            raise _ApiError(404, "not_found", f"no route {method} {path}")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


class CashierServer:
    """The API on its own thread; ``port`` is the bound port (0 in the config picks one)."""

    def __init__(self, cashier: Cashier, *, host: str, port: int, token: str = "") -> None:
        self._server = ThreadingHTTPServer((host, port), make_handler(cashier, token))
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("cashier.listening", host=self.host, port=self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
