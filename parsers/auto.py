"""``auto``: pick the parser per line from cheap signals, then parse with that one only.

Signals, in order: a configured route (``ParserOptions.routes``: a glob over the
event's file path or receiver address naming its parser), a JSON object's keys
(``json_keys``), literal substrings such as ``CEF:0|`` or ``%ASA-`` (``route_signals``,
found in one Aho-Corasick pass over a JSON object or the first :data:`SIGNAL_WINDOW`
characters of a text line), the syslog program name (``syslog_programs``: RFC 3164's
tag or RFC 5424's APP-NAME alike), and last, for lines nothing else claimed, grammar
patterns (``route_patterns``: Cisco's ``%FAC-SEV-MNEMONIC:``, a Meraki record). Each
candidate's ``accepts(raw)`` has the last word. JSON objects nobody claims go to the
``json`` parser (ECS documents as they are, other objects under ``json.*``); other lines
nobody claims go to generic syslog (``system.syslog``) when they have a syslog header,
else they become a ``ParseError``. The event's ``event.dataset`` names the parser that
produced it.

A line its parser accepted but could not parse goes to the next candidate that accepts
it, else keeps its syslog header and message (``system.syslog``) with ``error.message``
naming the parser and the reason, ``error.type`` and a tag ``partial_parse``: a partial
parse, not a dead letter.

Ties, decided the same way every time:

* signals: the longest signal found wins. Formats that share their signals (Apache and
  nginx write the *same* "combined" access log: no line can tell them apart) are then
  ordered by the file path: a candidate whose product (``nginx`` in ``nginx.access``)
  appears in the event's source goes first; otherwise the dataset name decides, so an
  anonymous combined line is ``apache.access``. The choice is a convention, not a
  detection: the event is tagged ``auto_guessed_parser``; configure a route
  (``--route '*/nginx/*=nginx.access'``, or a receiver's address) or name the parser
  (``--parser nginx.access``) when it matters.
* a syslog program claimed by several parsers (``sshd`` by ``system.auth`` and
  ``juniper.junos``): parsers whose ``accepts`` can refuse a line are asked first, the
  ones that take everything (``system.auth``) last.

``AutoParser`` is also a file reader. The first bytes of a file are sniffed once:
``.evtx`` files (or the EVTX magic) and JSON exports of Windows events go to the
parser registered as ``winlog``. Other files are framed by line; a line starting
with whitespace continues the previous event only when the parser that event routes
to frames multi-line events itself (syslog's indented continuation lines), so unrelated
lines are never glued together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, BinaryIO, Final

import orjson
from ahocorasick_rs import AhoCorasick, Implementation, MatchKind

from parsers.base import (
    LINE_FRAMER,
    BaseParser,
    CutLine,
    MultilineFramer,
    ParserOptions,
    bounded_lines,
    frame_file,
    input_source,
    is_read_once,
)
from parsers.syslog import program_of, split_syslog
from soc_core.contracts import FileReader, Parser
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, get_field
from soc_core.registry import Registry, default_registry

FALLBACK: Final = "system.syslog"
# error.type and tag of an event the routed parser failed on, kept as its syslog header
# and message by the fallback.
PARTIAL: Final = "partial_parse"
# Tag of an event whose parser ``auto`` chose by convention among formats identical on
# the wire (see the module docstring): configure a route when it matters.
GUESSED: Final = "auto_guessed_parser"
JSON_FALLBACK: Final = "json"
EVTX_PARSER: Final = "winlog"
# ``RawEvent.extra`` key naming the parser whose file reader produced the event.
READ_BY: Final = "read_by"
EVTX_MAGIC: Final = b"ElfFile\x00"
SNIFF_BYTES: Final = 4096
# Keys of Windows event exports (evtx-JSON, NXLog, Winlogbeat, Get-WinEvent); a bare
# "Event" key is too common in other JSON logs to count.
_WINDOWS_JSON_KEYS: Final = (b'"EventRecordID"', b'"EventID"', b'"winlog"', b'"RecordId"')
_JSON_LEAD: Final = b"\xef\xbb\xbf \t\r\n"
_INDENT: Final = (32, 9)  # a line starting with a space or a tab may continue an event
_NOT_PARSED: Final = ParseError("auto", "not parsed")  # a placeholder every slot overwrites
# Text lines are searched for signals in their first characters only: vendors write their
# markers (CEF:0|, %ASA-, devid=, a PAN-OS log type) in the header, and the Aho-Corasick
# scan costs ~3 ns a character. JSON objects are searched whole (keys come in any order).
SIGNAL_WINDOW: Final = 320


class _Candidate:
    """A parser known by its class's routing hints, built on first use."""

    __slots__ = ("factory", "instance", "json_keys", "name", "patterns", "product", "programs", "signals", "strict")

    def __init__(self, name: str, factory: Any) -> None:
        self.name = name
        self.factory = factory
        self.instance: Parser | None = None
        self.programs: tuple[str, ...] = tuple(getattr(factory, "syslog_programs", ()) or ())
        self.signals: tuple[str, ...] = tuple(getattr(factory, "route_signals", ()) or ())
        self.json_keys: tuple[str, ...] = tuple(getattr(factory, "json_keys", ()) or ())
        self.patterns: tuple[str, ...] = tuple(getattr(factory, "route_patterns", ()) or ())
        # The product part of the dataset ("nginx" of "nginx.access"): a file-path hint.
        self.product = name.split(".", 1)[0].lower()
        # Whether accepts() can refuse a line (BaseParser's takes everything).
        self.strict = getattr(factory, "accepts", None) is not BaseParser.accepts


