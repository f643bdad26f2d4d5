"""Simulated Modbus meters on RTU (a pty) and TCP, with faults."""
