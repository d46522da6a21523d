"""Syslog over TCP against real sockets: framing, peer, identity, the close handshake
and back-pressure when the queue is full."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from ingest.metrics import Metrics
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from soc_core.event import compute_event_id
from tests.ingest.receivers.helpers import drain, new_queue, wait_until


def octet(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


async def send_and_close(port: int, payload: bytes) -> None:
    """Send, half-close, and wait for the server's close: everything is then queued."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    await writer.wait_closed()


def test_lines_and_counted_frames_are_queued_with_peer_and_parser(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    metrics = Metrics()

    async def scenario() -> None:
        receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="fortinet.firewall", metrics=metrics)
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        await send_and_close(receiver.bound_port, b"<13>a one\n" + octet(b"<13>b two\nstill two") + b"<13>c three")
        await receiver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    events = drain(queue)
    assert [e.data for e in events] == [b"<13>a one", b"<13>b two\nstill two", b"<13>c three"]
    for event in events:
        assert event.source == "syslog+tcp://127.0.0.1" and event.offset is None
        assert event.peer is not None and event.peer.startswith("127.0.0.1:")
        assert event.extra["parser"] == "fortinet.firewall"
        # The same line re-sent on another connection has the same id (stored once).
        assert event.event_id == compute_event_id("syslog+tcp://127.0.0.1", None, event.data)
    assert metrics.value("soc_receiver_queued_total", receiver=receiver_name(metrics)) == 3
    queue.close()


def receiver_name(metrics: Metrics) -> str:
    names = {dict(k)["receiver"] for k in metrics.snapshot()["soc_receiver_queued_total"]}
    assert len(names) == 1
    return names.pop()


def test_a_full_queue_slows_the_sender_without_losing_lines(tmp_path: Path) -> None:
    queue = new_queue(tmp_path, max_events=100)
    metrics = Metrics()
    # Large enough to arrive in several reads, each refused while the queue is full.
    lines = [f"<13>line {i} ".encode() + b"x" * 40 for i in range(20_000)]

    async def scenario() -> None:
        receiver = SyslogTcpReceiver("127.0.0.1", 0, metrics=metrics)
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        sender = asyncio.create_task(send_and_close(receiver.bound_port, b"".join(x + b"\n" for x in lines)))
        got: list[bytes] = []
        # The sender cannot finish while the queue is full: drain it slowly, as a worker would.
        await wait_until(lambda: queue.depth > 0)
        for _ in range(20_000):
            batch = queue.read(500)
            if batch is not None:
                got += [e.data for e in batch.events]
                queue.ack(batch.last_seq)
            if sender.done() and queue.depth == 0:
                break
            await asyncio.sleep(0.002)
        await asyncio.wait_for(sender, 10)
        got += [e.data for e in drain(queue)]
        assert got == lines
        await receiver.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert sum(metrics.snapshot()["soc_receiver_backpressure_total"].values()) > 0
    queue.close()


def test_stop_closes_idle_connections(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    async def scenario() -> None:
        receiver = SyslogTcpReceiver("127.0.0.1", 0)
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.bound_port)
        writer.write(b"<13>before stop\n")
        await writer.drain()
        await wait_until(lambda: queue.depth == 1)
        await receiver.stop()
        # The sender never half-closed, so the server's close is a reset: what the
        # sender might still have had in flight is not acknowledged.
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert [e.data for e in drain(queue)] == [b"<13>before stop"]
    queue.close()


def test_a_close_before_everything_is_queued_is_a_reset_not_an_acknowledgement(tmp_path: Path) -> None:
    queue = new_queue(tmp_path, max_events=1)
    outcome: list[object] = []

    async def scenario() -> None:
        receiver = SyslogTcpReceiver("127.0.0.1", 0)
        await receiver.start(queue)
        assert receiver.bound_port
        task = asyncio.create_task(receiver.run(queue))
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.bound_port)
        writer.write(b"<13>fills the queue\n")
        await writer.drain()
        await wait_until(lambda: queue.depth == 1)
        writer.write(b"<13>waits for room\n")  # refused: the queue is full
        writer.write_eof()
        await asyncio.sleep(0.2)
        await receiver.stop()  # stopping while that line is still unqueued
        try:
            outcome.append(await asyncio.wait_for(reader.read(), 10))
        except ConnectionResetError as exc:
            outcome.append(exc)
        writer.close()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionResetError)
    assert [e.data for e in drain(queue)] == [b"<13>fills the queue"]
    queue.close()
