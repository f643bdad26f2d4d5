"""The cashier's actions, working with central unreachable.

Look up a bill in the local cache, print its notice, take a payment: record it in the ledger
(for the uplink), sign the receipt and queue it for printing — all local, all durable.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contract.bill_cache import CachedBill, PayeeInfo, PrintRequest, UtilityInfo
from contract.mqtt import Command, FieldPayment
from contract.receipt_signature import ReceiptFields, receipt_url, sign_receipt, signature_of
from drivers.escpos.commands import CommandError
from drivers.escpos.documents import (
    BillNotice,
    Charge,
    DocumentError,
    Party,
    Payee,
    Receipt,
    TariffLine,
)
from drivers.escpos.encode import EncodeError
from drivers.escpos.layout import bill_vietqr
from drivers.escpos.profile import PrinterProfile
from drivers.escpos.raster import RasterError
from drivers.escpos.template import Template
from drivers.vietqr import VietQRError
from gateway.cashier.atomic import PayStores, PayTransactions
from gateway.cashier.cache import BillCache
from gateway.cashier.payments import PaymentLedger
from gateway.printing.queue import PrintQueue
from gateway.printing.render import render_job

log = structlog.get_logger(__name__)
VIETNAM = timezone(timedelta(hours=7))
METHODS = ("cash", "card", "transfer")
# what a cached bill's content can make the document code refuse: a clear refusal, no crash
UNPRINTABLE = (DocumentError, EncodeError, RasterError, CommandError, VietQRError)


class CashierError(Exception):
    """A cashier action refused: ``code`` is short (``unknown_bill``, ``already_paid``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PaymentResult:
    payment_id: str
    receipt_no: str
    job_id: str
    verification: str
    amount: int
    repeated: bool = False  # the same payment_id was recorded before: nothing new happened


def to_notice(
    bill: CachedBill,
    utility: UtilityInfo,
    payee: PayeeInfo | None,
    *,
    cashier_name: str,
    cashier_phone: str,
) -> BillNotice:
    return BillNotice(
        bill_id=bill.bill_id,
        utility=Party(utility.name, utility.tax_code, utility.address, utility.hotline),
        customer=bill.customer,
        account=bill.account,
        address=bill.address,
        period=bill.period,
        old_index=bill.old_index,
        new_index=bill.new_index,
        unit=bill.unit,
        lines=tuple(TariffLine(x.label, x.quantity, x.unit_price, x.amount) for x in bill.lines),
        charges=tuple(Charge(c.label, c.amount, c.vat_percent) for c in bill.charges),
        total=bill.total,
        due=bill.due,
        cashier_name=cashier_name,
        cashier_phone=cashier_phone,
        payee=Payee(payee.bank_bin, payee.account, payee.bank_name) if payee else None,
        phone=bill.phone,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Cashier:
    def __init__(
        self,
        *,
        gateway_id: str,
        cache: BillCache,
        ledger: PaymentLedger,
        queue: PrintQueue,
        printer: str,
        profile: PrinterProfile,
        notice_template: Template,
        receipt_template: Template,
        signing_key: Ed25519PrivateKey,
        cashier_name: str,
        cashier_phone: str = "",
        receipt_prefix: str = "BN",
        verify_url: str = "",
        clock: Callable[[], datetime] = _utcnow,
        on_submit: Callable[[], None] = lambda: None,
    ) -> None:
        self.gateway_id = gateway_id
        self.cache = cache
        self.ledger = ledger
        self.queue = queue
        self.printer = printer
        self.profile = profile
        self.notice_template = notice_template
        self.receipt_template = receipt_template
        self.signing_key = signing_key
        self.cashier_name = cashier_name
        self.cashier_phone = cashier_phone
        self.receipt_prefix = receipt_prefix
        self.verify_url = verify_url  # central's public page: the QR opens it (else plain text)
        self._clock = clock
        self.on_submit = on_submit
        self._lock = threading.Lock()
        self._tx = PayTransactions(cache, ledger, queue)

    def close(self) -> None:
        self._tx.close()

    def lookup(self, account: str) -> list[dict[str, object]]:
        """The account's cached bills with what is still owed."""
        return [
            {
                "bill_id": bill.bill_id,
                "customer": bill.customer,
                "period": bill.period,
                "total": bill.total,
                "paid": paid,
                "owed": max(0, bill.total - paid),
                "due": bill.due.isoformat(),
            }
            for bill, paid in self.cache.lookup(account)
        ]

    def _notice(self, bill_id: str, cache: BillCache | None = None) -> tuple[BillNotice, int]:
        try:
            bill, paid, utility, payee = (cache or self.cache).get(bill_id)
        except LookupError as exc:
            raise CashierError("unknown_bill", str(exc)) from exc
        try:
            notice = to_notice(
                bill,
                utility,
                payee,
                cashier_name=self.cashier_name,
                cashier_phone=self.cashier_phone,
            )
        except DocumentError as exc:
            raise CashierError("unprintable", f"bill {bill_id!r}: {exc}") from exc
        return notice, paid

    def _render(
        self, doc: BillNotice | Receipt, template: Template, bill_id: str
    ) -> tuple[bytes, bytes]:
        try:
            return render_job(doc, template, self.profile)
        except UNPRINTABLE as exc:
            log.error("cashier.unprintable", bill=bill_id, error=str(exc))
            raise CashierError("unprintable", f"bill {bill_id!r} cannot be printed: {exc}") from exc

    def print_notice(self, bill_id: str, *, job_id: str = "") -> str:
        """Queue the bill notice (also left behind when nobody is home); returns the job id.

        A given ``job_id`` that is already queued is not queued again.
        """
        notice, _ = self._notice(bill_id)
        try:
            bill_vietqr(notice)
        except VietQRError as exc:  # the notice prints without its bank transfer QR
            log.warning("cashier.no_vietqr", bill=bill_id, error=str(exc))
        original, copy = self._render(notice, self.notice_template, bill_id)
        job_id = job_id or f"notice-{bill_id}-{uuid.uuid4().hex[:8]}"
        self.queue.submit(job_id, self.printer, original, copy, kind="notice", ref=bill_id)
        self.on_submit()
        log.info("cashier.notice", bill=bill_id, job=job_id)
        return job_id

    def pay(
        self, bill_id: str, amount: int, *, method: str = "cash", request_id: str = ""
    ) -> PaymentResult:
        """Record a payment and queue its signed receipt.

        ``request_id`` makes a retried request (the kiosk resent it) return the first result.
        """
        if method not in METHODS:
            raise CashierError("bad_method", f"method {method!r} is not one of {METHODS}")
        # the HTTP API serves several requests at once; a payment commits whole or not at all
        with self._lock, self._tx.atomic() as stores:
            result = self._pay(stores, bill_id, amount, method, request_id)
        if not result.repeated:
            self.on_submit()
            log.info("cashier.paid", bill=bill_id, amount=amount, receipt=result.receipt_no)
        return result

    def _pay(
        self, stores: PayStores, bill_id: str, amount: int, method: str, request_id: str
    ) -> PaymentResult:
        if request_id:
            known = stores.ledger.get(self._payment_id_for(request_id))
            if known is not None:
                payment, qr = known
                return PaymentResult(
                    payment.payment_id,
                    payment.receipt_no,
                    f"receipt-{payment.receipt_no}",
                    self._printed(qr),
                    payment.amount,
                    True,
                )
        notice, paid = self._notice(bill_id, stores.cache)
        owed = notice.total - paid
        if owed <= 0:
            raise CashierError("already_paid", f"bill {bill_id} is already paid")
        if not 0 < amount <= owed:
            raise CashierError("bad_amount", f"amount {amount} must be between 1 and {owed}")
        number = stores.ledger.next_number(f"receipt:{self.receipt_prefix}")
        receipt_no = f"{self.receipt_prefix}-{number:06d}"
        payment_id = (
            self._payment_id_for(request_id) if request_id else (f"{self.gateway_id}-{receipt_no}")
        )
        now = self._clock()
        fields = ReceiptFields(
            self.gateway_id,
            receipt_no,
            notice.account,
            notice.bill_id,
            amount,
            method,
            now,
            self.cashier_name,
        )
        qr = sign_receipt(fields, self.signing_key)
        printed = self._printed(qr)
        receipt = Receipt(
            notice=notice,
            receipt_no=receipt_no,
            paid=amount,
            method=method,
            paid_at=now.astimezone(VIETNAM),
            cashier=self.cashier_name,
            gateway_id=self.gateway_id,
            verification=printed,
        )
        original, copy = self._render(receipt, self.receipt_template, bill_id)
        payment = FieldPayment(
            payment_id=payment_id,
            account=notice.account,
            bill_id=notice.bill_id,
            amount=amount,
            method=method,
            receipt_no=receipt_no,
            cashier=self.cashier_name,
            ts=now,
            signature=signature_of(qr),
        )
        stores.ledger.record(payment, qr)
        stores.cache.add_paid(bill_id, amount)
        job_id = f"receipt-{receipt_no}"
        stores.queue.submit(job_id, self.printer, original, copy, kind="receipt", ref=receipt_no)
        return PaymentResult(payment_id, receipt_no, job_id, printed, amount)

    def _printed(self, qr: str) -> str:
        """What the receipt's QR holds: a link to central's verification page, or the text."""
        return receipt_url(qr, self.verify_url) if self.verify_url else qr

    def handle_print_command(self, command: Command) -> str:
        """A ``print`` downlink command → a print job named after the command (idempotent)."""
        try:
            request = PrintRequest.model_validate(command.args)
        except ValidationError as exc:
            raise CashierError("bad_command", f"print command {command.id}: {exc}") from exc
        return self.print_notice(request.bill_id, job_id=f"cmd-{command.id}")

    def _payment_id_for(self, request_id: str) -> str:
        return f"{self.gateway_id}-{request_id}"[:64]

    def reprint_receipt(self, receipt_no: str) -> str:
        """Another print of a receipt; it is the marked copy."""
        job_id = f"receipt-{receipt_no}"
        try:
            self.queue.reprint(job_id)
        except LookupError as exc:
            raise CashierError("unknown_receipt", str(exc)) from exc
        self.on_submit()
        return job_id
