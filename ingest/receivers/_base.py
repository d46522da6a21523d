"""What the receivers share: their metrics, and delivery to the queue with back-pressure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.metrics import Metrics
from soc_core.contracts import EventSink
from soc_core.errors import QueueFull
from soc_core.event import RawEvent

RECEIVED = "soc_receiver_received_total"
QUEUED = "soc_receiver_queued_total"
DROPPED = "soc_receiver_dropped_total"
ERRORS = "soc_receiver_errors_total"
BACKPRESSURE = "soc_receiver_backpressure_total"
CONNECTIONS = "soc_receiver_connections_total"

_BACKOFF_START_SECS = 0.05
_BACKOFF_MAX_SECS = 1.0


def declare_receiver_metrics(metrics: Metrics) -> None:
    """Declare the per-receiver families (idempotent)."""
    metrics.declare(RECEIVED, "counter", "Events received, per receiver.")
    metrics.declare(QUEUED, "counter", "Events durably queued, per receiver.")
    metrics.declare(DROPPED, "counter", "Events a receiver had to drop, per receiver and reason.")
    metrics.declare(ERRORS, "counter", "Input errors (bad frames, TLS failures, bad requests), per receiver.")
    metrics.declare(BACKPRESSURE, "counter", "Times a receiver waited or refused because the queue was full.")
    metrics.declare(CONNECTIONS, "counter", "Connections accepted, per receiver.")


def parser_extra(parser: str | None) -> Mapping[str, Any]:
    """The ``RawEvent.extra`` that routes an event to the parser chosen for its input."""
    return {"parser": parser} if parser else {}


async def deliver_waiting(sink: EventSink, batch: Sequence[RawEvent], name: str, metrics: Metrics,
                          stopping: asyncio.Event) -> bool:
    """Queue ``batch``, waiting while the queue is full (stream inputs: the sender is
    slowed down by TCP flow control because nothing more is read meanwhile).

    Returns False when the receiver was stopped before the batch could be queued.
    """
    delay = _BACKOFF_START_SECS
    while True:
        try:
            await sink.put(batch)
        except QueueFull:
            metrics.inc(BACKPRESSURE, receiver=name)
            if stopping.is_set():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            delay = min(delay * 2, _BACKOFF_MAX_SECS)
            continue
        metrics.inc(QUEUED, len(batch), receiver=name)
        return True
