"""Syslog over UDP (RFC 5426): one datagram, one message.

UDP can lose data, and this receiver says so (``acknowledges = False``): the sender gets
no acknowledgement, the kernel drops datagrams when the socket buffer overflows (before
we see them), and when the durable queue is full or the in-memory buffer is over its
limit this receiver must drop what arrives. Every drop it sees is counted in
``soc_receiver_dropped_total{reason=...}``; kernel drops are visible only in the OS
counters (``netstat -su``: receive buffer errors).

Datagrams are buffered briefly and queued in batches (every ``flush_interval_secs`` or
``batch_size`` datagrams), since one queue commit per datagram would be far too slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from ingest.metrics import Metrics
from ingest.receivers._base import DROPPED, QUEUED, RECEIVED, declare_receiver_metrics, parser_extra
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import EventSink
from soc_core.errors import QueueFull, ReceiverError
from soc_core.event import RawEvent

SOCKET_BUFFER_BYTES = 8 << 20


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogUdpReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.receiver.on_datagram(data, addr)


class SyslogUdpReceiver:
    """Listens on ``host:port`` for syslog datagrams (no acknowledgement: may lose data)."""

    acknowledges = False

    def __init__(
        self,
        host: str,
        port: int,
        parser: str | None = None,
        encoding: str | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        batch_size: int = 1000,
        flush_interval_secs: float = 0.05,
        max_buffered: int = 50_000,
        max_buffered_bytes: int = 32 << 20,
    ) -> None:
        self.host = host
        self.port = port
        self.name = name or f"syslog+udp://{host}:{port}"
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.flush_interval_secs = flush_interval_secs
        self.max_buffered = max_buffered
        self.max_buffered_bytes = max_buffered_bytes
        self._buffered_bytes = 0
        self._extra = parser_extra(parser, encoding)
        self._buffer: list[RawEvent] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None
        self.bound_port: int | None = None
        declare_receiver_metrics(self.metrics)

    async def start(self, sink: EventSink) -> None:
        """Bind the socket; returns once listening (``bound_port`` is set)."""
        self._sink = sink
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.host, self.port),
            )
        except OSError as exc:
            raise ReceiverError(f"{self.name}: cannot bind: {exc}") from exc
        self._transport = transport
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # a larger buffer means fewer kernel drops
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        self.bound_port = sock.getsockname()[1]

    def on_datagram(self, data: bytes, addr: Any) -> None:
        self.metrics.inc(RECEIVED, receiver=self.name)
        if len(self._buffer) >= self.max_buffered or self._buffered_bytes + len(data) > self.max_buffered_bytes:
            self.metrics.inc(DROPPED, receiver=self.name, reason="buffer_full")
            return
        body = data.rstrip(b"\r\n\x00")
        if not body.strip():
            return
        host = str(addr[0])
        self._buffer.append(RawEvent.from_bytes(
            body, f"syslog+udp://{host}", self.clock.now(), None,
            peer=f"{host}:{addr[1]}", receiver=self.name, extra=self._extra,
        ))
        self._buffered_bytes += len(body)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def run(self, sink: EventSink) -> None:
        """Flush the buffer to the queue until stopped (then one last flush)."""
        if self._transport is None:
            await self.start(sink)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_secs)
            self._wake.clear()
            await self._flush()
        await self._flush()

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._stopping.set()
        self._wake.set()

    async def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            self._buffered_bytes -= sum(len(raw.data) for raw in batch)
            try:
                await self._sink.put(batch)
            except QueueFull:
                # No way to push back on a UDP sender: count the loss and go on.
                self.metrics.inc(DROPPED, len(batch), receiver=self.name, reason="queue_full")
                continue
            self.metrics.inc(QUEUED, len(batch), receiver=self.name)