class AutoParser(BaseParser):
    """Routes each line to the parser its signals point at (see the module docstring)."""

    id = "auto"
    # Receivers that frame a stream themselves (tailing) get plain lines; read_file
    # below adds continuation lines where the routed parser wants them.
    framer = LINE_FRAMER

    def __init__(self, options: ParserOptions | None = None, registry: Registry | None = None) -> None:
        super().__init__(options)
        self._registry = registry or default_registry()
        self._candidates: dict[str, _Candidate] = {}
        by_program: dict[str, list[_Candidate]] = {}
        json_candidates: list[_Candidate] = []
        patterns: list[tuple[str, _Candidate]] = []
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
            patterns.extend((pattern, candidate) for pattern in candidate.patterns)
        # One scan finds every signal, overlapping ones included. A DFA: routing scans every
        # line, and the DFA walks 220 characters in a third of the time an NFA (or
        # pyahocorasick's trie, with its 25 first characters to try at every position) does.
        signals = list(signal_owners)
        self._signal_values = [(len(signal), tuple(signal_owners[signal])) for signal in signals]
        self._automaton = AhoCorasick(signals, matchkind=MatchKind.Standard,
                                      implementation=Implementation.DFA) if signals else None
        # Parsers that can refuse a line are asked before the ones that take everything.
        self._by_program: dict[str, tuple[_Candidate, ...]] = {
            program: tuple(sorted(owners, key=lambda c: (not c.strict, c.name)))
            for program, owners in by_program.items()
        }
        # More specific JSON shapes (more required keys) are tried first.
        self._json = sorted(json_candidates, key=lambda c: -len(c.json_keys))
        self._fallback = self._candidates.get(FALLBACK)
        for _, name in self.options.routes:
            if name not in self._candidates:
                raise ParseError(self.id, f"route to unknown parser {name!r}")
        self._configured: dict[tuple[str, str | None], _Candidate | None] = {}
        # Parsers that share a literal signal with another: choosing between them (when the
        # source names neither product and no route is configured) is a guess, said in tags.
        self._tied = frozenset(c.name for owners in signal_owners.values() if len(owners) > 1 for c in owners)
        # Grammar-level patterns (Cisco's "%FAC-SEV-MNEMONIC:" anywhere in the header) for
        # lines no literal signal or program claimed: the longer (more specific) first.
        self._patterns = [(re.compile(pattern), candidate)
                          for pattern, candidate in sorted(patterns, key=lambda pc: (-len(pc[0]), pc[1].name))]
        self._json_fallback = self._candidates.get(JSON_FALLBACK)

    # --- routing -----------------------------------------------------------------------

    def _parser(self, candidate: _Candidate) -> Parser:
        if candidate.instance is None:
            candidate.instance = candidate.factory(self.options)
        return candidate.instance

    def _signal_candidates(self, text: str, source: str) -> Sequence[_Candidate]:
        """Owners of the literal signals found in ``text``: longest signal first, then
        the one whose product the source path names, then by name (deterministic)."""
        if self._automaton is None:
            return ()
        if text[:1] != "{":
            text = text[:SIGNAL_WINDOW]
        values = self._signal_values
        hits = [values[index] for index, _, _ in self._automaton.find_matches_as_indexes(text, overlapping=True)]
        if not hits:
            return ()
        if len(hits) == 1 and len(hits[0][1]) == 1:
            return hits[0][1]  # most lines: one signal, one owner, nothing to order
        found: dict[str, tuple[int, _Candidate]] = {}
        for length, owners in hits:
            for owner in owners:
                known = found.get(owner.name)
                if known is None or known[0] < length:
                    found[owner.name] = (length, owner)
        if len(found) < 2:
            return [c for _, c in found.values()]
        where = source.lower()
        return [c for _, c in sorted(found.values(), key=lambda lc: (-lc[0], lc[1].product not in where, lc[1].name))]

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

    def _ordered(self, raw: RawEvent) -> Iterator[_Candidate]:
        """Candidates in routing order, computed lazily: the syslog program is only
        looked at when no JSON shape or signal produced a taker."""
        text = raw.message
        if text[:1] == "{":
            yield from self._json_candidates(text)
        if self._automaton is not None:
            yield from self._signal_candidates(text, raw.source)
        if self._by_program:
            program = program_of(text[:512])
            if program:
                yield from self._by_program.get(program.rsplit("/", 1)[-1], ())
        head = text[:SIGNAL_WINDOW]
        for pattern, candidate in self._patterns:
            if pattern.search(head):
                yield candidate

    def candidates(self, raw: RawEvent) -> list[str]:
        """The parser names this line's signals point at, best first (for tests and --explain)."""
        return list(dict.fromkeys(c.name for c in self._ordered(raw)))

    def route(self, raw: RawEvent) -> Parser | None:
        """The parser that accepts ``raw`` (``None``: only the syslog fallback is left).

        The same order as :meth:`candidates`, written out flat: this runs once per line.
        """
        if self.options.routes:
            configured = self._configured_route(raw)
            if configured is not None:
                return self._parser(configured)
        extra = raw.extra
        read_by = extra.get(READ_BY) if extra else None
        if read_by is not None or raw.source[-5:].lower() == ".evtx":
            # Records a parser's own file reader produced go back to it (if it takes them:
            # a record it refuses is routed like any other line).
            owner = self._candidates.get(read_by or EVTX_PARSER)
            if owner is not None:
                parser = self._parser(owner)
                if parser.accepts(raw):
                    return parser
        text = raw.message
        tried: list[str] = []  # a handful at most: a list beats a set here
        if text[:1] == "{":
            for candidate in self._json_candidates(text):
                tried.append(candidate.name)
                parser = candidate.instance or self._parser(candidate)
                if parser.accepts(raw):
                    return parser
        if self._automaton is not None:
            for candidate in self._signal_candidates(text, raw.source):
                if candidate.name in tried:
                    continue
                tried.append(candidate.name)
                parser = candidate.instance or self._parser(candidate)
                if parser.accepts(raw):
                    return parser
        if self._by_program:
            program = program_of(text[:512])
            if program:
                if "/" in program:
                    program = program.rsplit("/", 1)[-1]
                for candidate in self._by_program.get(program, ()):
                    if candidate.name in tried:
                        continue
                    tried.append(candidate.name)
                    parser = candidate.instance or self._parser(candidate)
                    if parser.accepts(raw):
                        return parser
        if self._patterns:
            head = text[:SIGNAL_WINDOW]
            for pattern, candidate in self._patterns:
                if candidate.name not in tried and pattern.search(head):
                    parser = candidate.instance or self._parser(candidate)
                    if parser.accepts(raw):
                        return parser
        return None

    def _configured_route(self, raw: RawEvent) -> _Candidate | None:
        """The parser configured for this event's source or receiver (cached per pair)."""
        key = (raw.source, raw.receiver)
        if key in self._configured:
            return self._configured[key]
        found = None
        for pattern, name in self.options.routes:
            if fnmatchcase(raw.source, pattern) or (raw.receiver is not None and fnmatchcase(raw.receiver, pattern)):
                found = self._candidates[name]
                break
        if len(self._configured) < 4096:
            self._configured[key] = found
        return found

    def _guessed(self, raw: RawEvent, parser: Parser) -> bool:
        """Whether choosing ``parser`` for ``raw`` was a convention, not a detection: the
        parser shares its signals with another, and neither a configured route nor the
        source's name decided."""
        name = getattr(parser, "id", "")
        if name not in self._tied:
            return False
        if self.options.routes and self._configured_route(raw) is not None:
            return False
        return name.split(".", 1)[0] not in raw.source.lower()

    def accepts(self, raw: RawEvent) -> bool:
        return True

    def parse(self, raw: RawEvent) -> Event:
        return self._parse_routed(raw, self.route(raw))

    def _parse_routed(self, raw: RawEvent, parser: Parser | None) -> Event:
        if parser is not None:
            try:
                event = parser.parse(raw)
            except ParseError as exc:
                return self._second_chance(raw, parser, exc)
            if self._tied and self._guessed(raw, parser):
                event.setdefault("tags", []).append(GUESSED)
            return event
        if self._json_fallback is not None and raw.message[:1] == "{":
            return self._parser(self._json_fallback).parse(raw)
        if self._fallback is not None:
            try:
                return self._parser(self._fallback).parse(raw)
            except ParseError:
                pass  # no syslog header either: say so as auto, below
        raise ParseError(self.id, "no parser recognises this line (no JSON keys, signal, syslog program or header)")

    def _second_chance(self, raw: RawEvent, failed: Parser, error: ParseError) -> Event:
        """A line its routed parser accepted but could not parse: the next candidate that
        accepts it, else the syslog header and message (``error.*`` says which parser
        failed and why: a partial parse, not a dead letter); else the first error."""
        failed_id = getattr(failed, "id", None)
        for candidate in dict.fromkeys(self._ordered(raw)):
            if candidate.name == failed_id or candidate.name == FALLBACK:
                continue
            parser = self._parser(candidate)
            if parser.accepts(raw):
                try:
                    return parser.parse(raw)
                except ParseError:
                    continue
        if self._fallback is not None and failed_id != FALLBACK:
            try:
                event = self._parser(self._fallback).parse(raw)
            except ParseError:
                raise error from None
            event["error"] = {"message": str(error), "type": PARTIAL}
            event.setdefault("tags", []).append(PARTIAL)
            return event
        raise error

    def parse_batch(self, raws: Sequence[RawEvent], finish: Callable[[Event], Any] | None = None) -> list[Any]:
        """Route every event, then parse them grouped by parser, ``finish`` applied to each
        right after it (see :class:`soc_core.contracts.BatchParser`); outcomes come back
        in input order."""
        groups: dict[int, tuple[Parser | None, list[int]]] = {}
        outcomes: list[Any] = [_NOT_PARSED] * len(raws)
        for index, raw in enumerate(raws):
            try:
                parser = self.route(raw)
            except Exception as exc:  # a bug in some accepts(): this line only
                outcomes[index] = exc
                continue
            group = groups.get(id(parser))
            if group is None:
                groups[id(parser)] = (parser, [index])
            else:
                group[1].append(index)
        for parser, indices in groups.values():
            for index in indices:
                try:
                    event = self._parse_routed(raws[index], parser)
                    outcomes[index] = event if finish is None else finish(event)
                except Exception as exc:  # handed back: the caller logs parser bugs
                    outcomes[index] = exc
        return outcomes

    # --- files -------------------------------------------------------------------------

    def read_file(self, path: str, received: datetime) -> Iterator[RawEvent]:
        """Windows event files through the ``winlog`` reader; any other file framed by
        line, with continuation lines only where the routed parser wants them."""
        if self._is_windows_file(path):
            candidate = self._candidates.get(EVTX_PARSER)
            if candidate is None:
                raise ParseError(self.id, f"no '{EVTX_PARSER}' parser registered to read {path}")
            reader = self._parser(candidate)
            if not isinstance(reader, FileReader):
                raise ParseError(self.id, f"parser '{EVTX_PARSER}' cannot read files")
            for raw in reader.read_file(path, received):
                yield replace(raw, extra={**raw.extra, READ_BY: EVTX_PARSER})
            return
        yield from frame_file(path, _ContinuationFramer(self, input_source(path), received), received)

    @staticmethod
    def _is_windows_file(path: str) -> bool:
        """EVTX by name or magic, or JSON whose first bytes carry Windows event keys."""
        if path.lower().endswith(".evtx"):
            return True
        if path.endswith(".gz") or is_read_once(path):
            # The winlog reader opens plain files only; and a pipe's first bytes, once
            # read to sniff them, would be lost to the line reader that follows.
            return False
        try:
            with open(path, "rb") as stream:
                head = stream.read(SNIFF_BYTES)
        except OSError:
            return False  # let the line reader report it, as for any other file
        if head.startswith(EVTX_MAGIC):
            return True
        head = head.lstrip(_JSON_LEAD)
        return head[:1] in (b"{", b"[") and any(key in head for key in _WINDOWS_JSON_KEYS)

    def continuation_framer(self, first_line: bytes, source: str, received: datetime) -> MultilineFramer | None:
        """The multi-line framer of the parser ``first_line`` routes to, if it has one."""
        raw = RawEvent.from_bytes(first_line, source, received, 0)
        parser = self.route(raw)
        if parser is None:
            if self._fallback is None:
                return None
            # The syslog fallback only takes lines with a syslog header.
            if split_syslog(raw.message, self.options.tz, self.options.clock.now()) is None:
                return None
            parser = self._parser(self._fallback)
        framer = getattr(parser, "framer", None)
        return framer if isinstance(framer, MultilineFramer) else None


