"""``soc overrides``: per-rule severity overrides (every alert of a rule gets another level).

The alert keeps what it had under ``alert.severity_override.from``; every change is audited.
"""

from __future__ import annotations

import json

import click

from incidents.config import LEVEL_SEVERITY, OVERRIDE_KIND, HandlingConfig
from soc_api.commands._common import open_store_or_fail, store_option
from soc_api.commands._incidents import actor_option
from soc_api.i18n import both
from soc_core.clock import SystemClock
from soc_core.errors import ConfigError, NotFound


@click.group("overrides")
def command() -> None:
    """Change the severity of a rule's alerts."""


@command.command("set")
@store_option
@click.argument("rule_id")
@click.argument("level", type=click.Choice(list(LEVEL_SEVERITY)))
@click.option("--reason", required=True)
@actor_option
def set_command(store_url: str, rule_id: str, level: str, reason: str, actor: str) -> None:
    """Alerts of RULE_ID get LEVEL from now on."""
    store = open_store_or_fail(store_url)
    try:
        HandlingConfig(store, SystemClock()).set_override(rule_id, level, reason, actor)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"{rule_id}: {level}")


@command.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True)
def list_command(store_url: str, as_json: bool) -> None:
    """Active overrides."""
    store = open_store_or_fail(store_url)
    try:
        records = HandlingConfig(store, SystemClock()).list(OVERRIDE_KIND)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    click.echo(f"{both('overrides')}: {len(records)}")
    for r in records:
        click.echo(f"  {r['id']} -> {r['level']} by {r['author']}: {r['reason']}")


@command.command("remove")
@store_option
@click.argument("rule_id")
@click.option("--reason", default="")
@actor_option
def remove_command(store_url: str, rule_id: str, reason: str, actor: str) -> None:
    """Drop the override of RULE_ID (kept, marked removed, audited)."""
    store = open_store_or_fail(store_url)
    try:
        HandlingConfig(store, SystemClock()).remove_override(rule_id, actor, reason)
    except (ConfigError, NotFound) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"removed the override of {rule_id}")
