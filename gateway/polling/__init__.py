"""Polling meters: devices of every protocol behind one interface, and the bus schedulers."""
