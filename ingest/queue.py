"""The durable on-disk queue between the receivers and the processing worker.

One SQLite database in WAL mode holds the queued raw events (table ``queue``) and the
file-tail read positions (table ``checkpoints``). Guarantees:

* ``put`` returns only after the batch is committed: a committed batch survives a
  ``kill -9`` of the process (WAL + ``synchronous=NORMAL``); with ``sync="full"`` it also
  survives a power loss (one ``fsync`` per commit).
* Delivery is at-least-once: the worker ``read``\\s a batch, stores it, then ``ack``\\s it;
  a crash between store and ack redelivers the batch on restart, and the deterministic
  ``event.id`` makes that redelivery idempotent in the store.
* A checkpoint passed with ``put`` is committed in the same transaction as the events,
  so the file tail neither skips nor repeats lines across a restart.
* Back-pressure: once ``max_events`` events or ``max_bytes`` bytes of raw events are
  queued, ``put`` raises :class:`soc_core.errors.QueueFull` and enqueues nothing (the
  queue may exceed a limit by the one batch that reached it).
* Fair sharing under overload: a ``put`` given ``wait_secs`` waits that long for room
  instead of failing at once; waiting producers are served round-robin by receiver
  (``RawEvent.receiver``), so a receiver with many busy connections cannot take every
  slot the worker frees while another receiver's senders only see refusals.
* Bounded memory on the reading side: ``read`` stops at ``max_bytes`` as well as at
  ``max_events`` (a batch of 2,000 one-MiB lines would otherwise be 2 GB in memory).

SQLite calls block, so the async ``put`` runs them in a thread; one lock serialises them
(SQLite allows one writer anyway).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from soc_core.errors import DataFileError, QueueFull
from soc_core.event import RawEvent, format_timestamp, parse_timestamp

Sync = Literal["normal", "full"]

_ROOM_POLL_SECS = 0.02

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB NOT NULL,
    source TEXT NOT NULL,
    received TEXT NOT NULL,
    offset INTEGER,
    peer TEXT,
    receiver TEXT,
    decode_error TEXT,
    extra BLOB
);
CREATE TABLE IF NOT EXISTS checkpoints (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    """Raw events read from the queue; ``last_seq`` is what to ``ack`` once stored."""

    events: list[RawEvent]
    last_seq: int


class DurableQueue:
    """A bounded, durable FIFO of raw events in one SQLite file (see the module doc)."""

    def __init__(self, path: str | Path, max_events: int = 1_000_000, sync: Sync = "normal",
                 max_bytes: int = 1 << 30) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # One connection shared by the receivers' threads and the worker, under the lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            self._read_after = self._acked_seq()
            self._depth, self._bytes = self._count()
        except sqlite3.DatabaseError as exc:  # corrupted, or not a database: name the file
            self._db.close()
            raise DataFileError(str(self.path), f"cannot open the queue: {exc}") from None
        self._closed = False
        # Producers waiting for room, one line per receiver, served round-robin (asyncio side).
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._turn_done = asyncio.Event()  # the producer granted a turn has put (or given up)

    # -- producing ---------------------------------------------------------------------

    async def put(self, batch: Sequence[RawEvent], checkpoint: tuple[str, Any] | None = None,
                  *, wait_secs: float = 0.0) -> None:
        """Durably enqueue ``batch`` (and a checkpoint, atomically).

        When the queue is full, wait up to ``wait_secs`` for room (served fairly among
        receivers, see the module doc), then raise QueueFull; nothing of a refused
        batch is queued."""
        if not batch and checkpoint is None:
            return
        if not any(self._waiting.values()) or not batch or wait_secs <= 0:
            try:
                await asyncio.to_thread(self.put_sync, batch, checkpoint)
                return
            except QueueFull:
                if wait_secs <= 0:
                    raise
        await self._wait_turn(batch[0].receiver or "", wait_secs)
        # Our turn: the dispatcher saw room and lets no other waiter in until we are done.
        try:
            await asyncio.to_thread(self.put_sync, batch, checkpoint)
        finally:
            self._turn_done.set()

    @property
    def full(self) -> bool:
        """At a limit: a ``put`` now would be refused."""
        return self._depth >= self.max_events or self._bytes >= self.max_bytes

    async def _wait_turn(self, key: str, wait_secs: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.setdefault(key, deque()).append(future)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="queue-fair-dispatch")
        try:
            await asyncio.wait_for(asyncio.shield(future), wait_secs)
        except TimeoutError:
            line = self._waiting.get(key)
            if line is not None and future in line:
                line.remove(future)
                future.cancel()
                raise QueueFull(f"queue full for {wait_secs:g} s ({self._depth} events,"
                                f" {self._bytes} bytes)") from None
            if future.cancelled():
                raise QueueFull("queue closed") from None
            # Granted just as the wait ran out: take the turn all the same.
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                self._turn_done.set()  # granted but never used: hand the turn on
            raise

    async def _dispatch(self) -> None:
        """Grant turns round-robin by receiver while producers wait (the worker frees
        room from another thread, so room is polled)."""
        order: deque[str] = deque()
        while any(self._waiting.values()):
            if self._closed:
                for waiters in self._waiting.values():
                    for waiter in waiters:
                        waiter.cancel()
                self._waiting.clear()
                return
            if self.full:
                await asyncio.sleep(_ROOM_POLL_SECS)
                continue
            for key in self._waiting:
                if key not in order:
                    order.append(key)
            key = order[0]
            order.rotate(-1)
            next_line = self._waiting.get(key)
            if not next_line:
                self._waiting.pop(key, None)
                order.remove(key)
                continue
            future = next_line.popleft()
            if future.done():
                continue
            self._turn_done.clear()
            future.set_result(None)
            await self._turn_done.wait()
        self._waiting.clear()

    def put_sync(self, batch: Sequence[RawEvent], checkpoint: tuple[str, Any] | None = None) -> None:
        """The blocking form of :meth:`put`."""
        rows = [_encode(raw) for raw in batch]
        size = sum(len(raw.data) for raw in batch)
        with self._lock:
            # A soft limit: refuse once the queue is at the limit, so that a batch larger
            # than the limit can still be queued when the queue is drained (no deadlock).
            if rows and self.full:
                raise QueueFull(f"queue holds {self._depth} events, {self._bytes} bytes"
                                f" (limits {self.max_events} events, {self.max_bytes} bytes)")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO queue (data, source, received, offset, peer, receiver, decode_error, extra)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                if checkpoint is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO checkpoints (key, value) VALUES (?, ?)",
                        (checkpoint[0], orjson.dumps(checkpoint[1])),
                    )
                self._bump("enqueued", len(rows))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth += len(rows)
            self._bytes += size

    def checkpoint(self, key: str) -> Any:
        """The value last committed for ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def checkpoints(self, prefix: str) -> dict[str, Any]:
        """Every checkpoint whose key starts with ``prefix``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM checkpoints WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
        return {key: orjson.loads(value) for key, value in rows}

    def delete_checkpoint(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM checkpoints WHERE key = ?", (key,))

    # -- consuming ---------------------------------------------------------------------

    def read(self, max_events: int, max_bytes: int = 16 << 20) -> QueuedBatch | None:
        """The next batch after what was already read (not yet acknowledged), or None.

        The batch stops at ``max_events`` events or once ``max_bytes`` of raw bytes are
        in it (always at least one event)."""
        rows: list[tuple[Any, ...]] = []
        size = 0
        with self._lock:
            cursor = self._db.execute(
                "SELECT seq, data, source, received, offset, peer, receiver, decode_error, extra"
                " FROM queue WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._read_after, max_events),
            )
            # Row by row, so the rows past the byte budget are never loaded.
            for row in cursor:
                rows.append(row)
                size += len(row[1])
                if size >= max_bytes:
                    break
            cursor.close()
        if not rows:
            return None
        self._read_after = rows[-1][0]
        return QueuedBatch([_decode(row) for row in rows], rows[-1][0])

    def ack(self, last_seq: int) -> None:
        """The batch up to ``last_seq`` is stored: forget it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                freed = self._db.execute(
                    "SELECT coalesce(sum(length(data)), 0) FROM queue WHERE seq <= ?", (last_seq,)
                ).fetchone()[0]
                deleted = self._db.execute("DELETE FROM queue WHERE seq <= ?", (last_seq,)).rowcount
                self._db.execute(
                    "INSERT OR REPLACE INTO counters (name, value) VALUES ('acked_seq', ?)", (last_seq,)
                )
                self._bump("acked", deleted)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth -= deleted
            self._bytes -= int(freed)

    def rewind(self) -> None:
        """Read again from the oldest unacknowledged event (after a failed store)."""
        with self._lock:
            self._read_after = self._acked_seq()

    # -- observing ---------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Events queued and not yet acknowledged."""
        return self._depth

    @property
    def depth_bytes(self) -> int:
        """Raw bytes of the events queued and not yet acknowledged."""
        return self._bytes

    def oldest_received(self) -> datetime | None:
        """When the oldest unacknowledged event was received (for the lag metric)."""
        if self._closed:
            return None
        with self._lock:
            row = self._db.execute("SELECT received FROM queue ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else parse_timestamp(row[0])

    def totals(self) -> dict[str, int]:
        """Lifetime counters kept in the file: ``enqueued`` and ``acked``."""
        out = {"enqueued": 0, "acked": 0}
        if self._closed:  # metrics may be rendered once more after the stop
            return out
        with self._lock:
            rows = self._db.execute("SELECT name, value FROM counters").fetchall()
        out.update({name: value for name, value in rows if name in out})
        return out

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()

    # -- internals ---------------------------------------------------------------------

    def _bump(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def _acked_seq(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'acked_seq'").fetchone()
        return int(row[0]) if row else 0

    def _count(self) -> tuple[int, int]:
        count, size = self._db.execute("SELECT count(*), coalesce(sum(length(data)), 0) FROM queue").fetchone()
        return int(count), int(size)


def _encode(raw: RawEvent) -> tuple[Any, ...]:
    extra = orjson.dumps(dict(raw.extra)) if raw.extra else None
    return (raw.data, raw.source, format_timestamp(raw.received), raw.offset, raw.peer, raw.receiver,
            raw.decode_error, extra)


def _decode(row: tuple[Any, ...]) -> RawEvent:
    _, data, source, received, offset, peer, receiver, decode_error, extra = row
    loaded: Mapping[str, Any] = orjson.loads(extra) if extra else {}
    return RawEvent(data=bytes(data), source=source, received=parse_timestamp(received), offset=offset,
                    peer=peer, receiver=receiver, decode_error=decode_error, extra=loaded)
