"""Payments from every channel on an append-only ledger, allocated to bills, exactly once.

* :mod:`central.payments.ledger`: record a payment once, allocate it, refund, balances.
* :mod:`central.payments.idempotency`: ``Idempotency-Key`` answers stored and replayed.
* :mod:`central.payments.field`: cash from the gateways' cashiers put on the ledger.
* :mod:`central.payments.vnpay`: VNPay 2.1.0 signatures (sans-IO);
  :mod:`central.payments.vnpay_orders`: orders, IPN, querydr and refunds.
"""
