"""Reading log files into raw events, framed as the parser wants (gzip transparently).

Offsets are byte offsets of each event's first byte in the (decompressed) file, so
``log.offset`` points back at the input and re-reading a file gives the same event ids.
A parser that reads whole files itself (``.evtx``: a :class:`FileReader`) does so here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from parsers.base import frame_file
from soc_core.contracts import FileReader, Parser
from soc_core.event import RawEvent


def read_file_events(path: str, parser: Parser, received: datetime) -> Iterator[RawEvent]:
    """Yield the raw events of one file, framed as ``parser`` wants."""
    if isinstance(parser, FileReader):
        yield from parser.read_file(os.path.abspath(path), received)
        return
    yield from frame_file(path, parser.framer, received)
