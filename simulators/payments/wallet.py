"""A hosted card/wallet gateway on Alipay's page-pay protocol, for tests and the demo.

``GET /gateway.do?...`` checks the merchant's RSA2 signature (with the merchant's public key)
and offers pay / close; the choice sends the asynchronous notify (form POST, signed with the
gateway's own private key) to ``notify_url``, resent until the merchant answers ``success``
(``resends``), with ``duplicates`` extra copies and a ``tamper``ed signature on request.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CST = timezone(timedelta(hours=8))


def new_key() -> tuple[str, str]:
    """A fresh RSA 2048 key pair as PEM (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def _text(params: dict[str, str], *, skip: tuple[str, ...]) -> bytes:
    return "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in skip and v != ""
    ).encode()


class WalletSim:
    def __init__(
        self,
        *,
        app_id: str,
        merchant_public_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        duplicates: int = 0,
        resends: int = 3,
    ) -> None:
        self.app_id, self.duplicates, self.resends = app_id, duplicates, resends
        self.merchant_key = serialization.load_pem_public_key(merchant_public_key.encode())
        self.private_pem, self.public_pem = new_key()
        self._key = serialization.load_pem_private_key(self.private_pem.encode(), None)
        self.orders: dict[str, dict[str, str]] = {}
        self.notify_log: list[tuple[str, str]] = []  # out_trade_no, answer
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._seq = 2025_0000_0000
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WalletSim:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.wait()

    def wait(self) -> None:
        for t in list(self._threads):
            t.join(30)

    def open(self, params: dict[str, str]) -> tuple[int, str]:
        assert isinstance(self.merchant_key, rsa.RSAPublicKey)
        try:
            self.merchant_key.verify(
                base64.b64decode(params.get("sign", "")),
                _text(params, skip=("sign",)),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return 400, "invalid-signature"
        if params.get("app_id") != self.app_id:
            return 400, "invalid-app-id"
        biz = json.loads(params.get("biz_content", "{}"))
        with self._lock:
            self.orders[biz["out_trade_no"]] = {**biz, "notify_url": params["notify_url"]}
        trade = biz["out_trade_no"]
        return 200, (
            f"<h1>Cashier</h1><p>{trade}: {biz['total_amount']}</p>"
            f'<a href="/choose?trade={trade}&status=TRADE_SUCCESS">pay</a> '
            f'<a href="/choose?trade={trade}&status=TRADE_CLOSED">close</a>'
        )

    def choose(self, trade: str, status: str, *, tamper: bool = False) -> None:
        order = self.orders[trade]
        with self._lock:
            self._seq += 1
            trade_no = str(self._seq)
        params = {
            "notify_id": f"n{trade_no}",
            "notify_type": "trade_status_sync",
            "notify_time": f"{datetime.now(CST):%Y-%m-%d %H:%M:%S}",
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade_no,
            "out_trade_no": trade,
            "trade_status": status,
            "total_amount": order["total_amount"],
            "gmt_payment": f"{datetime.now(CST):%Y-%m-%d %H:%M:%S}",
            "sign_type": "RSA2",
        }
        assert isinstance(self._key, rsa.RSAPrivateKey)
        sig = self._key.sign(
            _text(params, skip=("sign", "sign_type")), padding.PKCS1v15(), hashes.SHA256()
        )
        params["sign"] = base64.b64encode(sig).decode()
        if tamper:
            params["total_amount"] = order["total_amount"] + "0"
        for _ in range(1 + self.duplicates):
            t = threading.Thread(target=self._deliver, args=(order["notify_url"], params))
            self._threads.append(t)
            t.start()

    def _deliver(self, url: str, params: dict[str, str]) -> None:
        body = urllib.parse.urlencode(params).encode()
        for attempt in range(1 + self.resends):
            if attempt:
                threading.Event().wait(0.2 * 2**attempt)
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            try:
                with urllib.request.urlopen(req, timeout=15) as r:
                    answer = r.read().decode()
            except (urllib.error.URLError, OSError) as exc:
                answer = f"error: {exc}"
            with self._lock:
                self.notify_log.append((params["out_trade_no"], answer))
            if answer == "success":
                return


def _handler(sim: WalletSim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, code: int, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/gateway.do":
                self._send(*sim.open(q))
            elif url.path == "/choose" and q.get("trade") in sim.orders:
                sim.choose(
                    q["trade"], q.get("status", "TRADE_SUCCESS"), tamper=q.get("tamper") == "1"
                )
                self._send(200, "done")
            else:
                self._send(404, "not found")

    return Handler
