"""``soc hunt``: run Sigma rules over stored events (retro-hunt), print the alerts.

The rules are converted by pySigma for the store: SQL for the embedded store, Lucene
query strings for Elasticsearch/OpenSearch (see :mod:`rules.hunt`). Alerts are printed as
NDJSON (the same documents the streaming detector makes); ``--write`` also stores them,
idempotently. Rules that cannot be converted are reported on stderr as
``file:line: message``; a summary follows.
"""

from __future__ import annotations

import sys

import click

from rules.alerts import build_alert
from rules.attack import load_attack_table
from rules.hunt import hunt
from rules.sigma import load_placeholders, load_rules
from soc_api.commands._common import open_store_or_fail, parse_time, require_rules, store_option
from soc_core.clock import SystemClock
from soc_core.contracts import TimeRange
from soc_core.errors import ConfigError, RuleError, StoreError
from soc_core.event import Event, dumps


@click.command("hunt")
@store_option
@click.option("--rules", "rule_paths", multiple=True, required=True, type=click.Path(exists=True),
              help="Sigma rule file or folder (repeatable).")
@click.option("--from", "time_from", help="Start of the time range, inclusive (ISO-8601 or now-1h).")
@click.option("--to", "time_to", help="End of the time range, exclusive (ISO-8601 or now).")
@click.option("--placeholders", type=click.Path(exists=True, dir_okay=False),
              help="YAML file of values for %placeholders% of the expand modifier.")
@click.option("--write", "write_alerts", is_flag=True, help="Also store the alerts (idempotent).")
def command(
    store_url: str, rule_paths: tuple[str, ...], time_from: str | None, time_to: str | None,
    placeholders: str | None, write_alerts: bool,
) -> None:
    """Run the rules in --rules over the events stored in --store."""
    clock = SystemClock()
    window = TimeRange(parse_time(time_from, clock), parse_time(time_to, clock))
    try:
        values = load_placeholders(placeholders) if placeholders else None
        ruleset = load_rules(list(rule_paths), values)
        for error in ruleset.errors:
            click.echo(str(error), err=True)
        require_rules(ruleset, rule_paths)
    except RuleError as exc:
        raise click.UsageError(str(exc)) from None
    store = open_store_or_fail(store_url)
    try:
        result = hunt(store, ruleset, window)
        for error in result.errors:
            click.echo(str(error), err=True)
        by_key = {(str(r.id) if r.id is not None else str(r.name or r.title)): r for r in ruleset.rules}
        attack = load_attack_table()
        now = clock.now()
        alerts: list[Event] = [
            build_alert(hit.event, by_key[hit.rule_id], created=now, attack=attack, ruleset="sigma-hunt")
            for hit in result.hits
        ]
        out = sys.stdout.buffer
        for alert in alerts:
            out.write(dumps(alert) + b"\n")
        out.flush()
        stored = ""
        if write_alerts and alerts:
            written = store.write(alerts)
            stored = f", stored {written.written} new alerts ({written.duplicates} already present)"
    except (StoreError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(
        f"{result.backend}: {result.rules} rules over {result.events} events: {len(result.hits)} hits, "
        f"{len(ruleset.errors) + len(result.errors)} rules not run{stored}",
        err=True,
    )
