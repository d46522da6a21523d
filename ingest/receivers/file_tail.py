"""File tail: follows files and globs, across rotation and truncation, with checkpoints.

Files are tracked by identity (device and inode), not by name, so a rotated file
(``app.log`` renamed to ``app.log.1``) is read to its end through the open descriptor
while the new ``app.log`` is picked up from its first byte. A file that shrinks below
the read position was truncated (``copytruncate``) and is read again from 0.

The read position of each file is committed **in the same queue transaction** as the
lines read up to it (``DurableQueue.put(batch, checkpoint=...)``), so a restart, even
after ``kill -9``, neither skips nor repeats a line. A checkpoint also keeps a hash of the
file's first bytes: an inode reused by a new file is then recognised and read from 0.

``.gz`` files matched by a glob are archives: read once, whole, and remembered as done.
Do not glob the compressed copies of a file that is itself tailed: their lines would be
read again under another name. Lines still being written (no ``\\n`` yet) wait, unless
the file has been rotated away, where its last partial line is taken as it is.
Limits: a line written and truncated away between two polls is lost (as with any tailer
of ``copytruncate`` files); only line framing is done here.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import gzip
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, Protocol

from ingest.metrics import Metrics
from ingest.receivers._base import (
    ERRORS,
    RECEIVED,
    declare_receiver_metrics,
    deliver_waiting,
    parser_extra,
)
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import EventSink
from soc_core.event import RawEvent

READ_CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
FINGERPRINT_BYTES = 256
ROTATIONS = "soc_file_tail_rotations_total"
TRUNCATIONS = "soc_file_tail_truncations_total"


class CheckpointSink(EventSink, Protocol):
    """A sink that commits a checkpoint atomically with a batch (the durable queue)."""

    async def put(self, batch: Sequence[RawEvent], checkpoint: tuple[str, Any] | None = None) -> None: ...

    def checkpoint(self, key: str) -> Any: ...

    def delete_checkpoint(self, key: str) -> None: ...


@dataclass
class _Tracked:
    key: str
    source: str
    fh: BinaryIO
    offset: int
    gz: bool
    fingerprint: str | None
    idle_polls: int = 0
    done: bool = False
    carry: bytes = b""


def _fingerprint(fh: BinaryIO) -> str | None:
    fh.seek(0)
    head = fh.read(FINGERPRINT_BYTES)
    return hashlib.blake2b(head, digest_size=8).hexdigest() if len(head) == FINGERPRINT_BYTES else None


class FileTailReceiver:
    """Tails every file matched by ``patterns`` (paths or globs)."""

    acknowledges = True

    def __init__(
        self,
        patterns: Sequence[str],
        parser: str | None = None,
        encoding: str | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        poll_interval_secs: float = 0.25,
        start_at: Literal["beginning", "end"] = "beginning",
    ) -> None:
        self.patterns = [os.path.abspath(p) for p in patterns]
        self.name = name or "file://" + ",".join(self.patterns)
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.poll_interval_secs = poll_interval_secs
        self.start_at = start_at
        self._extra = parser_extra(parser, encoding)
        self._tracked: dict[str, _Tracked] = {}
        self._stopping = asyncio.Event()
        declare_receiver_metrics(self.metrics)
        self.metrics.declare(ROTATIONS, "counter", "Tailed files that were rotated away and read to their end.")
        self.metrics.declare(TRUNCATIONS, "counter", "Tailed files found truncated and read again from 0.")

    async def run(self, sink: EventSink) -> None:
        """Poll until stopped; each poll reads every tracked file to its current end."""
        if not all(hasattr(sink, attr) for attr in ("checkpoint", "delete_checkpoint")):
            raise TypeError("the file tail needs a sink that keeps checkpoints (the durable queue)")
        self._sink: CheckpointSink = sink  # type: ignore[assignment]  # checked just above
        try:
            while not self._stopping.is_set():
                await self.poll()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval_secs)
        finally:
            for tracked in self._tracked.values():
                tracked.fh.close()
            self._tracked.clear()

    async def stop(self) -> None:
        self._stopping.set()

    async def poll(self) -> None:
        """One pass: discover files, read what is new, retire rotated-away files."""
        matched: dict[str, str] = {}
        for pattern in self.patterns:
            for path in sorted(glob.glob(pattern)):
                try:
                    st = os.stat(path)
                except OSError:
                    continue  # vanished between glob and stat
                if os.path.isfile(path):
                    matched.setdefault(f"{self.name}:{st.st_dev}:{st.st_ino}", path)
        for key, path in matched.items():
            if key not in self._tracked:
                self._discover(key, path)
        for key in list(self._tracked):
            tracked = self._tracked[key]
            if self._stopping.is_set():
                return
            progressed = False if tracked.done else await self._read(tracked, final=False)
            if key in matched or progressed:
                tracked.idle_polls = 0
            else:
                # Rotated away: the writer may still append for a moment before it
                # reopens the new file, so retire only after two quiet polls.
                tracked.idle_polls += 1
                if tracked.idle_polls >= 2:
                    await self._retire(tracked)

    def _discover(self, key: str, path: str) -> None:
        try:
            # The handle outlives this call: it is how a rotated file is followed.
            fh: BinaryIO = (gzip.open(path, "rb") if path.endswith(".gz")  # type: ignore[assignment]  # noqa: SIM115
                            else open(path, "rb"))  # noqa: SIM115
        except OSError as exc:
            self.metrics.inc(ERRORS, receiver=self.name, reason=type(exc).__name__)
            return
        gz = path.endswith(".gz")
        saved = self._sink.checkpoint(key)
        offset = 0
        source = os.path.abspath(path)
        fingerprint = None if gz else _fingerprint(fh)
        if isinstance(saved, dict):
            same_file = saved.get("fp") is None or saved.get("fp") == fingerprint
            if same_file:
                offset, source = int(saved.get("offset", 0)), str(saved.get("path", source))
                if saved.get("done"):
                    fh.close()
                    devnull = open(os.devnull, "rb")  # noqa: SIM115 - closed with the other handles
                    self._tracked[key] = _Tracked(key, source, devnull, offset, gz, None, done=True)
                    return
        elif self.start_at == "end" and not gz:
            offset = os.fstat(fh.fileno()).st_size
        self._tracked[key] = _Tracked(key, source, fh, offset, gz, fingerprint)

    async def _read(self, tracked: _Tracked, final: bool) -> bool:
        """Queue every complete line from the read position (all lines when ``final``);
        True when the read position moved."""
        start = tracked.offset
        while not self._stopping.is_set():
            lines, new_offset, eof = await asyncio.to_thread(self._read_chunk, tracked, final)
            if new_offset == tracked.offset and not lines:
                break
            received = self.clock.now()
            batch = [RawEvent.from_bytes(data, tracked.source, received, offset, receiver=self.name,
                                         extra=self._extra) for offset, data in lines]
            if tracked.fingerprint is None and not tracked.gz:
                tracked.fingerprint = await asyncio.to_thread(self._refingerprint, tracked)
            done = tracked.gz and eof
            state = {"path": tracked.source, "offset": new_offset, "fp": tracked.fingerprint, "done": done}
            self.metrics.inc(RECEIVED, len(batch), receiver=self.name)
            if not await self._deliver(batch, (tracked.key, state)):
                break
            tracked.offset = new_offset
            tracked.done = done
            if eof:
                break
        return tracked.offset != start

    def _refingerprint(self, tracked: _Tracked) -> str | None:
        position = tracked.fh.tell()
        try:
            return _fingerprint(tracked.fh)
        finally:
            tracked.fh.seek(position)

    def _read_chunk(self, tracked: _Tracked, final: bool) -> tuple[list[tuple[int, bytes]], int, bool]:
        """Lines from the read position: ``(offset, bytes)`` each, the new position, and
        whether the end of the file was reached. Runs in a thread (blocking I/O).

        An unterminated tail is kept in ``tracked.carry`` rather than re-read, because
        seeking backwards in a gzip stream means decompressing it again from the start.
        """
        fh = tracked.fh
        if not tracked.gz and os.fstat(fh.fileno()).st_size < tracked.offset + len(tracked.carry):
            self.metrics.inc(TRUNCATIONS, receiver=self.name)
            # New content: its first bytes are not the ones fingerprinted before.
            tracked.offset, tracked.carry, tracked.fingerprint = 0, b"", None
        want = tracked.offset + len(tracked.carry)
        if fh.tell() != want:
            fh.seek(want)
        fresh = fh.read(READ_CHUNK_BYTES)
        eof = len(fresh) < READ_CHUNK_BYTES
        data = tracked.carry + fresh
        lines: list[tuple[int, bytes]] = []
        position = 0
        while True:
            nl = data.find(b"\n", position)
            if nl < 0:
                break
            line = data[position:nl].rstrip(b"\r")
            if line.strip():
                lines.append((tracked.offset + position, line[:MAX_LINE_BYTES]))
            position = nl + 1
        rest = len(data) - position
        if rest and (((final or tracked.gz) and eof) or rest >= MAX_LINE_BYTES):
            # A rotated file's or archive's last unterminated line, or an endless line.
            line = data[position:].rstrip(b"\r")
            if line.strip():
                lines.append((tracked.offset + position, line[:MAX_LINE_BYTES]))
            position = len(data)
        tracked.carry = data[position:]
        return lines, tracked.offset + position, eof

    async def _deliver(self, batch: list[RawEvent], checkpoint: tuple[str, Any]) -> bool:
        # Back-pressure as for TCP: wait (nothing is read meanwhile), never drop.
        sink = self._sink

        class _WithCheckpoint:
            async def put(self, events: Sequence[RawEvent]) -> None:
                await sink.put(events, checkpoint=checkpoint)

        if not batch:
            await sink.put([], checkpoint=checkpoint)
            return True
        return await deliver_waiting(_WithCheckpoint(), batch, self.name, self.metrics, self._stopping)

    async def _retire(self, tracked: _Tracked) -> None:
        """A file no glob matches any more (rotated away or deleted): finish it, close it."""
        if not tracked.done:
            await self._read(tracked, final=True)
        if self._stopping.is_set():
            return
        deleted = tracked.gz is False and os.fstat(tracked.fh.fileno()).st_nlink == 0
        tracked.fh.close()
        del self._tracked[tracked.key]
        self.metrics.inc(ROTATIONS, receiver=self.name)
        if deleted:
            self._sink.delete_checkpoint(tracked.key)
