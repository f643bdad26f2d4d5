"""Payment providers that speak their real protocols: VNPay 2.1.0 (pay page, IPN with
faults, querydr, refund, daily report)."""
