"""Helpers for the firewall parser tests: build parsers and raw events the way the
pipeline does (frozen clock, explicit timezone) and read event fields by dotted path."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from parsers.base import ParserOptions
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.contracts import Parser
from soc_core.event import Event, RawEvent, get_field

CLOCK_AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def parser_for(name: str, tz: tzinfo = UTC) -> Parser:
    """A registered parser, as ``soc parse --parser NAME`` builds it."""
    return make_parser(name, tz, FrozenClock(CLOCK_AT))


def raw(line: str, offset: int = 0) -> RawEvent:
    """A raw event as read from a file at ``offset``."""
    return RawEvent.from_bytes(line.encode(), "/tmp/sample.log", CLOCK_AT, offset)


def field(event: Event, path: str) -> Any:
    """The value at a dotted path of a nested event."""
    return get_field(event, path)


def options(tz: tzinfo = UTC) -> ParserOptions:
    """Parser options with the frozen test clock."""
    return ParserOptions(tz=tz, clock=FrozenClock(CLOCK_AT))
