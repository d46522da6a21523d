"""The file tail on real files: rotation by rename, copytruncate, restart (graceful and
abrupt), a partial last line, and gzip archives read once. No line lost or repeated."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
from pathlib import Path

from ingest.metrics import Metrics
from ingest.queue import DurableQueue
from ingest.receivers.file_tail import FileTailReceiver
from tests.ingest.receivers.helpers import drain, new_queue, wait_until


def lines(a: int, b: int) -> bytes:
    return b"".join(f"line {i:05d}\n".encode() for i in range(a, b))


class Harness:
    """One receiver at a time over one durable queue; collects everything queued."""

    def __init__(self, tmp_path: Path, patterns: list[str]) -> None:
        self.queue: DurableQueue = new_queue(tmp_path)
        self.patterns = patterns
        self.metrics = Metrics()
        self.seen: list[tuple[str, int | None, bytes]] = []
        self.task: asyncio.Task[None] | None = None
        self.receiver: FileTailReceiver | None = None

    def start(self) -> None:
        self.receiver = FileTailReceiver(self.patterns, parser="system.syslog", metrics=self.metrics,
                                         poll_interval_secs=0.02)
        self.task = asyncio.create_task(self.receiver.run(self.queue))

    async def stop(self, abrupt: bool = False) -> None:
        assert self.receiver is not None and self.task is not None
        if abrupt:  # as close to kill -9 as a test in one process gets
            self.task.cancel()
        else:
            await self.receiver.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)
        if abrupt:
            # A cancelled task leaves its queue commit running in a worker thread (a real
            # kill -9 would not): let it land before the "restarted" receiver reads the
            # checkpoint, or the test would race two receivers over one file.
            last = -1
            for _ in range(100):
                now = self.queue.totals()["enqueued"]
                if now == last:
                    break
                last = now
                await asyncio.sleep(0.1)

    async def expect(self, total: int) -> None:
        def collected() -> bool:
            self.seen += [(e.source, e.offset, e.data) for e in drain(self.queue)]
            return len(self.seen) >= total

        await wait_until(collected)
        await asyncio.sleep(0.1)  # and nothing more arrives
        self.seen += [(e.source, e.offset, e.data) for e in drain(self.queue)]
        assert len(self.seen) == total


def test_rotation_truncation_and_restart_lose_and_repeat_nothing(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    harness = Harness(tmp_path, [str(log)])

    async def scenario() -> None:
        log.write_bytes(lines(0, 100))
        harness.start()
        await harness.expect(100)

        # Rotation by rename while the writer still holds the old file open.
        with open(log, "ab") as old_writer:
            os.rename(log, tmp_path / "app.log.1")
            old_writer.write(lines(100, 150))
        log.write_bytes(lines(150, 200))
        await harness.expect(200)
        assert harness.metrics.value("soc_file_tail_rotations_total", receiver=harness.receiver.name) == 1  # type: ignore[union-attr]

        # copytruncate: the file shrinks under the reader, then grows again.
        shutil.copy(log, tmp_path / "app.log.2")
        with open(log, "r+b") as f:
            f.truncate(0)
        await asyncio.sleep(0.1)
        with open(log, "ab") as f:
            f.write(lines(200, 210))
        await harness.expect(210)

        # Graceful restart with lines written while stopped, and a line half-written.
        await harness.stop()
        with open(log, "ab") as f:
            f.write(lines(210, 260) + b"line partial")
        harness.start()
        await harness.expect(260)
        with open(log, "ab") as f:
            f.write(b"ly done\n")
        await harness.expect(261)

        # Abrupt stop (the task cancelled mid-flight), more lines, restart.
        with open(log, "ab") as f:
            f.write(lines(261, 3000))
        await asyncio.sleep(0.01)
        await harness.stop(abrupt=True)
        harness.start()
        await harness.expect(3000)
        await harness.stop()

    asyncio.run(scenario())
    got = [data for _, _, data in harness.seen]
    want = [f"line {i:05d}".encode() for i in range(260)] + [b"line partially done"] + \
        [f"line {i:05d}".encode() for i in range(261, 3000)]
    assert sorted(got) == sorted(want)
    assert len(got) == len(set(got))
    # Offsets point at the line in the file it was read from (under its first name).
    source = str(log.resolve())
    first = [(s, o) for s, o, d in harness.seen if d == b"line 00150"]
    assert first == [(source, 0)]
    harness.queue.close()


def test_gzip_archives_are_read_once_across_restarts(tmp_path: Path) -> None:
    archive = tmp_path / "old.log.gz"
    with gzip.open(archive, "wb") as f:
        f.write(lines(0, 5000) + b"no newline at the end")
    harness = Harness(tmp_path, [str(tmp_path / "*.gz")])

    async def scenario() -> None:
        harness.start()
        await harness.expect(5001)
        await harness.stop()
        harness.start()
        await asyncio.sleep(0.3)
        await harness.expect(5001)  # nothing read again
        await harness.stop()

    asyncio.run(scenario())
    assert [d for _, _, d in harness.seen][-1] == b"no newline at the end"
    assert [o for _, o, _ in harness.seen][:2] == [0, len(b"line 00000\n")]
    harness.queue.close()


def test_a_reused_inode_is_read_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    harness = Harness(tmp_path, [str(log)])

    async def scenario() -> None:
        log.write_bytes(lines(0, 40))  # over the fingerprint size
        harness.start()
        await harness.expect(40)
        await harness.stop()
        # Replaced in place by a different file of the same length: same inode and size,
        # different first bytes (the fingerprint says it is another file).
        with open(log, "r+b") as f:
            f.write(b"X" * 11 * 40)
        with open(log, "ab") as f:
            f.write(b"\nfresh\n")
        harness.start()
        await harness.expect(42)
        await harness.stop()

    asyncio.run(scenario())
    assert [d for _, _, d in harness.seen][40:] == [b"X" * 440, b"fresh"]
    harness.queue.close()
