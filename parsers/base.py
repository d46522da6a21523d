"""What every parser shares: options, file framing, and a small base class.

A parser is any object satisfying :class:`soc_core.contracts.Parser`; this base class
only saves repetition. Parsers are named by the ``event.dataset`` they produce.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import sys
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Any, BinaryIO

from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Framer
from soc_core.errors import InputDamaged
from soc_core.event import Event, RawEvent, new_event, utf8_cut

MAX_EVENT_BYTES = 1 << 20  # a longer "line" is still one event, cut here and marked


@dataclass(frozen=True)
class ParserOptions:
    """Per-run parser settings: the timezone of year-less/zone-less timestamps and the
    reference clock (year-less timestamps never land in the future of it)."""

    tz: tzinfo = UTC
    clock: Clock = field(default_factory=SystemClock)
    # ``auto`` only: (glob, parser) pairs. An event whose source (file path) or receiver
    # (listening address, e.g. ``syslog+udp://0.0.0.0:5514``) matches a glob goes to that
    # parser: the configured choice where formats are identical on the wire (Apache and
    # nginx combined logs). First match wins.
    routes: tuple[tuple[str, str], ...] = ()


class CutLine(bytes):
    """The first bytes of a line longer than the limit; ``original_length`` is the line's
    length without its line ending, ``consumed`` the bytes read for it (ending included)."""

    original_length: int
    consumed: int


def bounded_lines(stream: BinaryIO, limit: int = MAX_EVENT_BYTES) -> Iterator[bytes]:
    """The lines of ``stream`` (line endings kept), holding at most ``limit`` bytes of
    any line: a longer one comes back as a :class:`CutLine` (its head, no ending) and the
    rest of it is read and skipped in pieces (a 200 MB line, or ``/dev/zero``, then
    costs ``limit`` bytes of memory, not its size)."""
    # readline with a size, called from C by iter(): as fast as iterating the stream.
    for line in iter(partial(stream.readline, limit + 1), b""):
        if len(line) > limit and line[-1] != 0x0A:
            yield _cut_line(line, stream, limit)
        else:
            yield line


def _cut_whole(line: bytes, limit: int) -> bytes:
    """``line`` (no ``\n``) without its ``\r``, or its head as a :class:`CutLine` when
    it is over ``limit``."""
    body = line.rstrip(b"\r")
    if len(body) <= limit:
        return body
    cut = CutLine(utf8_cut(body, limit))
    cut.original_length = len(body)
    cut.consumed = len(line) + 1
    return cut


def _cut_line(head: bytes, stream: BinaryIO, limit: int) -> CutLine:
    """Skip the rest of an over-long line whose first bytes are ``head``."""
    consumed = len(head)
    ending = 0
    while True:
        rest = stream.readline(1 << 20)
        consumed += len(rest)
        if not rest:
            break
        if rest.endswith(b"\n"):
            ending = 2 if rest.endswith(b"\r\n") else 1
            break
    cut = CutLine(utf8_cut(head, limit))
    cut.original_length = consumed - ending
    cut.consumed = consumed
    return cut


class LineFramer:
    """One event per line (``\\n`` or ``\\r\\n``); blank lines are skipped, offsets are
    byte offsets of each line's first byte. A line over :data:`MAX_EVENT_BYTES` comes
    out cut (a :class:`CutLine`) and never sits whole in memory.

    The stream is read in chunks split by ``bytes.split`` (C speed; iterating a file
    would read a 200 MB line, or ``/dev/zero``, whole)."""

    chunk_bytes = 1 << 20

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0  # of the first byte of ``pending``
        pending = b""
        limit = MAX_EVENT_BYTES
        while True:
            chunk = stream.read(self.chunk_bytes)
            if not chunk:
                break
            lines = (pending + chunk if pending else chunk).split(b"\n")
            pending = lines.pop()
            if lines and max(map(len, lines)) > limit:  # rare: the careful loop
                for line in lines:
                    start = offset
                    offset += len(line) + 1
                    body = _cut_whole(line, limit)
                    if body.strip():
                        yield start, body
                continue
            for line in lines:
                start = offset
                offset += len(line) + 1
                body = line.rstrip(b"\r")
                # Not blank: isspace() answers without the copy strip() would build.
                if body and not body.isspace():
                    yield start, body
            if len(pending) > limit:
                cut = _cut_line(pending, stream, limit)
                yield offset, cut
                offset += cut.consumed
                pending = b""
        body = _cut_whole(pending, limit)
        if body.strip():
            yield offset, body


class MultilineFramer:
    """Events that span lines: a new event starts at each line matching ``start``;
    other lines continue the current event (as Filebeat's multiline ``negate: true,
    match: after``)."""

    def __init__(self, start: str) -> None:
        self._start = re.compile(start.encode())

    def starts_event(self, line: bytes) -> bool:
        """Whether ``line`` (without its newline) opens a new event."""
        return self._start.match(line) is not None

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0
        current: list[bytes] = []
        current_start = 0
        for line in bounded_lines(stream):
            start = offset
            offset += line.consumed if isinstance(line, CutLine) else len(line)
            body = line.rstrip(b"\r\n")
            if self._start.match(body) or not current:
                if current:
                    yield current_start, b"\n".join(current)
                if not body.strip():
                    continue
                current, current_start = [body], start
            else:
                current.append(body)
        if current:
            yield current_start, b"\n".join(current)


LINE_FRAMER = LineFramer()


STDIN_PATH = "-"  # the path that names standard input, as for most Unix tools
STDIN_SOURCE = "stdin"  # the ``log.file.path`` of events read from standard input


def input_source(path: str) -> str:
    """The ``source`` of events read from ``path``: its absolute path, or ``stdin``."""
    return STDIN_SOURCE if path == STDIN_PATH else os.path.abspath(path)


def is_read_once(path: str) -> bool:
    """Whether ``path`` can be read only once: standard input, a FIFO, a character device.

    Such an input must not be opened to sniff its first bytes and then opened again to be
    read: the bytes the sniffing read are gone (that lost the first 4 KiB of every FIFO).
    Callers skip sniffing for it and read it as lines."""
    if path == STDIN_PATH:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False  # the open that follows reports the problem with its path


def open_log(path: str) -> BinaryIO:
    """Open a log file for reading bytes; ``.gz`` files are decompressed on the fly and
    ``-`` is standard input (a duplicate of its descriptor: closing it leaves stdin open)."""
    if path == STDIN_PATH:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def frame_file(path: str, framer: Framer, received: datetime) -> Iterator[RawEvent]:
    """The raw events of one file as ``framer`` splits it (gzip read transparently).

    ``source`` is the absolute path and ``offset`` the byte offset of each event's first
    byte in the (decompressed) file, so re-reading gives the same event ids. An event
    longer than :data:`MAX_EVENT_BYTES` is cut there and carries ``extra.truncated_from``
    (its real length; the event then says ``log.flags: truncated``).
    A damaged gzip file (not gzip at all, truncated, corrupt) yields what decompressed,
    then raises :class:`InputDamaged` with the offset where the damage starts.
    """
    source = input_source(path)
    with open_log(path) as inner:
        guard = _ReadGuard(inner) if path.endswith(".gz") else None
        stream: Any = inner if guard is None else io.BufferedReader(guard, 1 << 16)
        from_bytes = RawEvent.from_bytes
        for offset, data in framer.frames(stream):
            if isinstance(data, CutLine):
                yield from_bytes(bytes(data), source, received, offset,
                                 extra={"truncated_from": data.original_length})
            elif len(data) > MAX_EVENT_BYTES:
                yield from_bytes(data[:MAX_EVENT_BYTES], source, received, offset,
                                 extra={"truncated_from": len(data)})
            else:  # the common case: no keywords, the shared empty ``extra``
                yield from_bytes(data, source, received, offset)
    if guard is not None and guard.problem is not None:
        raise InputDamaged(source, guard.problem, guard.delivered)


class _ReadGuard(io.RawIOBase):
    """Reads a decompressing stream until it fails, then reports end of file and keeps
    the reason: the framer still gets every byte that decompressed before the damage
    (gzip raises on the read that meets it, losing what a buffered read had gathered)."""

    def __init__(self, inner: BinaryIO) -> None:
        # read1: one read of the underlying stream, returning what it has (see readinto).
        self._read1: Callable[[int], bytes] = getattr(inner, "read1", inner.read)
        self.delivered = 0
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.problem is not None:
            return 0
        try:
            data = self._read1(len(buffer))
        except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
            self.problem = f"{type(exc).__name__}: {exc}"
            return 0
        buffer[:len(data)] = data
        self.delivered += len(data)
        return len(data)


class BaseParser(ABC):
    """Convenience base: holds options, frames by line, accepts everything."""

    id = "base"
    framer: Framer = LINE_FRAMER

    def __init__(self, options: ParserOptions | None = None) -> None:
        self.options = options or ParserOptions()

    def accepts(self, raw: RawEvent) -> bool:
        return True

    def new_event(self, raw: RawEvent) -> Event:
        return new_event(raw, self.id)

    @abstractmethod
    def parse(self, raw: RawEvent) -> Event:
        """Return the ECS event or raise ``ParseError``."""
