"""Syslog over TCP: newline framing and RFC 6587 octet counting, detected per frame.

What "acknowledged" means here: syslog over TCP has no application-level
acknowledgement, so this receiver never reads further on a connection until what it has
read is durably queued. When the queue is full it stops reading, and TCP flow control
slows the sender. A sender that half-closes its side (``shutdown(SHUT_WR)``) and then
waits for the server to close knows that every byte it sent was queued: the server closes
with an orderly FIN only after the last frame is committed; every other close (a stop
before that, a crash, ``kill -9``) is a reset (``SO_LINGER`` 0), which the sender sees as
an error (the test of ``soc run`` relies on exactly that). An abrupt close or a crash of
the sender loses what TCP had not yet delivered.

Limits: at most ``max_connections`` connections (``max_connections_per_address`` from one
client address); a connection over a cap is reset at once and counted in
``soc_receiver_refused_connections_total``. A connection silent for ``idle_timeout_secs``
is reset (what it had sent completely is queued; a partial last line is not, and was
not acknowledged). Frames are bounded by ``max_frame_bytes`` (see ``framing``): a cut
frame is counted in ``soc_receiver_truncated_total`` and its event says so
(``log.flags: truncated``, ``log.original_length``).

Event identity: ``source`` is ``syslog+tcp://<peer host>`` and ``offset`` is None, so
the same line re-sent by the same host after a reconnect is stored once. Two
byte-identical lines from one host are therefore one event; syslog lines carry a
timestamp, so that only merges true repeats within the timestamp's resolution.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from datetime import datetime

from ingest.metrics import Metrics
from ingest.receivers._base import (
    CONNECTIONS,
    DISCARDED_BYTES,
    ERRORS,
    RECEIVED,
    REFUSED,
    TIMEOUTS,
    TRUNCATED,
    ConnectionGuard,
    declare_receiver_metrics,
    deliver_waiting,
    parser_extra,
)
from ingest.receivers.framing import Frame, SyslogFramer
from ingest.receivers.tls_stream import ByteStream, PlainStream, TlsStream
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import EventSink
from soc_core.errors import ReceiverError
from soc_core.event import RawEvent

READ_CHUNK_BYTES = 256 * 1024
STOP_GRACE_SECS = 5.0


def _set_linger(sock: socket.socket | None, abortive: bool) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1 if abortive else 0, 0))


class SyslogTcpReceiver:
    """Listens on ``host:port``; each frame becomes one raw event for ``parser``."""

    acknowledges = True
    scheme = "syslog+tcp"

    def __init__(
        self,
        host: str,
        port: int,
        parser: str | None = None,
        encoding: str | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        max_frame_bytes: int = 1 << 20,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 4096,
        max_connections_per_address: int = 1024,
        idle_timeout_secs: float = 600.0,
        handshake_timeout_secs: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.parser = parser
        self.name = name or f"{self.scheme}://{host}:{port}"
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.max_frame_bytes = max_frame_bytes
        self.ssl_context = ssl_context
        self.guard = ConnectionGuard(max_connections, max_connections_per_address)
        self.idle_timeout_secs = idle_timeout_secs
        self.handshake_timeout_secs = handshake_timeout_secs
        self._extra = parser_extra(parser, encoding)
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()
        self._reading: set[asyncio.Task[None]] = set()  # handlers waiting for bytes
        self.bound_port: int | None = None
        declare_receiver_metrics(self.metrics)

    async def start(self, sink: EventSink) -> None:
        """Bind and start accepting; returns once listening (``bound_port`` is set)."""
        self._sink = sink
        try:
            # TLS is done by TlsStream, not by asyncio: asyncio answers the client's
            # close_notify at once, before the last lines are queued (see tls_stream).
            self._server = await asyncio.start_server(
                self._on_connection, self.host, self.port, limit=READ_CHUNK_BYTES,
            )
        except OSError as exc:
            raise ReceiverError(f"{self.name}: cannot listen: {exc}") from exc
        self.bound_port = self._server.sockets[0].getsockname()[1]

    async def run(self, sink: EventSink) -> None:
        """Serve until :meth:`stop`."""
        if self._server is None:
            await self.start(sink)
        await self._stopping.wait()

    async def stop(self) -> None:
        """Stop listening, let connections finish their current batch, then close them."""
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        # A handler waiting for bytes holds nothing unqueued: cancel it now. One that is
        # queueing a batch gets the grace period to finish.
        for task in list(self._reading):
            task.cancel()
        if self._handlers:
            _, pending = await asyncio.wait(set(self._handlers), timeout=STOP_GRACE_SECS)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # always inside a task when asyncio calls a handler
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if peer else "unknown"
        sock = writer.get_extra_info("socket")
        # Until the sender's last line is queued, any close of this socket (a stop, a
        # bug, even the process being killed, since the kernel closes the socket then) is
        # a reset, never an orderly FIN: the sender must not take it for an acknowledgement.
        _set_linger(sock, abortive=True)
        refused = self.guard.admit(host)
        if refused is not None:
            self.metrics.inc(REFUSED, receiver=self.name, reason=refused)
            writer.transport.abort()
            return
        self._handlers.add(task)
        self.metrics.inc(CONNECTIONS, receiver=self.name)
        clean = False
        stream: ByteStream = PlainStream(reader, writer)
        try:
            if self.ssl_context is not None:
                tls = TlsStream(reader, writer, self.ssl_context)
                try:
                    await asyncio.wait_for(tls.handshake(READ_CHUNK_BYTES), self.handshake_timeout_secs)
                except TimeoutError:
                    self.metrics.inc(TIMEOUTS, receiver=self.name, reason="tls_handshake")
                    return
                except (ConnectionError, ssl.SSLError) as exc:
                    self.metrics.inc(ERRORS, receiver=self.name, reason=type(exc).__name__)
                    return
                stream = tls
            clean = (await self._read_frames(task, stream, host, f"{host}:{peer[1]}" if peer else host)
                     and stream.ended_in_order)
            if clean:
                await stream.close_orderly()
        except (ConnectionError, ssl.SSLError) as exc:
            clean = False
            self.metrics.inc(ERRORS, receiver=self.name, reason=type(exc).__name__)
        finally:
            self._handlers.discard(task)
            self.guard.release(host)
            if clean:
                _set_linger(sock, abortive=False)  # everything queued: an orderly close
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), STOP_GRACE_SECS)

    async def _read_frames(self, task: asyncio.Task[None], stream: ByteStream, host: str, peer_text: str) -> bool:
        """Read, frame and queue until the sender's orderly end (True) or anything else."""
        source = f"{self.scheme}://{host}"
        framer = SyslogFramer(self.max_frame_bytes)
        while not self._stopping.is_set():
            self._reading.add(task)
            try:
                chunk = await asyncio.wait_for(stream.read(READ_CHUNK_BYTES), self.idle_timeout_secs)
            except TimeoutError:
                self.metrics.inc(TIMEOUTS, receiver=self.name, reason="idle")
                return False
            finally:
                self._reading.discard(task)
            frames = framer.feed(chunk) if chunk else framer.finish()
            oversize, discarded = framer.take_counts()
            if oversize:
                self.metrics.inc(ERRORS, oversize, receiver=self.name, reason="octet_count_over_limit")
            if discarded:
                self.metrics.inc(DISCARDED_BYTES, discarded, receiver=self.name)
            if frames and not await self._deliver(frames, source, peer_text):
                return False
            if not chunk:
                return True
        return False

    async def _deliver(self, frames: list[Frame], source: str, peer: str) -> bool:
        received: datetime = self.clock.now()
        batch = [
            RawEvent.from_bytes(
                f.data, source, received, None, peer=peer, receiver=self.name,
                extra=self._extra if f.truncated_from is None else {**self._extra, "truncated_from": f.truncated_from},
            )
            for f in frames
        ]
        self.metrics.inc(RECEIVED, len(batch), receiver=self.name)
        truncated = sum(1 for f in frames if f.truncated_from is not None)
        if truncated:
            self.metrics.inc(TRUNCATED, truncated, receiver=self.name)
        return await deliver_waiting(self._sink, batch, self.name, self.metrics, self._stopping)
