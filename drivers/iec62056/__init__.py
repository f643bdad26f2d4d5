"""IEC 62056-21 mode C: the optical-port and RS-485 readout protocol of electricity meters."""
