"""A loopback TCP proxy that can cut or stall the link between agents and broker.

Modes: `pass` forwards; `drop` resets every connection and refuses new ones (a cable pulled,
a router rebooted); `blackhole` forwards nothing in either direction and leaves connections
open (a WAN link that silently stalls), so only the agent's own keepalive and connect timeouts
notice. Back in `pass`, stalled connections resume where they stopped. `delay_s` holds every
chunk that long in each direction (0.1 s: a 200 ms round trip, as over 4G) without limiting
throughput beyond MAX_DELAYED_CHUNKS per direction. `hold_closed=True` lets no close cross a
black hole either: a side that closes its socket meanwhile leaves the other side open until
`pass` (a kiosk that lost power: the broker hears nothing, only its keepalive notices). Runs its
own asyncio loop on a daemon thread; `set_mode` is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal

Mode = Literal["pass", "drop", "blackhole"]
CHUNK_BYTES = 65536
MAX_DELAYED_CHUNKS = 256  # per direction: 16 MB on the wire at most, then the reader waits
START_TIMEOUT_S = 5.0


class Proxy:
    """Listens on 127.0.0.1:`port` (0: any free port) and forwards to target."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        port: int = 0,
        *,
        delay_s: float = 0.0,
        hold_closed: bool = False,
    ) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self.delay_s = delay_s
        self.hold_closed = hold_closed
        self.connections_total = 0
        self.resets = 0
        self._mode: Mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._gate = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        """mqtt:// URL agents should use."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def mode(self) -> Mode:
        """The current mode."""
        return self._mode

    def start(self) -> None:
        """Start listening."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(START_TIMEOUT_S)

    def stop(self) -> None:
        """Close everything and stop the loop."""
        future = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
        future.result(START_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=START_TIMEOUT_S)
        self._loop.close()

    def set_mode(self, mode: Mode) -> None:
        """Switch mode now (from any thread)."""
        future = asyncio.run_coroutine_threadsafe(self._apply(mode), self._loop)
        future.result(START_TIMEOUT_S)

    async def _listen(self) -> None:
        self._gate.set()
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        self._gate.set()

    async def _apply(self, mode: Mode) -> None:
        self._mode = mode
        if mode == "pass":
            self._gate.set()
            return
        self._gate.clear()
        if mode == "drop":
            self._reset_all()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # RST, as when a NAT entry or a router goes away
            self.resets += 1
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_total += 1
        if self._dropping():
            writer.transport.abort()
            return
        self._writers.add(writer)
        try:
            # A connect during a black hole hangs, as a flow whose SYN was answered would.
            await self._gate.wait()
            if self._dropping() or writer.is_closing():
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
            self._writers.discard(up_writer)
            up_writer.transport.abort()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def _dropping(self) -> bool:
        # A method, not an inline test: the mode changes while a coroutine awaits.
        return self._mode == "drop"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.delay_s > 0:
            await self._delayed_pipe(reader, writer)
            return
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                await self._gate.wait()
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    break
                await self._gate.wait()
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        if self.hold_closed:
            await self._gate.wait()
        writer.transport.abort()

    async def _delayed_pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(MAX_DELAYED_CHUNKS)

        async def deliver() -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while (item := await chunks.get()) is not None:
                    due, data = item
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    await self._gate.wait()
                    if writer.is_closing():
                        break
                    writer.write(data)
                    await writer.drain()

        delivery = asyncio.create_task(deliver())
        with contextlib.suppress(OSError, ConnectionError):
            while not delivery.done():
                await self._gate.wait()
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    break
                await chunks.put((loop.time() + self.delay_s, data))
        await chunks.put(None)
        with contextlib.suppress(OSError, ConnectionError):
            await delivery
        writer.transport.abort()
