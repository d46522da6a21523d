"""Helpers shared by the ``soc`` commands: options, parser and store construction."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from parsers.base import ParserOptions
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Detector, Parser, Store
from soc_core.errors import ConfigError, InputDamaged, RuleError, StoreError
from soc_core.event import RawEvent, parse_timestamp
from soc_core.registry import default_registry
from soc_store import open_store

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


def make_parser(
    name: str, tz: tzinfo = UTC, clock: Clock | None = None, routes: tuple[tuple[str, str], ...] = ()
) -> Parser:
    """Build a registered parser by name (its ``event.dataset``, or ``auto``); ``routes``
    (glob, parser) pairs tell ``auto`` which parser a source or receiver is configured for."""
    factory: Any = default_registry().get("parser", name)
    parser: Parser = factory(ParserOptions(tz=tz, clock=clock or SystemClock(), routes=routes))
    return parser


def parse_routes(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``--route GLOB=PARSER`` values as (glob, parser) pairs."""
    routes = []
    for value in values:
        glob, sep, name = value.rpartition("=")
        if not sep or not glob or not name:
            raise click.BadParameter(f"expected GLOB=PARSER, got {value!r}", param_hint="--route")
        routes.append((glob, name))
    return tuple(routes)


parser_option = click.option(
    "--parser", "parser_name", default="auto", show_default=True,
    help="Parser name (the event.dataset it produces), or auto.",
)
route_option = click.option(
    "--route", "route_values", multiple=True, metavar="GLOB=PARSER",
    help="With --parser auto: events whose file path or receiver address matches GLOB go to PARSER "
         "(e.g. '*/nginx/*=nginx.access'; repeatable, first match wins).",
)
tz_option = click.option(
    "--tz", "tz_name", default="UTC", show_default=True,
    help="Timezone of timestamps that carry none (e.g. +07:00 or Asia/Ho_Chi_Minh).",
)


def _check_encoding(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from soc_core.legacy_encodings import canonical

    if value is None:
        return None
    try:
        return canonical(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


encoding_option = click.option(
    "--encoding", default=None, callback=_check_encoding,
    help="Encoding of the input when it is not UTF-8: tcvn3 (ABC), vni, viscii, cp1258 or any Python codec; "
         "the exact bytes are kept in event.original_base64.",
)


_Command = TypeVar("_Command", bound=Callable[..., Any])


def input_files_argument(name: str) -> Callable[[_Command], _Command]:
    """The inputs of ``ingest``, ``parse`` and ``detect``: existing files, folders, FIFOs,
    or ``-`` for standard input (files read once, from the first byte)."""
    return click.argument(name, nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))


class DamageReport:
    """The damaged inputs of one command (a truncated or non-gzip ``.gz``, an EVTX file
    with unreadable chunks): handed to ``read_file_events`` as its ``on_damage``, so the
    command goes on with what could be read and the next file; :meth:`finish` then prints
    one line per damaged file (path, reason, offset) and exits 1."""

    def __init__(self) -> None:
        self.damaged: list[InputDamaged] = []

    def __call__(self, damage: InputDamaged) -> None:
        self.damaged.append(damage)

    def finish(self, kept: str) -> None:
        """Report and exit 1 if any input was damaged; ``kept`` says what became of the
        readable part ("stored", "printed", ...)."""
        for damage in self.damaged:
            click.echo(f"damaged input: {' '.join(str(damage).split())}; what could be read is {kept}",
                       err=True)
        if self.damaged:
            sys.exit(1)


def in_encoding(raws: Iterable[RawEvent], encoding: str | None) -> Iterable[RawEvent]:
    """The raw events read in ``encoding`` (``None``: as they are, UTF-8)."""
    if encoding is None:
        return raws
    from soc_core.legacy_encodings import with_encoding

    return (with_encoding(raw, encoding) for raw in raws)


display_tz_option = click.option(
    "--display-tz", "display_tz_name", default=None,
    help="Zone of the times printed for people (default: this machine's zone); NDJSON stays UTC.",
)


def display_zone(name: str | None) -> tzinfo:
    """The zone ``--display-tz`` names, or this machine's local zone."""
    if name:
        return parse_tz(name)
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str | None, clock: Clock | None = None) -> datetime | None:
    """``--from``/``--to`` values: ISO-8601 (a bare date is midnight UTC) or ``now-15m``."""
    if text is None:
        return None
    m = _RELATIVE.match(text.strip())
    if m:
        now = (clock or SystemClock()).now()
        if m.group(1) is None:
            return now
        return now - timedelta(seconds=int(m.group(1)) * _UNIT_SECS[m.group(2)])
    try:
        return parse_timestamp(text)
    except ValueError:
        raise click.BadParameter(f"not a time: {text!r} (use ISO-8601 or now-15m)") from None


