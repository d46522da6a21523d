"""Reading log files into raw events, framed as the parser wants (gzip transparently).

Offsets are byte offsets of each event's first byte in the (decompressed) file, so
``log.offset`` points back at the input and re-reading a file gives the same event ids.
A parser that reads whole files itself (``.evtx``: a :class:`FileReader`) does so here.

A damaged file is read as far as it can be: a truncated or corrupt gzip up to the damage,
an EVTX file without its unreadable chunks. The damage (an :class:`InputDamaged` naming
the file and, when known, the offset) is raised once everything readable has been
yielded, or handed to ``on_damage`` so a command can report it and go on with the next
file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from parsers.base import STDIN_PATH, frame_file, input_source
from soc_core.contracts import FileReader, Parser
from soc_core.errors import InputDamaged, ParseError
from soc_core.event import RawEvent


def read_file_events(path: str, parser: Parser, received: datetime,
                     on_damage: Callable[[InputDamaged], None] | None = None) -> Iterator[RawEvent]:
    """Yield the raw events of one file, framed as ``parser`` wants (see the module doc)."""
    try:
        if isinstance(parser, FileReader):
            yield from parser.read_file(path if path == STDIN_PATH else os.path.abspath(path), received)
        else:
            yield from frame_file(path, parser.framer, received)
    except InputDamaged as exc:
        if on_damage is None:
            raise
        on_damage(exc)
    except ParseError as exc:
        # A whole-file reader that cannot go on (an EVTX header, a JSON export broken
        # at some byte): what it yielded before stays; the file is reported as damaged.
        if on_damage is None:
            raise
        on_damage(InputDamaged(input_source(path), exc.reason))
