"""A VNPay 2.1.0 payment gateway for tests and the demo, over real HTTP.

* ``GET /paymentv2/vpcpay.html?vnp_...`` — the pay page: checks the merchant's signature and
  offers the outcomes (approved, cancelled, insufficient funds, timeout).
* ``GET /paymentv2/choose?ref=..&outcome=..`` — the customer's choice: the IPN is queued for
  the merchant's IPN URL and the browser is sent to ``vnp_ReturnUrl``.
* ``POST /merchant_webapi/api/transaction`` — querydr and refund (JSON, pipe-joined hashes).
* ``GET /report?date=YYYY-MM-DD`` — the daily transaction report (CSV, see docs/payments.md).

IPN faults (``IpnFaults``, also per choice as query parameters): ``duplicates`` extra copies,
``burst`` (the copies at once), ``delay`` seconds, ``drop`` (never sent: querydr must find
it), ``tamper`` (a damaged hash), ``hold`` (kept until the next IPN is sent: reordering).
An IPN answered with anything but ``RspCode`` 00 or 02 is retried ``retries`` times.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulators.payments import vnpay_wire as wire

OUTCOMES = {  # outcome: (vnp_ResponseCode, vnp_TransactionStatus)
    "approved": ("00", "00"),
    "cancelled": ("24", "02"),
    "insufficient_funds": ("51", "02"),
    "timeout": ("11", "02"),
}


@dataclass(frozen=True)
class IpnFaults:
    duplicates: int = 0
    burst: bool = False
    delay: float = 0.0
    drop: bool = False
    tamper: bool = False
    hold: bool = False
    retries: int = 3


@dataclass
class Txn:
    ref: str
    amount: int  # VND
    info: str
    created: str
    status: str = "01"  # 01 pending, 00 paid, 02 failed
    response: str = ""
    transaction_no: str = ""
    pay_date: str = ""
    bank_code: str = "NCB"
    refunds: list[tuple[str, int, str]] = field(default_factory=list)  # type, amount, date


class VnpaySim:
    def __init__(
        self,
        *,
        tmn_code: str,
        secret: str,
        ipn_url: str,
        faults: IpnFaults = IpnFaults(),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.tmn_code, self.secret, self.ipn_url, self.faults = tmn_code, secret, ipn_url, faults
        self.txns: dict[str, Txn] = {}
        self.ipn_log: list[tuple[str, int, str]] = []  # txn_ref, http status, RspCode
        self.request_ids: set[str] = set()
        self.returns: dict[str, str] = {}
        self._held: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._seq = 14_000_000
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._senders: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> VnpaySim:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for t in list(self._senders):
            t.join(10)

    def wait_ipns(self, timeout: float = 30) -> None:
        """Wait until every IPN sent so far has been delivered (or given up)."""
        for t in list(self._senders):
            t.join(timeout)

    # -- the pay page ---------------------------------------------------------------------
    def open_order(self, params: dict[str, str]) -> tuple[int, str]:
        if not wire.query_ok(params, self.secret):
            return 400, "97 Sai chu ky (invalid signature)"
        if params.get("vnp_TmnCode") != self.tmn_code or params.get("vnp_Version") != "2.1.0":
            return 400, "02 Merchant khong hop le"
        ref = params.get("vnp_TxnRef", "")
        amount = int(params.get("vnp_Amount", "0")) // 100
        with self._lock:
            self.txns.setdefault(
                ref,
                Txn(ref, amount, params.get("vnp_OrderInfo", ""), params.get("vnp_CreateDate", "")),
            )
            self.returns[ref] = params.get("vnp_ReturnUrl", "")
        links = "".join(
            f'<li><a id="{o}" href="/paymentv2/choose?ref={ref}&outcome={o}">{o}</a></li>'
            for o in OUTCOMES
        )
        return 200, f"<h1>VNPay</h1><p>{ref}: {amount} VND</p><ul>{links}</ul>"

    def choose(self, ref: str, outcome: str, faults: IpnFaults | None = None) -> str:
        """Apply the customer's choice; the return URL the browser goes to."""
        response, status = OUTCOMES[outcome]
        with self._lock:
            txn = self.txns[ref]
            self._seq += 1
            txn.status, txn.response = status, response
            txn.transaction_no = str(self._seq) if status == "00" else "0"
            txn.pay_date = wire.now7(datetime.now(UTC))
        params = self._result(txn)
        self.send_ipn(params, faults or self.faults)
        query = urllib.parse.urlencode(params)
        return f"{self.returns.get(ref, '')}?{query}"

    def _result(self, txn: Txn) -> dict[str, str]:
        params = {
            "vnp_Amount": str(txn.amount * 100),
            "vnp_BankCode": txn.bank_code,
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": txn.info,
            "vnp_PayDate": txn.pay_date,
            "vnp_ResponseCode": txn.response,
            "vnp_TmnCode": self.tmn_code,
            "vnp_TransactionNo": txn.transaction_no,
            "vnp_TransactionStatus": txn.status,
            "vnp_TxnRef": txn.ref,
        }
        params["vnp_SecureHash"] = wire.query_hash(params, self.secret)
        return params

    # -- IPN delivery ---------------------------------------------------------------------
    def send_ipn(self, params: dict[str, str], faults: IpnFaults) -> None:
        if faults.drop:
            return
        if faults.tamper:
            params = {**params, "vnp_SecureHash": "0" + params["vnp_SecureHash"][1:]}
        with self._lock:
            if faults.hold:
                self._held.append(params)
                return
            batch = [params, *self._held]  # the held ones go after this one
            self._held.clear()
        copies = [p for p in batch for _ in range(1 + faults.duplicates)]
        if faults.burst:
            threads = [threading.Thread(target=self._deliver, args=(p, faults)) for p in copies]
        else:
            threads = [threading.Thread(target=self._deliver_all, args=(copies, faults))]
        for t in threads:
            self._senders.append(t)
            t.start()

    def _deliver_all(self, copies: list[dict[str, str]], faults: IpnFaults) -> None:
        for p in copies:
            self._deliver(p, faults)

    def _deliver(self, params: dict[str, str], faults: IpnFaults) -> None:
        if faults.delay:
            threading.Event().wait(faults.delay)
        url = f"{self.ipn_url}?{urllib.parse.urlencode(params)}"
        for attempt in range(1 + faults.retries):
            if attempt:
                threading.Event().wait(0.2 * 2**attempt)  # VNPay retries later, not at once
            code, rsp = 0, ""
            try:
                with urllib.request.urlopen(url, timeout=15) as r:
                    code, rsp = r.status, json.loads(r.read()).get("RspCode", "")
            except (OSError, ValueError) as exc:
                rsp = f"error: {exc}"
            with self._lock:
                self.ipn_log.append((params["vnp_TxnRef"], code, rsp))
            if rsp in ("00", "02", "97", "01", "04"):
                return  # an answer VNPay accepts as final

    # -- merchant web API ------------------------------------------------------------------
    def api(self, body: dict[str, Any]) -> dict[str, Any]:
        command = body.get("vnp_Command")
        names = wire.QUERYDR_IN if command == "querydr" else wire.REFUND_IN
        rid = str(body.get("vnp_RequestId", ""))
        base = {
            "vnp_ResponseId": rid,
            "vnp_Command": command,
            "vnp_TmnCode": self.tmn_code,
            "vnp_TxnRef": body.get("vnp_TxnRef", ""),
        }
        if str(body.get("vnp_SecureHash", "")).lower() != wire.pipe_hash(body, names, self.secret):
            return self._answer(
                {**base, "vnp_ResponseCode": "97", "vnp_Message": "Invalid checksum"}
            )
        with self._lock:
            if rid in self.request_ids:
                return self._answer(
                    {**base, "vnp_ResponseCode": "94", "vnp_Message": "Duplicate request"}
                )
            self.request_ids.add(rid)
            txn = self.txns.get(str(body.get("vnp_TxnRef", "")))
        if txn is None or (txn.status == "01" and command == "refund"):
            return self._answer({**base, "vnp_ResponseCode": "91", "vnp_Message": "Not found"})
        out = {
            **base,
            "vnp_ResponseCode": "00",
            "vnp_Message": "Success",
            "vnp_Amount": str(txn.amount * 100),
            "vnp_BankCode": txn.bank_code,
            "vnp_PayDate": txn.pay_date,
            "vnp_TransactionNo": txn.transaction_no,
            "vnp_TransactionType": "01",
            "vnp_TransactionStatus": txn.status,
            "vnp_OrderInfo": txn.info,
            "vnp_PromotionCode": "",
            "vnp_PromotionAmount": "",
        }
        if command == "refund":
            amount = int(str(body.get("vnp_Amount", "0"))) // 100
            left = txn.amount - sum(a for _, a, _ in txn.refunds)
            if txn.status != "00" or not 0 < amount <= left:
                return self._answer(
                    {**base, "vnp_ResponseCode": "02", "vnp_Message": "Invalid amount"}
                )
            kind = str(body.get("vnp_TransactionType", "03"))
            with self._lock:
                txn.refunds.append((kind, amount, wire.now7(datetime.now(UTC))))
            out.update(
                vnp_Amount=str(amount * 100), vnp_TransactionType=kind, vnp_TransactionStatus="05"
            )
            del out["vnp_PromotionCode"], out["vnp_PromotionAmount"]
        return self._answer(out)

    def _answer(self, out: dict[str, Any]) -> dict[str, Any]:
        names = wire.QUERYDR_OUT if out.get("vnp_Command") == "querydr" else wire.REFUND_OUT
        out["vnp_SecureHash"] = wire.pipe_hash(out, names, self.secret)
        return out

    def report(self, day: str) -> str:
        """The day's transactions (GMT+7 ``day`` as YYYY-MM-DD) as CSV."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            [
                "TransactionDate",
                "TmnCode",
                "TxnRef",
                "TransactionNo",
                "BankCode",
                "Amount",
                "TransactionType",
                "TransactionStatus",
                "ResponseCode",
                "OrderInfo",
            ]
        )
        stamp = day.replace("-", "")
        with self._lock:
            for t in self.txns.values():
                if t.pay_date.startswith(stamp) and t.status in ("00", "02"):
                    w.writerow(
                        [
                            t.pay_date,
                            self.tmn_code,
                            t.ref,
                            t.transaction_no,
                            t.bank_code,
                            t.amount,
                            "01",
                            t.status,
                            t.response,
                            t.info,
                        ]
                    )
                for kind, amount, when in t.refunds:
                    if when.startswith(stamp):
                        w.writerow(
                            [
                                when,
                                self.tmn_code,
                                t.ref,
                                t.transaction_no,
                                t.bank_code,
                                amount,
                                kind,
                                "00",
                                "00",
                                t.info,
                            ]
                        )
        return buf.getvalue()


def with_overrides(faults: IpnFaults, query: dict[str, str]) -> IpnFaults:
    changes: dict[str, Any] = {}
    for name in ("duplicates", "retries"):
        if name in query:
            changes[name] = int(query[name])
    for name in ("burst", "drop", "tamper", "hold"):
        if name in query:
            changes[name] = query[name] in ("1", "true", "yes")
    if "delay" in query:
        changes["delay"] = float(query["delay"])
    return replace(faults, **changes)


def _handler(sim: VnpaySim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(
            self, code: int, body: str, ctype: str = "text/html; charset=utf-8", location: str = ""
        ) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/paymentv2/vpcpay.html":
                self._send(*sim.open_order(q))
            elif url.path == "/paymentv2/choose":
                if q.get("ref") not in sim.txns or q.get("outcome") not in OUTCOMES:
                    self._send(404, "no such order or outcome")
                    return
                target = sim.choose(q["ref"], q["outcome"], with_overrides(sim.faults, q))
                self._send(302, "", location=target)
            elif url.path == "/report":
                self._send(200, sim.report(q.get("date", "")), "text/csv; charset=utf-8")
            else:
                self._send(404, "not found")

        def do_POST(self) -> None:
            if self.path != "/merchant_webapi/api/transaction":
                self._send(404, "not found")
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            except ValueError:
                self._send(400, json.dumps({"vnp_ResponseCode": "03"}), "application/json")
                return
            self._send(200, json.dumps(sim.api(body)), "application/json")

    return Handler
