"""A TCP front for a real broker that behaves like an MQTT 3.1.1-only broker: it answers an
MQTT 5 CONNECT with CONNACK "unacceptable protocol version" (0x01) and closes; any other
connection is relayed to the real broker byte for byte."""

from __future__ import annotations

import contextlib
import socket
import threading


class V311OnlyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port: int = self.server.getsockname()[1]
        self.refused_v5 = 0
        self.relayed = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while len(head) < 12:  # fixed header + "MQTT" name + protocol level
            chunk = client.recv(12 - len(head))
            if not chunk:
                client.close()
                return
            head += chunk
        # byte 0 type, 1.. remaining length (1 byte for a short CONNECT), then 00 04 "MQTT" level
        level = head[head.index(b"MQTT") + 4]
        if level == 5:
            self.refused_v5 += 1
            client.sendall(b"\x20\x02\x00\x01")
            client.close()
            return
        self.relayed += 1
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        upstream.sendall(head)

        def pipe(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        pipe(upstream, client)
        client.close()
        upstream.close()

    def close(self) -> None:
        self._stop = True
        self.server.close()
