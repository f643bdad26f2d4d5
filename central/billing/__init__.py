"""Billing: runs over routes or stations in resumable chunks, bills with itemized lines and
their states, adjustments and credit notes, cancel and rebill, history for customers."""
