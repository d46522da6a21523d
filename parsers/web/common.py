"""The base of the web parsers: one compiled grok pattern per dataset and the match step.

``GrokWebParser.parse`` runs the dataset's single anchored pattern (from ``web.grok``)
and raises ``ParseError`` when the line does not fit; subclasses turn the match into
ECS. Captures named ``_x`` are intermediate values the parser converts.

The hot path reads ``Match.groups()`` by position: :func:`layout_reader` turns the
capture paths of one layout (alternative) of a pattern into an ``itemgetter``, and each
parser writes its nested ECS objects directly. That is the same result as the grok
captures dict plus dotted-path setters (still available as :func:`captures` and
``build``), at a fraction of the cost: building and taking apart that dict cost more
than the regex match. Stamp texts go to ``@timestamp`` text through one bounded cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar, cast

from parsers.base import BaseParser, ParserOptions
from parsers.grok import GrokPattern, default_library
from parsers.web import ecs
from parsers.web.timestamps import TimestampError, ctime_date, http_date, slash_date
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp, new_event

PATTERN_FILE = Path(__file__).resolve().parent / "web.grok"


@lru_cache(maxsize=64)  # one entry per web.grok pattern
def web_pattern(name: str) -> GrokPattern:
    """The compiled ``%{name}`` pattern of ``web.grok`` (loaded into the shared library once)."""
    library = default_library()
    library.load_file(PATTERN_FILE)
    return library.compile(f"%{{{name}}}")


class GrokWebParser(BaseParser):
    """A line parser driven by one named pattern of ``web.grok``."""

    pattern_name: ClassVar[str] = ""

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._pattern = web_pattern(self.pattern_name)
        self._fullmatch = self._pattern.regex.fullmatch
        # event.timezone text of the configured zone, worked out once rather than per line.
        self._zone = _zone_text(self.options.tz)
        # Build the user-agent matchers now rather than on the first line (~0.3 s once).
        ecs.warm_up_user_agents()

    def new_event(self, raw: RawEvent) -> Event:
        # Every web layout sets @timestamp (or the build does it from the receipt time).
        return new_event(raw, self.id, stamped=False)

    def parse(self, raw: RawEvent) -> Event:
        # Trailing blanks/newlines (a CRLF file, a framer that joined an empty line) are
        # not part of any layout.
        m = self._fullmatch(raw.message.rstrip())
        if m is None:
            raise ParseError(self.id, f"line does not match the {self.id} layouts")
        event = self.new_event(raw)
        try:
            self.build_groups(event, m.groups())
        except TimestampError as exc:
            raise ParseError(self.id, f"bad timestamp: {exc}") from None
        if event["@timestamp"] is None:  # a layout without a date: the time of reception
            event["@timestamp"] = format_timestamp(raw.received)
        return event

    def build_groups(self, event: Event, groups: Groups) -> None:
        """Fill ``event`` from the regex groups; by default via the grok captures dict.

        The busiest parsers override this to read the groups by index (see
        :func:`layout_reader`), which spares building and then taking apart a dict.
        """
        fields = captures(self._pattern, groups)
        if fields is None:
            raise ParseError(self.id, f"line does not match the {self.id} layouts")
        self.build(event, fields)

    def build(self, event: Event, fields: dict[str, Any]) -> None:
        """Fill ``event`` from the pattern captures (``_x`` keys are popped first).

        A parser overrides this or :meth:`build_groups` (which calls it by default).
        """
        raise NotImplementedError(f"{type(self).__name__} overrides neither build nor build_groups")

    @staticmethod
    def set_time(event: Event, when: datetime) -> None:
        event["@timestamp"] = iso_timestamp(when)


Groups = tuple[str | None, ...]  # what ``re.Match.groups()`` gives for our patterns


@lru_cache(maxsize=64)  # one entry per web.grok pattern
def capture_groups(pattern: GrokPattern) -> dict[str, tuple[int, ...]]:
    """The ``Match.groups()`` positions of each capture path of ``pattern``, in order."""
    # GrokPattern keeps its (group, path, cast) slots private; reading them here, once per
    # pattern, is what lets the hot path use plain tuple indexing.
    out: dict[str, list[int]] = {}
    for index, path, _ in pattern._slots:
        out.setdefault(path, []).append(index)
    return {path: tuple(indices) for path, indices in out.items()}


def layout_reader(
    pattern: GrokPattern, paths: tuple[str, ...], start: int = 0, end: int | None = None,
) -> Callable[[Groups], Groups]:
    """A getter of the groups capturing ``paths`` in one layout (alternative) of ``pattern``.

    Each path is read from its first group in positions ``[start, end)``: the layouts of
    a ``*_LINE`` pattern repeat the same paths, one alternative after the other. A path
    missing there is a ``ValueError`` at start-up, so an edit of ``web.grok`` that moves
    captures fails loudly instead of reading the wrong groups. Values are the captured
    texts; converting them (``int`` for INT captures, which always convert) is the caller's.
    """
    if len(paths) < 2:
        raise ValueError("a layout reader needs at least two paths (itemgetter gives a tuple)")
    groups = capture_groups(pattern)
    stop = pattern.regex.groups if end is None else end
    indices: list[int] = []
    for path in paths:
        found = [i for i in groups.get(path, ()) if start <= i < stop]
        if not found:
            raise ValueError(f"{pattern.text}: no capture of {path} in groups {start}..{stop - 1}")
        indices.append(found[0])
    return cast("Callable[[Groups], Groups]", itemgetter(*indices))


def captures(pattern: GrokPattern, groups: Groups) -> dict[str, Any] | None:
    """``pattern.match`` from groups already matched: non-empty captures, first one wins,
    cast to their declared type (``None`` when a cast fails, as ``GrokPattern.match``)."""
    out: dict[str, Any] = {}
    for index, path, convert in pattern._slots:
        value = groups[index]
        if not value or path in out:
            continue
        if convert is not None:
            try:
                out[path] = convert(value)
            except ValueError:
                return None
        else:
            out[path] = value
    return out


@lru_cache(maxsize=2048)
def iso_timestamp(when: datetime) -> str:
    """``format_timestamp`` cached: formatting costs more than matching a line."""
    return format_timestamp(when)


# Stamp text straight to @timestamp text: one cache look-up per line instead of two (the
# datetime step hashes a datetime). Lines share their second, so these hit almost always.
@lru_cache(maxsize=2048)
def http_stamp(text: str, tz: tzinfo) -> str:
    """``@timestamp`` of an Apache/nginx ``%t`` stamp (see ``timestamps.http_date``)."""
    return format_timestamp(http_date(text, tz))


@lru_cache(maxsize=2048)
def ctime_stamp(text: str, tz: tzinfo) -> str:
    """``@timestamp`` of an Apache error-log stamp (see ``timestamps.ctime_date``)."""
    return format_timestamp(ctime_date(text, tz))


@lru_cache(maxsize=2048)
def slash_stamp(text: str, tz: tzinfo) -> str:
    """``@timestamp`` of an nginx error or IIS stamp (see ``timestamps.slash_date``)."""
    return format_timestamp(slash_date(text, tz))


@lru_cache(maxsize=64)
def _zone_text(tz: tzinfo) -> str | None:
    """``event.timezone`` as ``+HH:MM`` for the zone local stamps are read in."""
    offset = tz.utcoffset(None)
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
