"""Grok for our parsers: Logstash-style named patterns compiled to one anchored regex.

Usage::

    from parsers.grok import default_library
    lib = default_library()                     # parsers/patterns/*.grok, loaded once
    pat = lib.compile("%{IPORHOST:source.address} %{INT:source.port:int} %{GREEDYDATA:message}")
    fields = pat.match(text)                    # {"source.address": ..., "source.port": 80, ...} or None
    pat.fill(event, text)                       # the same captures written into a nested event
    lib.load_file(path)                         # a parser's own pattern file

A hot parser can also read ``pat.slots`` (group index, path, cast) once and assign
from ``pat.regex.fullmatch(text).groups()`` itself, as ``cisco.asa`` does.

Pattern files are parsed with pyparsing once, at load time; matching runs one
``re.fullmatch`` per line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from parsers.grok.library import CASTS, CaptureSlot, Definition, GrokError, GrokLibrary, GrokPattern, GrokRouter
from soc_core.event import Event

__all__ = [
    "CASTS",
    "PATTERNS_DIR",
    "CaptureSlot",
    "Definition",
    "GrokError",
    "GrokLibrary",
    "GrokPattern",
    "GrokRouter",
    "default_library",
    "set_fields",
]

PATTERNS_DIR = Path(__file__).resolve().parent.parent / "patterns"


@lru_cache(maxsize=1)
def default_library() -> GrokLibrary:
    """The standard library (every ``parsers/patterns/*.grok``), built once per process.

    Parsers add their own files with ``load_file``; a name defined differently by two
    files is an error, so parsers cannot silently change each other's patterns.
    """
    library = GrokLibrary()
    library.load_files(sorted(PATTERNS_DIR.glob("*.grok")))
    return library


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def set_fields(event: Event, fields: dict[str, Any]) -> None:
    """Copy ``{dotted.path: value}`` match results into a nested event.

    Same result as :func:`soc_core.event.set_field` per key; the split paths are cached
    because the same few dozen paths come back on every line.
    """
    for path, value in fields.items():
        parts = _parts(path)
        cur = event
        for part in parts[:-1]:
            nxt = cur.get(part)
            if not isinstance(nxt, dict):
                nxt = cur[part] = {}
            cur = nxt
        cur[parts[-1]] = value
