"""What the receivers share: their metrics, and delivery to the queue with back-pressure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.metrics import Metrics
from ingest.queue import DurableQueue
from soc_core.contracts import EventSink
from soc_core.errors import QueueFull
from soc_core.event import RawEvent
from soc_core.legacy_encodings import ENCODING_KEY, canonical

RECEIVED = "soc_receiver_received_total"
QUEUED = "soc_receiver_queued_total"
DROPPED = "soc_receiver_dropped_total"
ERRORS = "soc_receiver_errors_total"
BACKPRESSURE = "soc_receiver_backpressure_total"
CONNECTIONS = "soc_receiver_connections_total"

TRUNCATED = "soc_receiver_truncated_total"
DISCARDED_BYTES = "soc_receiver_discarded_bytes_total"
REFUSED = "soc_receiver_refused_connections_total"
TIMEOUTS = "soc_receiver_timeouts_total"

_BACKOFF_START_SECS = 0.05
_BACKOFF_MAX_SECS = 1.0
# How long one turn in the queue's fair waiting line lasts before the stop flag is checked.
_FAIR_WAIT_SLICE_SECS = 1.0


def declare_receiver_metrics(metrics: Metrics) -> None:
    """Declare the per-receiver families (idempotent)."""
    metrics.declare(RECEIVED, "counter", "Events received, per receiver.")
    metrics.declare(QUEUED, "counter", "Events durably queued, per receiver.")
    metrics.declare(DROPPED, "counter", "Events a receiver had to drop, per receiver and reason.")
    metrics.declare(ERRORS, "counter", "Input errors (bad frames, TLS failures, bad requests), per receiver.")
    metrics.declare(BACKPRESSURE, "counter", "Times a receiver waited or refused because the queue was full.")
    metrics.declare(CONNECTIONS, "counter", "Connections accepted, per receiver.")
    metrics.declare(TRUNCATED, "counter", "Events cut at the receiver's frame limit (marked log.flags: truncated).")
    metrics.declare(DISCARDED_BYTES, "counter", "Bytes of over-long frames skipped after their cut, per receiver.")
    metrics.declare(REFUSED, "counter", "Connections closed at once: over a connection cap, per receiver and reason.")
    metrics.declare(TIMEOUTS, "counter", "Connections closed for idleness or a request sent too slowly.")


def parser_extra(parser: str | None, encoding: str | None = None) -> Mapping[str, Any]:
    """The ``RawEvent.extra`` that routes an event to the parser chosen for its input and,
    for a source that does not send UTF-8 (legacy Vietnamese TCVN3, VNI, VISCII...), names
    its encoding: the worker decodes with it (the bytes travel through the queue as they
    came, see :func:`soc_core.legacy_encodings.with_encoding`)."""
    extra: dict[str, Any] = {"parser": parser} if parser else {}
    if encoding is not None and canonical(encoding) != "utf-8":
        extra[ENCODING_KEY] = canonical(encoding)
    return extra


async def deliver_waiting(sink: EventSink, batch: Sequence[RawEvent], name: str, metrics: Metrics,
                          stopping: asyncio.Event) -> bool:
    """Queue ``batch``, waiting while the queue is full (stream inputs: the sender is
    slowed down by TCP flow control because nothing more is read meanwhile).

    The durable queue makes the wait a place in its fair line (round-robin between
    receivers); another sink is retried with an exponential back-off.

    Returns False when the receiver was stopped before the batch could be queued.
    """
    delay = _BACKOFF_START_SECS
    while True:
        try:
            if await put_fairly(sink, batch, _FAIR_WAIT_SLICE_SECS):
                metrics.inc(BACKPRESSURE, receiver=name)
        except QueueFull:
            metrics.inc(BACKPRESSURE, receiver=name)
            if stopping.is_set():
                return False
            if not isinstance(sink, DurableQueue):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), delay)
                delay = min(delay * 2, _BACKOFF_MAX_SECS)
            continue
        metrics.inc(QUEUED, len(batch), receiver=name)
        return True


async def put_fairly(sink: EventSink, batch: Sequence[RawEvent], wait_secs: float) -> bool:
    """Queue ``batch``, waiting up to ``wait_secs`` in the durable queue's fair line when
    it is full (other sinks: one attempt); raises QueueFull when that was not enough.

    Returns True when the queue was full at first (the caller counts back-pressure)."""
    if isinstance(sink, DurableQueue):
        was_full = sink.full
        await sink.put(batch, wait_secs=wait_secs)
        return was_full
    await sink.put(batch)
    return False


class ConnectionGuard:
    """Connection caps of one receiver: in total and per client address.

    ``admit`` says why a new connection must be refused (or None); every admitted
    connection is ``release``\\d once closed. The caps keep one noisy or hostile host from
    taking every file descriptor (and with them every other input and ``/health``)."""

    def __init__(self, max_connections: int, max_per_address: int) -> None:
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.total = 0
        self._per_address: dict[str, int] = {}

    def admit(self, address: str) -> str | None:
        if self.total >= self.max_connections:
            return "max_connections"
        if self._per_address.get(address, 0) >= self.max_per_address:
            return "max_connections_per_address"
        self.total += 1
        self._per_address[address] = self._per_address.get(address, 0) + 1
        return None

    def release(self, address: str) -> None:
        self.total -= 1
        left = self._per_address.get(address, 1) - 1
        if left > 0:
            self._per_address[address] = left
        else:
            self._per_address.pop(address, None)
