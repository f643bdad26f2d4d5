"""Payments and the ledger: payments from every channel, their allocations to bills, the
append-only ledger per account, refunds, idempotency keys and VNPay orders.

Money is integer minor units (VND). A ledger entry's sign is the customer's debt: a bill
charge is positive, a payment negative; the account's balance is the sum.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.types import UtcDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class PaymentRow(Base):
    """Money received once: one provider transaction is one row (``channel``, ``provider_ref``).

    ``status``: ``completed`` (counts), ``failed`` (recorded, never counts), ``refunded`` /
    ``partially_refunded`` (counts less its refunds). ``customer_id`` is empty while nobody
    knows whose money it is (an unmatched transfer waits for an operator).
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("channel", "provider_ref"),
        Index("ix_payments_customer", "customer_id"),
        Index("ix_payments_received", "received_at"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # counter|field|vnpay|bank|wallet|card
    method: Mapped[str] = mapped_column(String(16))  # cash|card|transfer|qr|wallet|prepaid
    provider_ref: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    status: Mapped[str] = mapped_column(String(20), default="completed")
    taken_by: Mapped[str] = mapped_column(String(100))  # principal name or "gateway:<id>"
    gateway_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AllocationRow(Base):
    """Part of a payment put on a bill; a negative row takes some back (refund, credit note)."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        Index("ix_payment_allocations_bill", "bill_id"),
        Index("ix_payment_allocations_payment", "payment_id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerEntryRow(Base):
    """One line of an account's ledger, never changed or deleted. ``ref`` names its source
    (``charge:<bill>``, ``adj:<adjustment>``, ``payment:<id>``...) and is unique, so posting
    the same fact twice is impossible."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_customer", "customer_id", "id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # charge|adjustment|credit_note|payment|refund|reversal|write_off
    amount: Mapped[int] = mapped_column(BigInteger)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"), nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    ref: Mapped[str] = mapped_column(String(100), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RefundRow(Base):
    """Money given back from a payment (full or partial), once per provider reference."""

    __tablename__ = "payment_refunds"
    __table_args__ = (UniqueConstraint("payment_id", "request_ref"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # full|partial
    request_ref: Mapped[str] = mapped_column(String(100))
    provider_ref: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))  # completed|failed
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdempotencyKeyRow(Base):
    """The first answer given for an ``Idempotency-Key`` on one endpoint, replayed for repeats."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VnpayOrderRow(Base):
    """An order sent to VNPay (``vnp_TxnRef``) and what became of it."""

    __tablename__ = "vnpay_orders"
    txn_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    bill_ids: Mapped[str] = mapped_column(String(400))  # comma-separated, may be empty
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | paid | failed | expired (never paid before vnp_ExpireDate)
    response_code: Mapped[str] = mapped_column(String(8), default="")
    transaction_no: Mapped[str] = mapped_column(String(32), default="")
    bank_code: Mapped[str] = mapped_column(String(32), default="")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StatementLineRow(Base):
    """A line of a provider's statement or settlement file (bank statement, VNPay's daily
    report), kept once per ``(source, ref)`` for reconciliation."""

    __tablename__ = "statement_lines"
    __table_args__ = (
        UniqueConstraint("source", "ref"),
        Index("ix_statement_lines_day", "source", "value_date"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16))  # bank | vnpay
    ref: Mapped[str] = mapped_column(String(100))  # the provider's transaction reference
    value_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)  # credit > 0, debit < 0
    description: Mapped[str] = mapped_column(String(500), default="")
    import_id: Mapped[str] = mapped_column(String(64))  # the file it came from
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PaymentExceptionRow(Base):
    """Something an operator must look at: a transfer nobody's, a suggested match, a
    duplicate, a line missing on one side. Closed by an audited action."""

    __tablename__ = "payment_exceptions"
    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        Index("ix_payment_exceptions_status", "status", "created_at"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    # unmatched_transfer|suggested|duplicate|missing_payment|missing_line|amount_mismatch
    subject: Mapped[str] = mapped_column(String(120))  # what it is about, e.g. "bank:FT123"
    channel: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("statement_lines.id"), nullable=True)
    suggested_customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True
    )
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    action: Mapped[str] = mapped_column(String(24), default="")
    # assign|refund|write_off|bank_error|confirm
    note: Mapped[str] = mapped_column(String(300), default="")
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RemittanceRow(Base):
    """What a cashier handed in for a day against what their receipts say they collected."""

    __tablename__ = "remittances"
    __table_args__ = (UniqueConstraint("cashier", "day"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    cashier: Mapped[str] = mapped_column(String(100))  # as in payments.taken_by
    day: Mapped[date] = mapped_column(Date)
    receipts: Mapped[int] = mapped_column(Integer)
    expected: Mapped[int] = mapped_column(BigInteger)
    deposited: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # confirmed | flagged
    note: Mapped[str] = mapped_column(String(300), default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RechargeBatchRow(Base):
    """A batch of prepaid recharge cards of one face value."""

    __tablename__ = "recharge_batches"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    face_value: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RechargeCardRow(Base):
    """One card: its number, a salted PBKDF2 hash of its PIN (never the PIN), its state."""

    __tablename__ = "recharge_cards"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("recharge_batches.id"))
    face_value: Mapped[int] = mapped_column(BigInteger)
    pin_salt: Mapped[str] = mapped_column(String(32))
    pin_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|redeemed|locked
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WalletOrderRow(Base):
    """An order at the hosted card/wallet gateway (Alipay-style page pay), by ``out_trade_no``."""

    __tablename__ = "wallet_orders"
    out_trade_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|paid|closed
    trade_no: Mapped[str] = mapped_column(String(64), default="")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PaymentRejectionRow(Base):
    """A provider callback refused (bad signature, unknown order, wrong amount, malformed):
    kept with its reason so refusals are counted and can be looked into."""

    __tablename__ = "payment_rejections"
    __table_args__ = (Index("ix_payment_rejections_channel", "channel", "received_at"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # the request, cut to 2,000 characters
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
