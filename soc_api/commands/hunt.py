"""``soc hunt``: run Sigma rules over stored events (retro-hunt), print the alerts.

The rules are converted by pySigma for the store: SQL for the embedded store, Lucene
query strings for Elasticsearch/OpenSearch (see :mod:`rules.hunt`); keyword rules and
rules without a conversion run on the streaming engine over the stored events, and
correlation rules through the correlation detector (:mod:`correlation.hunt`), so a hunt
gives what streaming detection gives on both stores. Alerts are printed as NDJSON (the
same documents the streaming detector makes); ``--write`` also stores them, idempotently.
Rules that could not run at all are reported on stderr as ``file:line: message``, the
rules the streaming engine ran are named with the reason; a summary follows.
"""

from __future__ import annotations

import sys

import click

from correlation.hunt import hunt_correlations
from rules.alerts import build_alert
from rules.attack import load_attack_table
from rules.hunt import hunt, rule_key
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
        titles = {rule_key(r): r.title for r in ruleset.rules}
        for key, reason in sorted(result.streamed.items()):
            click.echo(f"streaming engine: {titles.get(key, key)}: {reason}", err=True)
        correlation_alerts, correlation_errors = hunt_correlations(store, ruleset, window, clock)
        for error in correlation_errors:
            click.echo(str(error), err=True)
        by_key = {(str(r.id) if r.id is not None else str(r.name or r.title)): r for r in ruleset.rules}
        attack = load_attack_table()
        now = clock.now()
        alerts: list[Event] = [
            build_alert(hit.event, by_key[hit.rule_id], created=now, attack=attack, ruleset="sigma-hunt")
            for hit in result.hits
        ] + correlation_alerts
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
    correlations = len(ruleset.correlations) - len(correlation_errors)
    click.echo(
        f"{result.backend}: {result.rules} rules over {result.events} events: {len(result.hits)} hits "
        f"({len(result.streamed)} rules on the streaming engine), {correlations} correlation rules: "
        f"{len(correlation_alerts)} alerts, "
        f"{len(ruleset.errors) + len(result.errors) + len(correlation_errors)} rules not run{stored}",
        err=True,
    )
