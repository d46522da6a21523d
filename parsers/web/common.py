"""The base of the web parsers: one compiled grok pattern per dataset and the match step.

``GrokWebParser.match`` runs the dataset's single anchored pattern (from ``web.grok``)
and raises ``ParseError`` when the line does not fit; subclasses turn the captures into
ECS in ``build``. Captures named ``_x`` are intermediate values that ``build`` consumes.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, ClassVar

from parsers.base import BaseParser, ParserOptions
from parsers.grok import GrokPattern, default_library
from parsers.web import ecs
from parsers.web.timestamps import TimestampError
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp

PATTERN_FILE = Path(__file__).resolve().parent / "web.grok"


@cache
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
        # Build the user-agent matchers now rather than on the first line (~0.3 s once).
        ecs.warm_up_user_agents()

    def match(self, text: str) -> dict[str, Any]:
        """The captures of the dataset's pattern, or ``ParseError``."""
        fields = self._pattern.match(text)
        if fields is None:
            raise ParseError(self.id, f"line does not match the {self.id} layouts")
        return fields

    def parse(self, raw: RawEvent) -> Event:
        # Trailing blanks/newlines (a CRLF file, a framer that joined an empty line) are
        # not part of any layout.
        text = raw.message.rstrip()
        fields = self.match(text)
        event = self.new_event(raw)
        try:
            self.build(event, fields)
        except TimestampError as exc:
            raise ParseError(self.id, f"bad timestamp: {exc}") from None
        return event

    @abstractmethod
    def build(self, event: Event, fields: dict[str, Any]) -> None:
        """Fill ``event`` from the pattern captures (``_x`` keys are popped first)."""

    @staticmethod
    def apply(event: Event, fields: dict[str, Any]) -> None:
        """Copy the final (non ``_``) captures into the event.

        Same result as ``parsers.grok.set_fields`` without the intermediate dict and with
        the dotted paths split once per process: this runs for every field of every line.
        """
        for path, value in fields.items():
            if path[0] == "_":
                continue
            parts = _path_parts(path)
            cur = event
            for part in parts[:-1]:
                nxt = cur.get(part)
                if not isinstance(nxt, dict):
                    nxt = cur[part] = {}
                cur = nxt
            cur[parts[-1]] = value

    @staticmethod
    def set_time(event: Event, when: datetime) -> None:
        event["@timestamp"] = iso_timestamp(when)


@cache
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


@lru_cache(maxsize=2048)
def iso_timestamp(when: datetime) -> str:
    """``format_timestamp`` cached: formatting costs more than matching a line."""
    return format_timestamp(when)


def set_timezone(event: Event, tz: tzinfo) -> None:
    """``event.timezone`` as ``+HH:MM`` for the zone that local stamps were read in."""
    text = _zone_text(tz)
    if text:
        event["event"]["timezone"] = text


@lru_cache(maxsize=64)
def _zone_text(tz: tzinfo) -> str | None:
    offset = tz.utcoffset(None)
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
