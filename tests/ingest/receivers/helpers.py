"""Shared helpers for receiver tests: a real durable queue and a bounded wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from ingest.queue import DurableQueue
from soc_core.event import RawEvent


def drain(queue: DurableQueue) -> list[RawEvent]:
    """Everything queued (and acknowledge it)."""
    out: list[RawEvent] = []
    for _ in range(10_000):
        batch = queue.read(10_000)
        if batch is None:
            break
        out += batch.events
        queue.ack(batch.last_seq)
    return out


async def wait_until(condition: Callable[[], bool], timeout_secs: float = 10.0) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout_secs``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_secs
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_secs} s")
        await asyncio.sleep(0.01)


def new_queue(tmp_path: Path, max_events: int = 1_000_000) -> DurableQueue:
    return DurableQueue(tmp_path / "queue.db", max_events=max_events)
