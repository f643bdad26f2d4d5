"""Reconciliation's core: exact matches, amount and reference near misses within tolerance
and window, duplicates, one-sided items; VNPay's signature on a known vector."""

from __future__ import annotations

from datetime import UTC, date, datetime

from central.payments import vnpay
from central.payments.matching import Item, reconcile
from simulators.payments import vnpay_wire

D = date(2025, 7, 20)


def test_every_kind_of_line() -> None:
    lines = [
        Item(1, "A", 100, D),  # exact
        Item(2, "B", 200, D),  # amount off, same reference
        Item(3, "C?", 300, D),  # mistyped reference, amount and date close
        Item(4, "A", 100, D),  # the bank lists A twice
        Item(5, "E", 999_999, D),  # nobody's
        Item(6, "F", 700, date(2025, 7, 1)),  # amount matches but far in time
    ]
    payments = [
        Item(11, "A", 100, D),
        Item(12, "B", 201, D),
        Item(13, "C", 300, date(2025, 7, 21)),
        Item(14, "G", 50, D),
        Item(15, "H", 700, D),
    ]
    r = reconcile(lines, payments, tolerance=0, window=2)
    assert [(a.key, b.key) for a, b in r.matched] == [(1, 11)]
    assert [(a.key, b.key) for a, b, _ in r.suggested] == [(2, 12), (3, 13)]
    assert [d.key for d in r.duplicates] == [4]
    assert sorted(x.key for x in r.lines_only) == [5, 6]
    assert sorted(x.key for x in r.payments_only) == [14, 15]
    wider = reconcile(lines, payments, tolerance=0, window=30)
    assert (6, 15) in [(a.key, b.key) for a, b, _ in wider.suggested]


def test_vnpay_hash_agrees_with_an_independent_implementation() -> None:
    params = vnpay.pay_params(
        tmn_code="DEMOV210", txn_ref="ORD 1", amount=78_255, info="Thanh toán hoá đơn 1",
        return_url="https://x.vn/return?a=1&b=2", ip_addr="10.0.0.1",
        created=datetime(2025, 7, 20, 3, 0, tzinfo=UTC),
        expires=datetime(2025, 7, 20, 3, 15, tzinfo=UTC),
    )  # fmt: skip
    assert params["vnp_CreateDate"] == "20250720100000"
    assert vnpay.canonical(params).count("+") >= 3  # spaces as +
    digest = vnpay.sign(params, "SECRETSECRETSECRET")
    assert digest == vnpay_wire.query_hash(params, "SECRETSECRETSECRET")
    assert len(digest) == 128
    assert digest == digest.lower()
    assert vnpay.verify({**params, "vnp_SecureHash": digest.upper()}, "SECRETSECRETSECRET")
    assert not vnpay.verify({**params, "vnp_SecureHash": digest}, "OTHERSECRETOTHER")
