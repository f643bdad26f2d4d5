"""Read M-Bus meters with pymeterbus, a client nobody here wrote; print its JSON decodings.

Run in its own process: importing ``meterbus`` configures the root logger.

    python -m tests.support.pymeterbus_read PORT ADDRESS...

An ADDRESS is a primary address (``1``) or a 16-hex-digit secondary address (id, manufacturer,
version, medium; F for any). Prints one JSON list with a decoding per address.
"""

from __future__ import annotations

import argparse
import json
import sys

import meterbus
import serial


def read(port: serial.Serial, address: str) -> object:
    if len(address) == 16:
        meterbus.send_select_frame(port, address)
        request_to = meterbus.ADDRESS_NETWORK_LAYER
    else:
        request_to = int(address)
        meterbus.send_ping_frame(port, request_to)
    if meterbus.recv_frame(port, 1) is None:
        raise SystemExit(f"{address}: no E5")
    meterbus.send_request_frame(port, request_to)
    frame = meterbus.load(meterbus.recv_frame(port, meterbus.FRAME_DATA_LENGTH))
    return json.loads(frame.to_JSON())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("port")
    parser.add_argument("addresses", nargs="+")
    args = parser.parse_args()
    with serial.Serial(args.port, 2400, bytesize=8, parity="E", stopbits=1, timeout=1) as port:
        decoded = [read(port, address) for address in args.addresses]
    json.dump(decoded, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
