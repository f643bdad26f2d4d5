"""Printer transports: BLE (bleak), serial / Bluetooth SPP (pyserial), raw TCP port 9100."""
