"""What every parser shares: options, file framing, and a small base class.

A parser is any object satisfying :class:`soc_core.contracts.Parser`; this base class
only saves repetition. Parsers are named by the ``event.dataset`` they produce.
"""

from __future__ import annotations

import gzip
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, BinaryIO

from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Framer
from soc_core.event import Event, RawEvent, new_event

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


class LineFramer:
    """One event per line (``\\n`` or ``\\r\\n``); blank lines are skipped, offsets are
    byte offsets of each line's first byte."""

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0
        for line in stream:
            start = offset
            offset += len(line)
            body = line.rstrip(b"\r\n")
            if body.strip():
                yield start, body


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
        for line in stream:
            start = offset
            offset += len(line)
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


def open_log(path: str) -> BinaryIO:
    """Open a log file for reading bytes; ``.gz`` files are decompressed on the fly."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def frame_file(path: str, framer: Framer, received: datetime) -> Iterator[RawEvent]:
    """The raw events of one file as ``framer`` splits it (gzip read transparently).

    ``source`` is the absolute path and ``offset`` the byte offset of each event's first
    byte in the (decompressed) file, so re-reading gives the same event ids. An event
    longer than :data:`MAX_EVENT_BYTES` is cut there and carries ``extra.truncated_from``.
    """
    source = os.path.abspath(path)
    with open_log(path) as stream:
        for offset, data in framer.frames(stream):
            extra: dict[str, Any] = {}
            if len(data) > MAX_EVENT_BYTES:
                extra = {"truncated_from": len(data)}
                data = data[:MAX_EVENT_BYTES]
            yield RawEvent.from_bytes(data, source, received, offset, extra=extra)


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
