"""``soc parse``: files in, one NDJSON ECS event per input event out, in input order."""

from __future__ import annotations

import sys

import click

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_lines
from soc_api.commands._common import encoding_option, in_encoding, make_parser, parse_tz, parser_option, tz_option
from soc_core.clock import SystemClock
from soc_core.errors import RegistryError

_WRITE_BATCH = 1024


@click.command("parse")
@parser_option
@tz_option
@encoding_option
@click.option("--stats", is_flag=True, help="Print per-parser parsed/failed counts on stderr.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def command(parser_name: str, tz_name: str, encoding: str | None, stats: bool, files: tuple[str, ...]) -> None:
    """Parse FILES and print nested ECS events as NDJSON.

    Unparsable input becomes an event with event.kind pipeline_error, error.message and
    event.original: nothing is dropped.
    """
    clock = SystemClock()
    try:
        parser = make_parser(parser_name, parse_tz(tz_name), clock)
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from None
    counts = Stats()
    bugs = BugLogger()
    out = sys.stdout.buffer
    for path in files:
        # Written a batch at a time: one join and one write instead of a copy and a
        # write per line.
        raws = in_encoding(read_file_events(path, parser, clock.now()), encoding)
        pending: list[bytes] = []
        for line in parse_lines(parser, raws, counts, bugs):
            pending.append(line)
            if len(pending) >= _WRITE_BATCH:
                pending.append(b"")
                out.write(b"\n".join(pending))
                pending.clear()
        if pending:
            pending.append(b"")
            out.write(b"\n".join(pending))
    out.flush()
    if stats:
        for parser_id, (ok, failed) in sorted(counts.per_parser.items()):
            click.echo(f"{parser_id}\tparsed={ok}\tfailed={failed}", err=True)
        click.echo(f"total\tparsed={counts.parsed}\tfailed={counts.failed}", err=True)