def open_store_or_fail(url: str, *, read_only: bool = False) -> Store:
    """Open a store for a command; a bad URL is a usage error, a store that cannot be
    opened one line on stderr and exit status 1 (``read_only``: see ``open_store``)."""
    try:
        return open_store(url, read_only=read_only)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


store_option = click.option(
    "--store", "store_url", required=True, envvar="SOC_STORE",
    help="Store URL: sqlite:///path/to/file.db or http(s)://host:port (env SOC_STORE).",
)


rules_option = click.option(
    "--rules", "rule_paths", multiple=True, type=click.Path(exists=True),
    help="Sigma rule file or folder (repeatable), run with the built-in rules.",
)
no_builtin_rules_option = click.option(
    "--no-builtin-rules", "no_builtin_rules", is_flag=True,
    help="Do not run the built-in rules (rules/builtin); detection then runs only with --rules.",
)


def builtin_rules_dir() -> Path:
    """The project's own rules, shipped inside the ``rules`` package."""
    import rules

    return Path(rules.__file__).resolve().parent / "builtin"


def build_detectors(rule_paths: tuple[str, ...], clock: Clock, builtin: bool = False) -> list[Detector]:
    """The Sigma (and correlation) detectors for the given rule paths, plus the built-in rules
    when ``builtin``; none when there is nothing to load.

    Broken rules are reported on stderr with file and line and skipped.
    """
    if builtin:
        rule_paths = (str(builtin_rules_dir()), *rule_paths)
    if not rule_paths:
        return []
    from rules.sigma.cache import load_engine

    # The compiled rule set comes from the cache when an earlier run built it.
    engine, _ = load_engine(list(rule_paths))
    for error in engine.ruleset.errors:
        click.echo(f"rule error: {error}", err=True)
    require_rules(engine.ruleset, rule_paths)
    if builtin:
        # The built-in rules always load: a user's --rules that all failed must still fail the
        # command rather than run the built-in set alone as if nothing had happened.
        require_own_rules(engine.ruleset, rule_paths[1:])
    return detectors_for(engine.ruleset, clock, engine)


def require_rules(ruleset: Any, rule_paths: tuple[str, ...]) -> None:
    """Raise ``RuleError`` when ``--rules`` gave nothing that can run: detection asked for
    and silently absent would read as "no attack found"."""
    if ruleset.rules or ruleset.correlations:
        return
    where = ", ".join(rule_paths)
    if ruleset.errors:
        raise RuleError(f"none of the rules in {where} could be loaded ({len(ruleset.errors)} errors above)")
    raise RuleError(f"no Sigma rule found in {where} (.yml/.yaml files)")


def require_own_rules(ruleset: Any, own_paths: tuple[str, ...]) -> None:
    """Raise ``RuleError`` when the user's own rule paths gave no rule that loaded (the
    built-in rules loaded beside them do not count)."""
    if not own_paths:
        return
    from rules.sigma.loader import iter_rule_files

    own_files = {os.path.realpath(f) for f in iter_rule_files(list(own_paths))}
    loaded = {ruleset.source_of(r) for r in (*ruleset.rules, *ruleset.correlations)}
    if own_files & {os.path.realpath(s) for s in loaded if s}:
        return
    where = ", ".join(own_paths)
    if own_files:
        raise RuleError(f"none of the rules in {where} could be loaded (errors above)")
    raise RuleError(f"no Sigma rule found in {where} (.yml/.yaml files)")


def detectors_for(ruleset: Any, clock: Clock, engine: Any = None) -> list[Detector]:
    """The Sigma detector over ``ruleset`` (a loaded ``rules.sigma.RuleSet``), followed by
    the correlation detector when the set has correlation rules."""
    from rules.sigma import SigmaDetector, SigmaEngine

    sigma = SigmaDetector(engine if engine is not None else SigmaEngine(ruleset), clock=clock)
    detectors: list[Detector] = [sigma]
    if ruleset.correlations:
        factory: Any = default_registry().get("detector", "sigma_correlation")
        # After the Sigma detector, reading its matches: the engine runs once per event.
        detectors.append(factory(sigma.engine, ruleset.correlations, clock=clock, matcher=sigma.matched))
    return detectors
