"""``soc incidents``: the analyst's incident queue and every change to an incident.

``list`` filters on exact fields (``--status``, ``--severity``, ``--assignee``, ``--entity
source.ip=1.2.3.4``); ``show`` prints one incident with why its alerts were grouped; ``assign``,
``status``, ``comment``, ``evidence``, ``merge`` and ``split`` change it. Every change is audited.
Give ``--version`` (the version you read) to have a change refused when someone changed the
incident meanwhile. Human output is in Vietnamese and English; ``--json`` prints the records.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from incidents.record import STATUSES
from incidents.service import IncidentService
from soc_api.commands._common import open_store_or_fail, store_option
from soc_api.commands._incidents import actor_option, incident_service
from soc_api.i18n import both
from soc_core.clock import SystemClock
from soc_core.contracts import Record
from soc_core.errors import ConfigError, NotFound, StoreError, VersionConflict

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
version_option = click.option("--version", "expected_version", type=int,
                              help="Refuse the change unless the incident is still at this version.")


@contextmanager
def _service(store_url: str) -> Iterator[IncidentService]:
    store = open_store_or_fail(store_url)
    try:
        yield incident_service(store, SystemClock())
    except VersionConflict as exc:
        click.echo(f"{both('conflict')}: {exc}", err=True)
        sys.exit(2)
    except NotFound as exc:
        click.echo(f"not found: {exc}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except StoreError as exc:
        click.echo(f"store error: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()


def explanation(incident: Record, limit: int = 50) -> list[str]:
    """One line per member: which alert, which rule, why it joined."""
    lines = []
    for member in incident.get("members", [])[:limit]:
        count = f" ×{member['count']}" if member.get("count", 1) > 1 else ""
        reason = (member.get("reason") or {}).get("text", "")
        lines.append(f"{member['timestamp']} {member['rule_name'] or member['rule_id']}{count} "
                     f"[{member['alert_id'][:12]}]: {reason}")
    hidden = len(incident.get("members", [])) - limit
    if hidden > 0:
        lines.append(f"... {hidden} more")
    return lines


def _summary(incident: Record) -> dict[str, Any]:
    keep = ("id", "version", "title", "status", "severity", "severity_score", "assignee", "created", "updated",
            "first_seen", "last_seen", "alert_count", "rule_ids", "tactics", "techniques", "entities",
            "merged_into", "split_from")
    return {**{k: incident.get(k) for k in keep}, "explanation": explanation(incident, 20)}


def _print_one(incident: Record, as_json: bool, full: bool = True) -> None:
    if as_json:
        click.echo(json.dumps(incident if full else _summary(incident), ensure_ascii=False, indent=2))
        return
    click.echo(f"{both('incident')}: {incident['id']} v{incident['version']}  {incident['title']}")
    click.echo(f"  {both('severity')}: {incident['severity']} ({incident['severity_score']})   "
               f"{both('status')}: {incident['status']}   {both('assignee')}: {incident.get('assignee') or '-'}")
    click.echo(f"  {both('first_last_seen')}: {incident['first_seen']} / {incident['last_seen']}   "
               f"{both('alerts_count')}: {incident.get('alert_count', len(incident['alert_ids']))}")
    click.echo(f"  {both('tactics')}: {' → '.join(incident['tactics']) or '-'}")
    ents = "; ".join(f"{k}={','.join(v[:5])}{'…' if len(v) > 5 else ''}" for k, v in incident["entities"].items())
    click.echo(f"  {both('entities')}: {ents or '-'}")
    if not full:
        return
    if incident.get("merged_into"):
        click.echo(f"  merged into / đã gộp vào: {incident['merged_into']}")
    click.echo(f"  {both('why_grouped')}:")
    for line in explanation(incident):
        click.echo(f"    {line}")
    sections: list[tuple[str, list[str]]] = [
        ("comments", [f"{c['ts']} {c['author']}: {c['text']}" for c in incident["comments"]]),
        ("evidence", [f"{e['ts']} {e['author']}: {e['name']} sha256={e['sha256']}" for e in incident["evidence"]]),
        ("timeline", [f"{t['ts']} {t['actor']} {t['kind']}: {t['text']}" for t in incident["timeline"][-30:]]),
    ]
    for title, lines in sections:
        if lines:
            click.echo(f"  {both(title)}:")
            for line in lines:
                click.echo(f"    {line}")


@click.group("incidents")
def command() -> None:
    """Work the incident queue."""


@command.command("list")
@store_option
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--severity", type=click.Choice(["low", "medium", "high", "critical"]))
@click.option("--assignee")
@click.option("--entity", "entities", multiple=True, metavar="FIELD=VALUE",
              help="e.g. source.ip=203.0.113.7 or host.name=web1 (repeatable; all must match).")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
def list_command(store_url: str, status: str | None, severity: str | None, assignee: str | None,
                 entities: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Incidents, most recently changed first (the merged-away ones are left out)."""
    filters: dict[str, str] = {k: v for k, v in (("status", status), ("severity", severity),
                                                 ("assignee", assignee)) if v}
    for item in entities:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise click.BadParameter(f"{item!r}: expected FIELD=VALUE", param_hint="--entity")
        filters[f"entities.{name}"] = value
    with _service(store_url) as service:
        found = [i for i in service.list(filters, limit=limit) if not i.get("merged_into")]
    if as_json:
        click.echo(json.dumps([_summary(i) for i in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(both("incidents_none"))
    for incident in found:
        _print_one(incident, False, full=False)


@command.command("show")
@store_option
@click.argument("incident_id")
@json_option
def show_command(store_url: str, incident_id: str, as_json: bool) -> None:
    """One incident: its alerts and why each joined, comments, evidence, timeline."""
    with _service(store_url) as service:
        _print_one(service.get(incident_id), as_json)


def _changed(incident: Record, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(incident, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{both('changed')}: {incident['id']} v{incident['version']} "
                   f"{incident['status']} {incident['severity']} ({incident['severity_score']})")


def _run_change(store_url: str, as_json: bool, change: Callable[[IncidentService], Record]) -> None:
    with _service(store_url) as service:
        _changed(change(service), as_json)


@command.command("assign")
@store_option
@click.argument("incident_id")
@click.argument("assignee")
@actor_option
@version_option
@json_option
def assign_command(store_url: str, incident_id: str, assignee: str, actor: str,
                   expected_version: int | None, as_json: bool) -> None:
    """Give the incident to ASSIGNEE ("-" to unassign)."""
    who = None if assignee == "-" else assignee
    _run_change(store_url, as_json, lambda s: s.assign(incident_id, who, actor, expected_version))


@command.command("status")
@store_option
@click.argument("incident_id")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", default="")
@actor_option
@version_option
@json_option
def status_command(store_url: str, incident_id: str, status: str, reason: str, actor: str,
                   expected_version: int | None, as_json: bool) -> None:
    """Move the incident along its lifecycle (new → triaged → in_progress → contained → resolved,
    or false_positive)."""
    _run_change(store_url, as_json, lambda s: s.set_status(incident_id, status, actor, reason, expected_version))


@command.command("comment")
@store_option
@click.argument("incident_id")
@click.argument("text")
@actor_option
@version_option
@json_option
def comment_command(store_url: str, incident_id: str, text: str, actor: str,
                    expected_version: int | None, as_json: bool) -> None:
    """Add a comment."""
    _run_change(store_url, as_json, lambda s: s.comment(incident_id, text, actor, expected_version))


@command.command("evidence")
@store_option
@click.argument("incident_id")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="A file to attach.")
@click.option("--text", help="A text to attach.")
@click.option("--name", help="A name for the evidence (default: the file name).")
@actor_option
@version_option
@json_option
def evidence_command(store_url: str, incident_id: str, path: str | None, text: str | None, name: str | None,
                     actor: str, expected_version: int | None, as_json: bool) -> None:
    """Attach a file or a text as evidence; its SHA-256 is recorded and audited."""
    _run_change(store_url, as_json, lambda s: s.add_evidence(
        incident_id, actor, path=path, text=text, name=name, expected_version=expected_version))


@command.command("merge")
@store_option
@click.argument("target_id")
@click.argument("source_ids", nargs=-1, required=True)
@click.option("--reason", default="")
@actor_option
@json_option
def merge_command(store_url: str, target_id: str, source_ids: tuple[str, ...], reason: str, actor: str,
                  as_json: bool) -> None:
    """Merge SOURCE_IDS into TARGET_ID (the sources end resolved, pointing at the target)."""
    _run_change(store_url, as_json, lambda s: s.merge(target_id, list(source_ids), actor, reason))


@command.command("split")
@store_option
@click.argument("incident_id")
@click.argument("alert_ids", nargs=-1, required=True)
@click.option("--reason", default="")
@actor_option
@json_option
def split_command(store_url: str, incident_id: str, alert_ids: tuple[str, ...], reason: str, actor: str,
                  as_json: bool) -> None:
    """Move ALERT_IDS out of the incident into a new one (printed)."""
    _run_change(store_url, as_json, lambda s: s.split(incident_id, list(alert_ids), actor, reason))
