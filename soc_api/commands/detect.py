"""``soc detect``: run Sigma rules over files and print one NDJSON alert per line.

Correlation rules in the rule set run too, over the Sigma matches in event time: their
alerts list the ids of the events that made them.

Inputs may be ``.evtx`` files and Windows JSON exports (read by the ``winlog`` parser),
NDJSON files of ECS events (as ``soc parse`` prints them: matched as they are), or raw
log files parsed with ``--parser``. Rule files that do not load are reported on stderr
with file and line; the other rules run.

The compiled rule set is cached (``rules/sigma/cache.py``, keyed by the rule files'
content and the engine version): a second run over the same rules starts at once.
"""

from __future__ import annotations

import gc
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import click

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_stream
from parsers.base import is_read_once, open_log
from rules.sigma import load_placeholders
from rules.sigma.cache import describe, load_engine
from soc_api.commands._common import (
    DamageReport,
    detectors_for,
    input_files_argument,
    make_parser,
    parse_tz,
    parser_option,
    tz_option,
)
from soc_api.commands._inputs import Progress, counted, expand_inputs, input_options
from soc_core.clock import SystemClock
from soc_core.contracts import Parser
from soc_core.errors import InputDamaged, RegistryError, RuleError
from soc_core.event import Event, dumps, loads

EVTX_MAGIC = b"ElfFile\x00"
_SNIFF_BYTES = 4096


def input_kind(path: str) -> str:
    """``winlog`` (.evtx or a Windows JSON export), ``ecs`` (NDJSON events) or ``raw``.

    A pipe or standard input is ``raw``: sniffing would consume its first bytes. A file
    whose first bytes cannot be read (a damaged ``.gz``) is ``raw`` too: the line reader
    then reports the damage with its offset."""
    if is_read_once(path):
        return "raw"
    try:
        with open_log(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return "raw"
    if head.startswith(EVTX_MAGIC):
        return "winlog"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        try:
            obj: Any = loads(first)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "@timestamp" in obj and isinstance(obj.get("event"), dict):
            return "ecs"
        if b'"Event"' in text or b'"winlog"' in text:
            return "winlog"
    if text.startswith(b"[") and (b'"Event"' in text or b'"winlog"' in text):
        return "winlog"
    return "raw"


def ecs_events(path: str, on_damage: Callable[[InputDamaged], None]) -> Iterator[Event]:
    """Events of an NDJSON file; a line that is not a JSON object is reported, not hidden;
    a damaged ``.gz`` yields what decompressed, then goes to ``on_damage``."""
    with open_log(path) as stream:
        try:
            yield from _ecs_lines(path, stream)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            on_damage(InputDamaged(os.path.abspath(path), f"{type(exc).__name__}: {exc}"))


def _ecs_lines(path: str, stream: BinaryIO) -> Iterator[Event]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            event = loads(line)
        except ValueError as exc:
            click.echo(f"{path}:{number}: not JSON, skipped: {exc}", err=True)
            continue
        if isinstance(event, dict):
            yield event
        else:
            click.echo(f"{path}:{number}: not a JSON object, skipped", err=True)


@click.command("detect")
@click.option("--rules", "rule_paths", multiple=True, required=True, type=click.Path(exists=True),
              help="Sigma rule file or folder (repeatable).")
@click.option("--placeholders", "placeholders_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML mapping of %placeholder% names to values, for the expand modifier.")
@parser_option
@tz_option
@click.option("--stats", "show_stats", is_flag=True, help="Print counts and a per-file summary on stderr at the end.")
@click.option("--cache/--no-cache", "use_cache", default=True, show_default=True,
              help="Reuse the compiled rule set of an earlier run ($SOC_CACHE_DIR, ~/.cache/soc-pipeline).")
@input_options
@input_files_argument("paths")
def command(rule_paths: tuple[str, ...], placeholders_file: str | None, parser_name: str, tz_name: str,
            show_stats: bool, use_cache: bool, include: tuple[str, ...], exclude: tuple[str, ...],
            paths: tuple[str, ...]) -> None:
    """Run Sigma rules over PATHS (.evtx, NDJSON events, raw logs; folders read recursively);
    print alerts as NDJSON.

    PATHS may be FIFOs, or - for standard input (read as raw logs). A damaged file is
    checked as far as it can be read, reported on stderr with its offset, and the command
    exits 1."""
    inputs = expand_inputs(paths, include, exclude)
    try:
        placeholders = load_placeholders(placeholders_file) if placeholders_file else None
        engine, cache_outcome = load_engine(list(rule_paths), placeholders, use_cache=use_cache)
    except RuleError as exc:
        raise click.UsageError(str(exc)) from None
    ruleset = engine.ruleset
    # The rule set lives as long as the process: keep the cyclic collector off its
    # hundreds of thousands of objects (each full collection would walk them again).
    gc.freeze()
    for err in ruleset.errors:
        click.echo(f"rule error: {err}", err=True)
    if not ruleset.rules:
        raise click.UsageError("no rule loaded")
    clock = SystemClock()
    tz = parse_tz(tz_name)
    # Sigma rules, then correlation rules over their matches (alerts as windows fill up).
    detectors = detectors_for(ruleset, clock, engine)
    stats, bugs = Stats(), BugLogger()
    parsers: dict[str, Parser] = {}
    out = sys.stdout.buffer
    events = 0
    damaged = DamageReport()
    progress = Progress(len(inputs))
    for path in inputs:
        file_counts = progress.start_file(path)
        failed_before = stats.failed
        kind = input_kind(path)
        if kind == "ecs" and parser_name == "auto":
            stream: Iterator[Event] = ecs_events(path, damaged)
        else:
            name = "winlog" if kind == "winlog" else parser_name
            if name not in parsers:
                try:
                    parsers[name] = make_parser(name, tz, clock)
                except RegistryError as exc:
                    raise click.UsageError(str(exc)) from None
            parser = parsers[name]
            stream = parse_stream(parser, read_file_events(path, parser, clock.now(), damaged), stats, bugs)
        for event in counted(stream, progress, file_counts):
            events += 1
            for detector in detectors:
                for alert in detector.detect(event):
                    stats.alerts += 1
                    file_counts.alerts += 1
                    out.write(dumps(alert) + b"\n")
        file_counts.dead_letters = stats.failed - failed_before
    # The input is over: windows still open (correlations that fire on closing) close now.
    for detector in detectors:
        for alert in detector.flush(clock.now()):
            stats.alerts += 1
            out.write(dumps(alert) + b"\n")
    out.flush()
    progress.close()
    if show_stats or progress.enabled:
        click.echo(progress.summary(), err=True)
    if show_stats:
        click.echo(f"rules={len(ruleset.rules)} rule_errors={len(ruleset.errors)} "
                   f"rules_without_route={len(engine.unrouted)} events={events} "
                   f"dead_letters={stats.failed} alerts={stats.alerts}", err=True)
        click.echo(describe(cache_outcome), err=True)
    damaged.finish("checked")
