"""The fault proxy: delay holds each direction delay_s, in order, without loss; hold_closed
keeps a close from crossing a black hole."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from chaos.proxy import Proxy

DELAY_S = 0.1
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB: many chunks, so order and completeness matter


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback TCP echo server (one connection); yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    server.close()
    thread.join(timeout=5)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = sock.recv(65536)
        assert part, "connection closed early"
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def test_a_delaying_proxy_adds_the_round_trip_and_keeps_every_byte_in_order(
    echo_port: int,
) -> None:
    """A small echo takes at least 2 x delay_s; a 1 MiB echo comes back complete and in order."""
    proxy = Proxy("127.0.0.1", echo_port, delay_s=DELAY_S)
    proxy.start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"ping")
            assert _recv_exactly(sock, 4) == b"ping"
            assert time.monotonic() - started >= 2 * DELAY_S
            sender = threading.Thread(target=sock.sendall, args=(PAYLOAD,))
            sender.start()
            assert _recv_exactly(sock, len(PAYLOAD)) == PAYLOAD
            sender.join(timeout=10)
    finally:
        proxy.stop()


def test_hold_closed_keeps_a_close_from_crossing_a_black_hole() -> None:
    """A client closing during a black hole: the server sees nothing until `pass` (power cut)."""
    server = socket.create_server(("127.0.0.1", 0))
    proxy = Proxy("127.0.0.1", server.getsockname()[1], hold_closed=True)
    proxy.start()
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        upstream, _ = server.accept()
        upstream.settimeout(0.5)
        client.sendall(b"hi")
        assert _recv_exactly(upstream, 2) == b"hi"
        proxy.set_mode("blackhole")
        client.close()
        with pytest.raises(TimeoutError):
            upstream.recv(1)  # no EOF, no reset: the far side cannot tell
        proxy.set_mode("pass")
        upstream.settimeout(5)
        with contextlib.suppress(ConnectionResetError):  # the proxy aborts: as good as EOF
            assert upstream.recv(1) == b""
        upstream.close()
    finally:
        proxy.stop()
        server.close()
