"""``soc ingest``: parse, detect and store log files, then print what happened."""

from __future__ import annotations

import sys
from itertools import islice

import click

from ingest.files import read_file_events
from ingest.pipeline import Pipeline
from intel.detector import detector_for
from intel.repository import IndicatorRepository
from soc_api.commands._common import (
    DamageReport,
    build_detectors,
    encoding_option,
    in_encoding,
    input_files_argument,
    make_parser,
    no_builtin_rules_option,
    open_store_or_fail,
    parse_routes,
    parse_tz,
    parser_option,
    route_option,
    rules_option,
    store_option,
    tz_option,
)
from soc_api.commands._incidents import build_alert_stage, incident_config_option
from soc_api.commands._inputs import Progress, expand_inputs, input_options
from soc_api.commands._response import response_config as load_response_config
from soc_api.commands._response import response_config_option
from soc_core.clock import SystemClock
from soc_core.errors import ConfigError, ParseError, RegistryError, RuleError, StoreError


@click.command("ingest")
@store_option
@parser_option
@tz_option
@route_option
@rules_option
@no_builtin_rules_option
@incident_config_option
@response_config_option
@encoding_option
@input_options
@input_files_argument("paths")
def command(
    store_url: str, parser_name: str, tz_name: str, route_values: tuple[str, ...], rule_paths: tuple[str, ...],
    no_builtin_rules: bool, incident_config: str | None, response_config: str | None, encoding: str | None,
    include: tuple[str, ...], exclude: tuple[str, ...], paths: tuple[str, ...],
) -> None:
    """Parse PATHS (files, or folders read recursively), run detection (built-in rules and
    --rules), handle the alerts (dedup, suppressions, overrides), group them into incidents,
    and store everything; a per-file summary at the end.

    FILES may be FIFOs, or - for standard input.

    Re-ingesting a file stores nothing twice (event ids are derived from the file and offset).
    """
    clock = SystemClock()
    files = expand_inputs(paths, include, exclude)
    try:
        parser = make_parser(parser_name, parse_tz(tz_name), clock, parse_routes(route_values))
        detectors = build_detectors(rule_paths, clock, builtin=not no_builtin_rules)
    except (RegistryError, RuleError, ParseError) as exc:
        raise click.UsageError(str(exc)) from None
    response = load_response_config(response_config)
    store = open_store_or_fail(store_url)
    try:
        stage = build_alert_stage(store, clock, incident_config, response)
    except ConfigError as exc:
        store.close()
        raise click.UsageError(str(exc)) from None
    # Indicator matching whenever the store holds active indicators (soc intel import).
    repo = IndicatorRepository(store, clock)
    intel = detector_for(store, clock, on_sightings=repo.record_sightings)
    pipeline = Pipeline(parser, store, [*detectors, intel] if intel else detectors, clock=clock, alert_stage=stage)
    progress = Progress(len(files))
    damaged = DamageReport()
    try:
        stats = pipeline.stats
        for path in files:
            file_counts = progress.start_file(path)
            parsed, failed, alerts = stats.parsed, stats.failed, stats.alerts
            raws = in_encoding(read_file_events(path, parser, clock.now(), damaged), encoding)
            while chunk := list(islice(raws, pipeline.batch_size)):
                pipeline.write(pipeline.process_batch(chunk))
                file_counts.events, file_counts.dead_letters = stats.parsed - parsed, stats.failed - failed
                file_counts.alerts = stats.alerts - alerts
                progress.tick()
        pipeline.write(pipeline.flush_detectors())
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
        progress.close()
    click.echo(progress.summary())
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
