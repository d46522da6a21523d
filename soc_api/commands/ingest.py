"""``soc ingest``: parse, detect and store log files, then print what happened."""

from __future__ import annotations

import sys

import click

from ingest.files import read_file_events
from ingest.pipeline import Pipeline
from soc_api.commands._common import (
    DamageReport,
    build_detectors,
    encoding_option,
    in_encoding,
    input_files_argument,
    make_parser,
    no_builtin_rules_option,
    open_store_or_fail,
    parse_tz,
    parser_option,
    rules_option,
    store_option,
    tz_option,
)
from soc_api.commands._incidents import build_alert_stage, incident_config_option
from soc_core.clock import SystemClock
from soc_core.errors import ConfigError, RegistryError, RuleError, StoreError


@click.command("ingest")
@store_option
@parser_option
@tz_option
@rules_option
@no_builtin_rules_option
@incident_config_option
@encoding_option
@input_files_argument("files")
def command(
    store_url: str, parser_name: str, tz_name: str, rule_paths: tuple[str, ...], no_builtin_rules: bool,
    incident_config: str | None, encoding: str | None, files: tuple[str, ...],
) -> None:
    """Parse FILES, run detection (built-in rules and --rules), handle the alerts (dedup,
    suppressions, overrides), group them into incidents, and store everything.

    FILES may be FIFOs, or - for standard input.

    Re-ingesting a file stores nothing twice (event ids are derived from the file and offset).
    """
    clock = SystemClock()
    try:
        parser = make_parser(parser_name, parse_tz(tz_name), clock)
        detectors = build_detectors(rule_paths, clock, builtin=not no_builtin_rules)
    except (RegistryError, RuleError) as exc:
        raise click.UsageError(str(exc)) from None
    store = open_store_or_fail(store_url)
    try:
        stage = build_alert_stage(store, clock, incident_config)
    except ConfigError as exc:
        store.close()
        raise click.UsageError(str(exc)) from None
    pipeline = Pipeline(parser, store, detectors, clock=clock, alert_stage=stage)
    damaged = DamageReport()
    try:
        stats = pipeline.run(in_encoding(
            (raw for path in files for raw in read_file_events(path, parser, clock.now(), damaged)),
            encoding))
    except StoreError as exc:
        click.echo(f"store error: {' '.join(str(exc).split())}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        # What was written stays written (and re-ingesting stores nothing twice): say how much.
        stats = pipeline.stats
        click.echo(
            f"interrupted: stored {stats.stored} new documents ({stats.duplicates} already present) "
            f"from {stats.received} input events read; run the same command again to finish",
            err=True,
        )
        sys.exit(130)
    finally:
        store.close()
    click.echo(
        f"ingested {len(files)} file(s): {stats.received} input events, {stats.parsed} parsed, "
        f"{stats.failed} dead letters, {stats.alerts} alerts"
    )
    click.echo(f"stored {stats.stored} new documents, {stats.duplicates} already present")
    click.echo(f"cảnh báo trùng gộp / alerts folded as duplicates: {stage.duplicates}; "
               f"bị loại trừ / suppressed: {stage.suppressed}; "
               f"sự cố mở hoặc cập nhật / incidents opened or updated: {stage.incidents_changed}")
    if stats.parser_bugs:
        click.echo(f"warning: {stats.parser_bugs} events hit a parser bug (kept as dead letters)", err=True)
    if stats.store_failures:
        click.echo(f"warning: the store refused {stats.store_failures} documents (kept as dead letters)", err=True)
    # What could be read is stored (counted above); the rest of a damaged file is not.
    damaged.finish("stored")