class _ContinuationFramer:
    """Line framing where an indented line joins the previous event only when that
    event's parser frames multi-line events (and its rule says the line continues)."""

    def __init__(self, auto: AutoParser, source: str, received: datetime) -> None:
        self._auto = auto
        self._source = source
        self._received = received

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0
        current: list[bytes] = []
        current_start = 0
        # The current event's multi-line framer: decided lazily (routing costs), on the
        # first indented line after it; ``False`` until asked.
        framer: MultilineFramer | bool | None = False
        for line in bounded_lines(stream):
            start = offset
            if isinstance(line, CutLine):  # over MAX_EVENT_BYTES: an event of its own, cut
                offset += line.consumed
                if current:
                    yield current_start, b"\n".join(current)
                current = []
                yield start, line
                continue
            offset += len(line)
            body = line.rstrip(b"\r\n")
            if not body.strip():
                continue
            if current and body[0] in _INDENT:
                if framer is False:
                    framer = self._auto.continuation_framer(current[0], self._source, self._received)
                if isinstance(framer, MultilineFramer) and not framer.starts_event(body):
                    current.append(body)
                    continue
            if current:
                yield current_start, b"\n".join(current)
            current, current_start, framer = [body], start, False
        if current:
            yield current_start, b"\n".join(current)
