"""``soc suppressions``: alert suppression rules as data (a query, an expiry, a reason, an author).

A suppressed alert is still stored, marked ``alert.suppressed_by``, but opens no incident.
Every change is appended to the audit trail.
"""

from __future__ import annotations

import json
from datetime import datetime

import click

from incidents.config import SUPPRESSION_KIND, HandlingConfig
from soc_api.commands._common import open_store_or_fail, parse_time, store_option
from soc_api.commands._incidents import actor_option
from soc_api.i18n import both
from soc_core.clock import SystemClock
from soc_core.errors import ConfigError, NotFound, QuerySyntaxError


@click.group("suppressions")
def command() -> None:
    """Suppress alerts matching a query, until an expiry."""


@command.command("add")
@store_option
@click.option("--query", required=True, help="Analyst query, e.g. 'source.ip:10.0.0.5 AND rule.id:...'.")
@click.option("--reason", required=True)
@click.option("--expires", help="When it stops applying: ISO-8601, e.g. 2026-12-31T00:00:00Z (default: never).")
@actor_option
@click.option("--json", "as_json", is_flag=True)
def add_command(store_url: str, query: str, reason: str, expires: str | None, actor: str, as_json: bool) -> None:
    """Add a suppression."""
    until: datetime | None = parse_time(expires) if expires else None
    store = open_store_or_fail(store_url)
    try:
        record = HandlingConfig(store, SystemClock()).add_suppression(query, reason, actor, until)
    except (ConfigError, QuerySyntaxError) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    click.echo(json.dumps(record, ensure_ascii=False) if as_json else f"{record['id']} {record['query']!r}")


@command.command("list")
@store_option
@click.option("--all", "include_inactive", is_flag=True, help="Include removed and expired ones.")
@click.option("--json", "as_json", is_flag=True)
def list_command(store_url: str, include_inactive: bool, as_json: bool) -> None:
    """Active suppressions (all with --all)."""
    store = open_store_or_fail(store_url)
    try:
        records = HandlingConfig(store, SystemClock()).list(SUPPRESSION_KIND, include_inactive)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    click.echo(f"{both('suppressions')}: {len(records)}")
    for r in records:
        state = " (removed)" if r.get("removed") else ""
        click.echo(f"  {r['id']}{state} {r['query']!r} until {r.get('expires') or '-'} by {r['author']}: {r['reason']}")


@command.command("remove")
@store_option
@click.argument("suppression_id")
@click.option("--reason", default="")
@actor_option
def remove_command(store_url: str, suppression_id: str, reason: str, actor: str) -> None:
    """Remove a suppression (kept, marked removed, audited)."""
    store = open_store_or_fail(store_url)
    try:
        HandlingConfig(store, SystemClock()).remove_suppression(suppression_id, actor, reason)
    except (ConfigError, NotFound) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"removed {suppression_id}")
