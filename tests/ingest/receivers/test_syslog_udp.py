"""Syslog over UDP against a real socket: datagrams queued in batches; when the queue is
full the receiver drops and counts (UDP cannot push back)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from ingest.metrics import Metrics
from ingest.receivers.syslog_udp import SyslogUdpReceiver
from tests.ingest.receivers.helpers import drain, new_queue, wait_until


def test_datagrams_are_queued_with_peer_and_parser(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    metrics = Metrics()

    async def scenario() -> None:
        receiver = SyslogUdpReceiver("127.0.0.1", 0, parser="system.syslog", metrics=metrics)
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(50):
                sock.sendto(f"<13>udp {i}\n".encode(), ("127.0.0.1", receiver.bound_port or 0))
            sock.sendto(b"\n", ("127.0.0.1", receiver.bound_port or 0))  # empty: skipped
        await wait_until(lambda: queue.depth == 50)
        await receiver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    events = drain(queue)
    assert sorted(e.data for e in events) == sorted(f"<13>udp {i}".encode() for i in range(50))
    assert all(e.source == "syslog+udp://127.0.0.1" and e.extra["parser"] == "system.syslog" for e in events)
    assert all(e.peer and e.peer.startswith("127.0.0.1:") for e in events)
    assert not SyslogUdpReceiver.acknowledges
    queue.close()


def test_a_full_queue_makes_udp_drop_and_count(tmp_path: Path) -> None:
    queue = new_queue(tmp_path, max_events=10)
    metrics = Metrics()

    async def scenario() -> None:
        receiver = SyslogUdpReceiver("127.0.0.1", 0, metrics=metrics, batch_size=10)
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(100):
                sock.sendto(f"<13>udp {i}".encode(), ("127.0.0.1", receiver.bound_port or 0))
                if i % 10 == 9:
                    await asyncio.sleep(0.1)  # let each batch of 10 reach the queue

        def accounted() -> bool:
            snap = metrics.snapshot()
            return sum(snap["soc_receiver_dropped_total"].values()) + queue.depth >= 100

        await wait_until(accounted)
        await receiver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    snap = metrics.snapshot()
    dropped = sum(snap["soc_receiver_dropped_total"].values())
    received = sum(snap["soc_receiver_received_total"].values())
    assert received == 100
    assert queue.depth == 10 and dropped == 90  # every datagram queued or counted as dropped
    queue.close()
