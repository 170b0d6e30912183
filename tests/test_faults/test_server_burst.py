"""The loopback simulator takes a burst of new connections without dropping any.

The stdlib ``socketserver`` listens with a backlog of 5: when more connections arrive at once
than the accept loop has taken, Linux drops the extra SYNs and the clients retry after 1 s,
then 3 s — a load test (or a naive client that connects per call) then measures the backlog,
not the gateway. The server is bound and listening before it accepts anything, which makes the
backlog observable: every connection of a burst must complete its handshake at once.
"""

from __future__ import annotations

import select
import socket
import time

from axepta.simulator import Simulator, SimulatorServer

BURST = 64


def test_a_burst_of_connections_completes_its_handshakes_at_once(sim: Simulator) -> None:
    server = SimulatorServer(sim)  # listening, not accepting yet: the backlog holds the burst
    sockets: list[socket.socket] = []
    try:
        for _ in range(BURST):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((server.host, server.port))
            sockets.append(sock)
        pending = set(sockets)
        deadline = time.monotonic() + 0.5  # a dropped SYN is retried after 1 s
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.05)
            pending -= set(writable)
        assert not pending, f"{len(pending)} of {BURST} connections were not accepted into the backlog"
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 for s in sockets)
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
