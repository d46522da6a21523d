"""Helpers shared by the ``soc`` commands: options, parser and store construction."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from parsers.base import ParserOptions
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Parser
from soc_core.registry import default_registry

_OFFSET = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")


def parse_tz(text: str) -> tzinfo:
    """``UTC``, ``+07:00``/``-0200``, or an IANA name such as ``Asia/Ho_Chi_Minh``."""
    if text.upper() in ("UTC", "Z"):
        return UTC
    m = _OFFSET.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {text!r}") from None


def make_parser(name: str, tz: tzinfo = UTC, clock: Clock | None = None) -> Parser:
    """Build a registered parser by name (its ``event.dataset``, or ``auto``)."""
    factory: Any = default_registry().get("parser", name)
    parser: Parser = factory(ParserOptions(tz=tz, clock=clock or SystemClock()))
    return parser


parser_option = click.option(
    "--parser", "parser_name", default="auto", show_default=True,
    help="Parser name (the event.dataset it produces), or auto.",
)
tz_option = click.option(
    "--tz", "tz_name", default="UTC", show_default=True,
    help="Timezone of timestamps that carry none (e.g. +07:00 or Asia/Ho_Chi_Minh).",
)
