"""``soc parse``: files and folders in, one NDJSON ECS event per input event out, in input order."""

from __future__ import annotations

import sys

import click

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_lines
from soc_api.commands._common import (
    DamageReport,
    encoding_option,
    in_encoding,
    input_files_argument,
    make_parser,
    parse_routes,
    parse_tz,
    parser_option,
    route_option,
    tz_option,
)
from soc_api.commands._inputs import Progress, expand_inputs, input_options
from soc_core.clock import SystemClock
from soc_core.errors import ParseError, RegistryError

_WRITE_BATCH = 1024


@click.command("parse")
@parser_option
@route_option
@tz_option
@encoding_option
@input_options
@click.option("--stats", is_flag=True, help="Print per-parser and per-file counts on stderr.")
@input_files_argument("paths")
def command(parser_name: str, route_values: tuple[str, ...], tz_name: str, encoding: str | None,
            include: tuple[str, ...], exclude: tuple[str, ...], stats: bool, paths: tuple[str, ...]) -> None:
    """Parse PATHS (files, or folders read recursively) and print nested ECS events as NDJSON.

    Unparsable input becomes an event with event.kind pipeline_error, error.message and
    event.original: nothing is dropped. On a terminal a progress line and a per-file
    summary go to stderr. PATHS may be FIFOs, or - for standard input. A damaged file
    (truncated gzip, unreadable EVTX chunks) is printed as far as it can be read, reported
    on stderr with its offset, and the command exits 1.
    """
    clock = SystemClock()
    try:
        parser = make_parser(parser_name, parse_tz(tz_name), clock, parse_routes(route_values))
    except (RegistryError, ParseError) as exc:
        raise click.UsageError(str(exc)) from None
    files = expand_inputs(paths, include, exclude)
    counts = Stats()
    bugs = BugLogger()
    progress = Progress(len(files))
    out = sys.stdout.buffer
    damaged = DamageReport()
    for path in files:
        file_counts = progress.start_file(path)
        parsed, failed = counts.parsed, counts.failed
        # Written a batch at a time: one join and one write instead of a copy and a
        # write per line.
        raws = in_encoding(read_file_events(path, parser, clock.now(), damaged), encoding)
        pending: list[bytes] = []
        for line in parse_lines(parser, raws, counts, bugs):
            pending.append(line)
            if len(pending) >= _WRITE_BATCH:
                pending.append(b"")
                out.write(b"\n".join(pending))
                pending.clear()
                file_counts.events, file_counts.dead_letters = counts.parsed - parsed, counts.failed - failed
                progress.tick()
        if pending:
            pending.append(b"")
            out.write(b"\n".join(pending))
        file_counts.events, file_counts.dead_letters = counts.parsed - parsed, counts.failed - failed
    out.flush()
    progress.close()
    if stats:
        for parser_id, (ok, bad) in sorted(counts.per_parser.items()):
            click.echo(f"{parser_id}\tparsed={ok}\tfailed={bad}", err=True)
        click.echo(f"total\tparsed={counts.parsed}\tfailed={counts.failed}", err=True)
    if stats or progress.enabled:
        click.echo(progress.summary(alerts=False), err=True)
    damaged.finish("printed")
