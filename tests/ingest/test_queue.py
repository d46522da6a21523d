"""The durable queue: order, acknowledgement, back-pressure, atomic checkpoints, and
survival of kill -9 (a real child process killed while it enqueues)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.queue import DurableQueue
from soc_core.errors import QueueFull
from soc_core.event import RawEvent

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def raws(n: int, start: int = 0) -> list[RawEvent]:
    return [RawEvent.from_bytes(f"line {i}".encode(), "syslog+tcp://10.0.0.1", T0, None,
                                peer="10.0.0.1:5000", receiver="tcp", extra={"parser": "system.syslog"})
            for i in range(start, start + n)]


def test_events_come_back_in_order_with_every_field(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    sent = raws(5)
    asyncio.run(queue.put(sent))
    batch = queue.read(10)
    assert batch is not None
    assert batch.events == sent
    assert queue.depth == 5
    queue.ack(batch.last_seq)
    assert queue.depth == 0 and queue.read(10) is None
    assert queue.totals() == {"enqueued": 5, "acked": 5}
    queue.close()


def test_unacknowledged_events_are_redelivered_after_reopen(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    queue.put_sync(raws(3))
    queue.put_sync(raws(3, start=3))
    first = queue.read(3)
    assert first is not None
    queue.ack(first.last_seq)
    second = queue.read(3)  # read, never acknowledged: the process "dies" here
    assert second is not None
    queue.close()
    reopened = DurableQueue(tmp_path / "q.db")
    again = reopened.read(10)
    assert again is not None
    assert [r.message for r in again.events] == ["line 3", "line 4", "line 5"]
    assert reopened.depth == 3
    reopened.close()


def test_rewind_reads_the_unacknowledged_batch_again(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    queue.put_sync(raws(4))
    batch = queue.read(2)
    assert batch is not None
    queue.rewind()
    assert queue.read(2) == batch
    queue.close()


def test_a_full_queue_refuses_the_whole_batch(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db", max_events=5)
    queue.put_sync(raws(4))
    queue.put_sync(raws(3, start=4))  # below the limit: accepted whole, even past it
    assert queue.depth == 7
    with pytest.raises(QueueFull):
        queue.put_sync(raws(1, start=7))
    assert queue.depth == 7
    batch = queue.read(3)
    assert batch is not None
    queue.ack(batch.last_seq)
    queue.put_sync(raws(1, start=7))  # room again
    assert queue.depth == 5
    queue.close()


def test_checkpoint_commits_with_its_batch_and_alone(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db", max_events=2)
    queue.put_sync(raws(2), checkpoint=("tail:a", {"offset": 20}))
    with pytest.raises(QueueFull):
        queue.put_sync(raws(2), checkpoint=("tail:a", {"offset": 40}))
    assert queue.checkpoint("tail:a") == {"offset": 20}  # the refused batch moved nothing
    queue.put_sync([], checkpoint=("tail:b", {"offset": 7}))
    assert queue.checkpoints("tail:") == {"tail:a": {"offset": 20}, "tail:b": {"offset": 7}}
    queue.delete_checkpoint("tail:b")
    assert queue.checkpoint("tail:b") is None
    queue.close()


def test_lag_is_the_age_of_the_oldest_queued_event(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path / "q.db")
    assert queue.oldest_received() is None
    queue.put_sync(raws(2))
    assert queue.oldest_received() == T0
    queue.close()


CHILD = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from ingest.queue import DurableQueue
    from soc_core.event import RawEvent
    queue = DurableQueue(sys.argv[1])
    now = datetime.now(UTC)
    for b in range(100000):
        queue.put_sync([RawEvent.from_bytes(f"{b}:{i}".encode(), "test", now) for i in range(100)])
        print(b, flush=True)  # printed only after the commit returned
""")


def test_committed_batches_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    assert child.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 60
    while acknowledged < 50 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    for line in child.stdout:  # batches acknowledged before the kill landed
        acknowledged = int(line)
    child.stdout.close()
    assert acknowledged >= 50
    queue = DurableQueue(path)
    messages: list[str] = []
    for _ in range(10_000):
        batch = queue.read(5000)
        if batch is None:
            break
        messages += [r.message for r in batch.events]
    batches = {int(m.split(":")[0]) for m in messages}
    assert set(range(acknowledged + 1)) <= batches
    assert len(messages) == len(set(messages)) == 100 * len(batches)  # whole batches only
    queue.close()


def big_raws(n: int, size: int) -> list[RawEvent]:
    return [RawEvent.from_bytes(b"%d " % i + b"x" * size, "syslog+tcp://10.0.0.1", T0, None, receiver="tcp")
            for i in range(n)]


def test_the_queue_is_bounded_in_bytes_and_reads_stop_at_a_byte_budget(tmp_path: Path) -> None:
    """Issue 21 item 10: 1 MiB lines count by their bytes, not as one event each."""
    queue = DurableQueue(tmp_path / "q.db", max_events=1_000_000, max_bytes=5 << 20)
    queue.put_sync(big_raws(6, 1 << 20))  # reaches the byte limit (a batch may pass it once)
    assert queue.full and queue.depth_bytes > 5 << 20
    with pytest.raises(QueueFull, match="bytes"):
        queue.put_sync(big_raws(1, 10))
    batch = queue.read(2000, max_bytes=2 << 20)
    assert batch is not None and len(batch.events) == 2  # stopped at the budget, not at 2,000
    queue.ack(batch.last_seq)
    assert queue.depth == 4 and not queue.full
    queue.close()
    reopened = DurableQueue(tmp_path / "q.db", max_bytes=5 << 20)
    assert reopened.depth_bytes == sum(len(r.data) for r in big_raws(4, 1 << 20))  # recounted from the file
    reopened.close()


def test_waiting_producers_are_served_round_robin_by_receiver(tmp_path: Path) -> None:
    """Issue 21 item 14: a receiver with many waiting producers does not take every
    slot freed; the other receiver's single producer gets its turn."""
    queue = DurableQueue(tmp_path / "q.db", max_events=1)
    order: list[str] = []

    def one(receiver: str, i: int) -> list[RawEvent]:
        return [RawEvent.from_bytes(b"%s %d" % (receiver.encode(), i), "s", T0, receiver=receiver)]

    async def main() -> None:
        await queue.put(one("tcp", -1))  # full from here on

        async def producer(receiver: str, i: int) -> None:
            await queue.put(one(receiver, i), wait_secs=10)
            order.append(receiver)

        tasks = [asyncio.create_task(producer("tcp", i)) for i in range(6)]
        await asyncio.sleep(0.05)
        tasks.append(asyncio.create_task(producer("http", 0)))
        await asyncio.sleep(0.05)
        for freed in range(1, 8):  # a worker freeing one slot at a time
            batch = queue.read(1)
            assert batch is not None
            queue.ack(batch.last_seq)
            for _ in range(500):
                if len(order) >= freed:
                    break
                await asyncio.sleep(0.01)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    asyncio.run(main())
    assert order.index("http") <= 1  # served at the first or second freed slot, not the seventh
    queue.close()
