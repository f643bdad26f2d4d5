"""Field cashier and kiosk, offline first: bill cache, payments ledger, printing, local API."""
