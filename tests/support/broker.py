"""Tests use the same private-broker runner as the demo."""

from m2c.mosquitto import Mosquitto, free_port

__all__ = ["Mosquitto", "free_port"]
