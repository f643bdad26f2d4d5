"""A Vietnamese bank account receiving VietQR transfers, for tests and the demo.

Each credited transfer gets a bank reference (``FT...``) and is announced to the merchant's
webhook as SePay-style JSON, signed with an API key or an HMAC-SHA256 over
``<timestamp>.<body>``; faults: ``duplicates`` (the same notification again), ``drop`` (never
sent: only the statement has it), ``tamper`` (a bad signature). The statement of a day is
exported as CSV (Vietnamese headers, title lines above the header as banks print them),
XLSX, or ISO 20022 camt.053.001.02.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

GMT7 = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class Transfer:
    id: int
    ref: str
    amount: int
    content: str
    at: datetime  # GMT+7


class BankSim:
    def __init__(
        self,
        *,
        account: str = "0071000123456",
        bank: str = "Vietcombank",
        webhook_url: str = "",
        api_key: str = "",
        hmac_secret: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.account, self.bank, self.webhook_url = account, bank, webhook_url
        self.api_key, self.hmac_secret = api_key, hmac_secret
        self.transfers: list[Transfer] = []
        self.deliveries: list[tuple[str, int]] = []  # ref, HTTP status
        self._lock = threading.Lock()
        self._balance = 50_000_000

    def credit(
        self,
        amount: int,
        content: str,
        *,
        at: datetime | None = None,
        duplicates: int = 0,
        drop: bool = False,
        tamper: bool = False,
    ) -> Transfer:
        with self._lock:
            n = len(self.transfers) + 1
            t = Transfer(
                n,
                f"FT{25000000 + n:010d}",
                amount,
                content,
                (at or datetime.now(GMT7)).astimezone(GMT7),
            )
            self.transfers.append(t)
            self._balance += amount
        if not drop and self.webhook_url:
            for _ in range(1 + duplicates):
                self.notify(t, tamper=tamper)
        return t

    def payload(self, t: Transfer) -> bytes:
        return json.dumps(
            {
                "id": t.id,
                "gateway": self.bank,
                "transactionDate": t.at.strftime("%Y-%m-%d %H:%M:%S"),
                "accountNumber": self.account,
                "code": None,
                "content": t.content,
                "transferType": "in",
                "transferAmount": t.amount,
                "accumulated": self._balance,
                "subAccount": None,
                "referenceCode": t.ref,
                "description": t.content,
            },
            ensure_ascii=False,
        ).encode()

    def notify(self, t: Transfer, *, tamper: bool = False) -> int:
        body = self.payload(t)
        headers = {"Content-Type": "application/json"}
        if self.hmac_secret:
            ts = str(int(self.clock()))
            mac = hmac.new(self.hmac_secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
            sig = mac.hexdigest()
            headers.update(
                {"X-Timestamp": ts, "X-Signature": f"sha256={'0' * 4 + sig[4:] if tamper else sig}"}
            )
        elif self.api_key:
            headers["Authorization"] = f"Apikey {self.api_key + 'x' if tamper else self.api_key}"
        req = urllib.request.Request(self.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                status = int(r.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        with self._lock:
            self.deliveries.append((t.ref, status))
        return status

    def _day(self, day: str) -> list[Transfer]:
        return [t for t in self.transfers if t.at.strftime("%Y-%m-%d") == day]

    def statement_csv(self, day: str) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([f"SAO KÊ TÀI KHOẢN {self.account}"])
        w.writerow([f"Ngân hàng: {self.bank}", f"Ngày: {day}"])
        w.writerow([])
        w.writerow(["STT", "Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Nội dung"])
        for i, t in enumerate(self._day(day), start=1):
            w.writerow(
                [
                    i,
                    t.at.strftime("%d/%m/%Y"),
                    t.ref,
                    "",
                    f"{t.amount:,}".replace(",", "."),
                    t.content,
                ]
            )
        w.writerow(["", "", "Tổng cộng", "0", sum(t.amount for t in self._day(day)), ""])
        return buf.getvalue().encode("utf-8-sig")

    def statement_xlsx(self, day: str) -> bytes:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append([f"Account statement {self.account}"])
        sheet.append([])
        sheet.append(["Transaction Date", "Reference", "Debit", "Credit", "Balance", "Description"])
        for t in self._day(day):
            sheet.append([t.at.replace(tzinfo=None), t.ref, None, t.amount, None, t.content])
        buf = io.BytesIO()
        book.save(buf)
        return buf.getvalue()

    def statement_camt053(self, day: str) -> bytes:
        entries = "".join(
            f'<Ntry><Amt Ccy="VND">{t.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>{t.ref}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{t.ref}"
            f"</EndToEndId></Refs><RmtInf><Ustrd>{escape(t.content)}</Ustrd></RmtInf></TxDtls>"
            f"</NtryDtls></Ntry>"
            for t in self._day(day)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>STMT{day}</MsgId></GrpHdr><Stmt><Id>{day}</Id>"
            f"<Acct><Id><Othr><Id>{self.account}</Id></Othr></Id></Acct>{entries}</Stmt>"
            "</BkToCstmrStmt></Document>"
        ).encode()
