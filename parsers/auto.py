"""``auto``: pick the parser per line from cheap signals, then parse with that one only.

Signals, in order: a JSON object's keys (``json_keys``), literal substrings such as
``CEF:0|`` or ``%ASA-`` (``route_signals``, found in one Aho-Corasick pass), and the
syslog program name (``syslog_programs``). Each candidate's ``accepts(raw)`` has the
last word. Lines nobody claims go to generic syslog (``system.syslog``) when they have
a syslog header, else they become a ``ParseError``. The event's ``event.dataset`` names
the parser that produced it.

``AutoParser`` is also a file reader: ``.evtx`` files go to the registered ``winlog``
parser, other files are framed by line (lines starting with whitespace continue the
previous event, as in multi-line syslog).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO

import ahocorasick
import orjson

from parsers.base import MAX_EVENT_BYTES, BaseParser, MultilineFramer, ParserOptions
from parsers.syslog import program_of
from soc_core.contracts import FileReader, Parser
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, get_field
from soc_core.registry import Registry, default_registry

FALLBACK = "system.syslog"
EVTX_PARSER = "winlog"
_FRAMER = MultilineFramer(r"\S")


class _Candidate:
    """A parser known by its class's routing hints, built on first use."""

    __slots__ = ("factory", "instance", "json_keys", "name", "programs", "signals")

    def __init__(self, name: str, factory: Any) -> None:
        self.name = name
        self.factory = factory
        self.instance: Parser | None = None
        self.programs: tuple[str, ...] = tuple(getattr(factory, "syslog_programs", ()) or ())
        self.signals: tuple[str, ...] = tuple(getattr(factory, "route_signals", ()) or ())
        self.json_keys: tuple[str, ...] = tuple(getattr(factory, "json_keys", ()) or ())


class AutoParser(BaseParser):
    """Routes each line to the parser its signals point at (see the module docstring)."""

    id = "auto"
    framer = _FRAMER

    def __init__(self, options: ParserOptions | None = None, registry: Registry | None = None) -> None:
        super().__init__(options)
        self._registry = registry or default_registry()
        self._candidates: dict[str, _Candidate] = {}
        by_program: dict[str, list[_Candidate]] = {}
        json_candidates: list[_Candidate] = []
        self._automaton: Any = ahocorasick.Automaton()
        signal_owners: dict[str, list[_Candidate]] = {}
        for name in self._registry.names("parser"):
            if name == self.id:
                continue
            candidate = _Candidate(name, self._registry.get("parser", name))
            self._candidates[name] = candidate
            for program in candidate.programs:
                by_program.setdefault(program, []).append(candidate)
            for signal in candidate.signals:
                signal_owners.setdefault(signal, []).append(candidate)
            if candidate.json_keys:
                json_candidates.append(candidate)
        for signal, owners in signal_owners.items():
            self._automaton.add_word(signal, (len(signal), owners))
        self._has_signals = bool(signal_owners)
        if self._has_signals:
            self._automaton.make_automaton()
        self._by_program = by_program
        # More specific JSON shapes (more required keys) are tried first.
        self._json = sorted(json_candidates, key=lambda c: -len(c.json_keys))

    # --- routing -----------------------------------------------------------------------

    def _parser(self, candidate: _Candidate) -> Parser:
        if candidate.instance is None:
            candidate.instance = candidate.factory(self.options)
        return candidate.instance

    def _signal_candidates(self, text: str) -> list[_Candidate]:
        """Owners of the literal signals found in ``text``, longest (most specific) first."""
        found: dict[str, tuple[int, _Candidate]] = {}
        for _, (length, owners) in self._automaton.iter(text):
            for owner in owners:
                known = found.get(owner.name)
                if known is None or known[0] < length:
                    found[owner.name] = (length, owner)
        if len(found) == 1:
            return [next(iter(found.values()))[1]]
        # The name breaks ties, so that routing is deterministic.
        return [c for _, c in sorted(found.values(), key=lambda lc: (-lc[0], lc[1].name))]

    def _ordered(self, text: str) -> Iterator[_Candidate]:
        """Candidates in routing order, computed lazily: the syslog program is only
        looked at when no JSON shape or signal produced a taker."""
        if text[:1] == "{":
            yield from self._json_candidates(text)
        if self._has_signals:
            yield from self._signal_candidates(text)
        if self._by_program:
            program = program_of(text[:512])
            if program:
                yield from self._by_program.get(program.rsplit("/", 1)[-1], ())

    def candidates(self, raw: RawEvent) -> list[str]:
        """The parser names this line's signals point at, best first (for tests and --explain)."""
        return list(dict.fromkeys(c.name for c in self._ordered(raw.message)))

    def _json_candidates(self, text: str) -> list[_Candidate]:
        if not self._json:
            return []
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(doc, Mapping):
            return []
        return [c for c in self._json if all(get_field(doc, key) is not None for key in c.json_keys)]

    def accepts(self, raw: RawEvent) -> bool:
        return True

    def parse(self, raw: RawEvent) -> Event:
        if raw.source.lower().endswith(".evtx") and EVTX_PARSER in self._candidates:
            # Records read by the winlog reader above go back to it.
            return self._parser(self._candidates[EVTX_PARSER]).parse(raw)
        tried: set[str] = set()
        for candidate in self._ordered(raw.message):
            if candidate.name in tried:
                continue
            tried.add(candidate.name)
            parser = self._parser(candidate)
            if parser.accepts(raw):
                return parser.parse(raw)
        fallback = self._candidates.get(FALLBACK)
        if fallback is not None:
            parser = self._parser(fallback)
            try:
                return parser.parse(raw)
            except ParseError:
                pass  # no syslog header either: say so as auto, below
        raise ParseError(self.id, "no parser recognises this line (no JSON keys, signal, syslog program or header)")

    # --- files -------------------------------------------------------------------------

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        """``.evtx`` through the ``winlog`` parser; any other file framed by line."""
        if path.lower().endswith(".evtx"):
            candidate = self._candidates.get(EVTX_PARSER)
            if candidate is None:
                raise ParseError(self.id, f"no '{EVTX_PARSER}' parser registered to read {path}")
            reader = self._parser(candidate)
            if not isinstance(reader, FileReader):
                raise ParseError(self.id, f"parser '{EVTX_PARSER}' cannot read files")
            yield from reader.read_file(path, received)
            return
        source = os.path.abspath(path)
        with _open(path) as stream:
            for offset, data in self.framer.frames(stream):
                extra: dict[str, Any] = {}
                if len(data) > MAX_EVENT_BYTES:
                    extra = {"truncated_from": len(data)}
                    data = data[:MAX_EVENT_BYTES]
                yield RawEvent.from_bytes(data, source, received, offset, extra=extra)


def _open(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")
