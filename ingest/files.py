"""Reading log files into raw events: framing by the parser's rules, gzip transparently.

Offsets are byte offsets of each event's first byte in the (decompressed) file, so
``log.offset`` points back at the input and re-reading a file gives the same event ids.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from parsers.base import MAX_EVENT_BYTES
from soc_core.contracts import FileReader, Parser
from soc_core.event import RawEvent


def open_log(path: str) -> BinaryIO:
    """Open a log file for reading bytes; ``.gz`` files are decompressed on the fly."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_file_events(path: str, parser: Parser, received: datetime) -> Iterator[RawEvent]:
    """Yield the raw events of one file, framed as ``parser`` wants."""
    source = os.path.abspath(path)
    if isinstance(parser, FileReader):
        yield from parser.read_file(source, received)
        return
    with open_log(path) as stream:
        for offset, data in parser.framer.frames(stream):
            extra = {}
            if len(data) > MAX_EVENT_BYTES:
                extra = {"truncated_from": len(data)}
                data = data[:MAX_EVENT_BYTES]
            yield RawEvent.from_bytes(data, source, received, offset, extra=extra)
