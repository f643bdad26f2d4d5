"""Simulated meters, printers and payment gateways that speak the real protocols, with faults."""
