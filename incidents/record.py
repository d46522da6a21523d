"""The incident record (kind ``incidents``) and the pure functions that build and change it.

The shape is documented in docs/incidents.md; other issues (API, reports, assets) read it.
Functions here never touch a store: :mod:`incidents.service` reads, calls them, and writes back
with the version it read, so a concurrent change is refused, never lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from incidents.entities import entities_of, ordered_tactics, tactics_of, techniques_of
from incidents.severity import score_incident
from soc_core.contracts import Record
from soc_core.event import Event, format_timestamp, get_field, parse_timestamp

KIND = "incidents"
STATUSES: Final = ("new", "triaged", "in_progress", "contained", "resolved", "false_positive")
CLOSED: Final = frozenset({"resolved", "false_positive"})
# Where an analyst may move an incident from each status; reopening is allowed on purpose.
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "new": frozenset({"triaged", "in_progress", "contained", "resolved", "false_positive"}),
    "triaged": frozenset({"in_progress", "contained", "resolved", "false_positive"}),
    "in_progress": frozenset({"triaged", "contained", "resolved", "false_positive"}),
    "contained": frozenset({"in_progress", "resolved", "false_positive"}),
    "resolved": frozenset({"in_progress"}),
    "false_positive": frozenset({"triaged"}),
}
# Past this many members an incident keeps counting alerts but stops listing them: a record
# must stay small enough to read and write whole.
MAX_MEMBERS: Final = 1000


def incident_id(first_alert_id: str) -> str:
    """Deterministic: the same first alert always opens the same incident id."""
    return "INC-" + hashlib.blake2b(first_alert_id.encode(), digest_size=8).hexdigest()


def alert_summary(alert: Event) -> dict[str, Any]:
    """What a member keeps of its alert: enough to explain and re-group without the alert."""
    severity = get_field(alert, "event.severity")
    return {
        "alert_id": str(get_field(alert, "event.id")),
        "rule_id": str(get_field(alert, "rule.id") or ""),
        "rule_name": str(get_field(alert, "rule.name") or ""),
        "timestamp": str(alert.get("@timestamp")),
        "last_seen": str(alert.get("@timestamp")),
        "count": 1,
        "severity": int(severity) if isinstance(severity, int | float) else 0,
        "tactics": tactics_of(alert),
        "techniques": techniques_of(alert),
        "tags": sorted(str(t) for t in alert.get("tags", []) if isinstance(t, str))
        if isinstance(alert.get("tags"), list) else [],
        "entities": entities_of(alert),
        "message": str(alert.get("message") or "")[:300],
    }


def new_incident(member: dict[str, Any], now: datetime, title_entity: tuple[str, str] | None) -> Record:
    """An incident opened by one alert (already summarised by :func:`alert_summary`)."""
    stamp = format_timestamp(now)
    incident: Record = {
        "id": incident_id(member["alert_id"]),
        "title": "",
        "subject": f"{title_entity[0]} {title_entity[1]}" if title_entity else "",
        "status": "new", "severity": "low", "severity_score": 0.0,
        "created": stamp, "updated": stamp,
        "first_seen": member["timestamp"], "last_seen": member["timestamp"],
        "assignee": None, "alert_count": 0, "alert_ids": [], "rule_ids": [], "tags": [], "tactics": [],
        "techniques": [], "entities": {}, "members": [], "timeline": [], "comments": [], "evidence": [],
        "asset_criticality": 0, "merged_into": None, "merged_from": [], "split_from": None,
    }
    return incident


def add_member(incident: Record, member: dict[str, Any], now: datetime, criticality: int = 0) -> None:
    """Join one alert to the incident and recompute what derives from its members."""
    incident["alert_count"] = int(incident.get("alert_count", 0)) + member.get("count", 1)
    if len(incident["members"]) < MAX_MEMBERS:
        incident["members"].append(member)
        incident["alert_ids"].append(member["alert_id"])
    reason = member.get("reason") or {}
    incident["timeline"].append({
        "ts": member["timestamp"], "actor": "system:grouping", "kind": "alert",
        "text": f"{member['rule_name'] or member['rule_id']}: {reason.get('text', 'first alert')}",
    })
    _fold_member(incident, member)
    touch(incident, now, criticality)


def add_duplicate(incident: Record, kept_alert_id: str, timestamp: str, now: datetime) -> bool:
    """Count a folded duplicate on the member it repeats; False when that member is not here."""
    for member in incident["members"]:
        if member["alert_id"] == kept_alert_id:
            member["count"] = int(member.get("count", 1)) + 1
            if timestamp > member.get("last_seen", ""):
                member["last_seen"] = timestamp
            incident["alert_count"] = int(incident.get("alert_count", 0)) + 1
            incident["last_seen"] = max(incident["last_seen"], timestamp)
            touch(incident, now, int(incident.get("asset_criticality", 0)))
            return True
    return False


def _fold_member(incident: Record, member: Mapping[str, Any]) -> None:
    if member["rule_id"] and member["rule_id"] not in incident["rule_ids"]:
        incident["rule_ids"].append(member["rule_id"])
    incident["tags"] = sorted({*incident["tags"], *member.get("tags", [])})
    incident["tactics"] = ordered_tactics([*incident["tactics"], *member.get("tactics", [])])
    incident["techniques"] = sorted({*incident["techniques"], *member.get("techniques", [])})
    for name, values in member.get("entities", {}).items():
        incident["entities"][name] = sorted({*incident["entities"].get(name, []), *values})
    incident["first_seen"] = min(incident["first_seen"], member["timestamp"])
    incident["last_seen"] = max(incident["last_seen"], member.get("last_seen", member["timestamp"]))


def rebuild(incident: Record, now: datetime) -> None:
    """Recompute every derived field from the members (after a split takes some away)."""
    members = incident["members"]
    incident.update({"alert_ids": [m["alert_id"] for m in members], "rule_ids": [], "tags": [],
                     "tactics": [], "techniques": [], "entities": {},
                     "alert_count": sum(int(m.get("count", 1)) for m in members)})
    if members:
        incident["first_seen"] = min(m["timestamp"] for m in members)
        incident["last_seen"] = max(m.get("last_seen", m["timestamp"]) for m in members)
    for member in members:
        _fold_member(incident, member)
    touch(incident, now, int(incident.get("asset_criticality", 0)))


def touch(incident: Record, now: datetime, criticality: int) -> None:
    """Stamp the change and rescore."""
    incident["updated"] = format_timestamp(now)
    incident["asset_criticality"] = max(int(incident.get("asset_criticality", 0)), criticality)
    severities = [int(m.get("severity", 0)) for m in incident["members"]] or [0]
    if incident["members"]:
        # Titled after its most severe alert (the earliest of equals), and what it is about.
        top = min(incident["members"], key=lambda m: (-int(m.get("severity", 0)), m["timestamp"]))
        subject = incident.get("subject")
        incident["title"] = (top["rule_name"] or top["rule_id"]) + (f" — {subject}" if subject else "")
    label, score = score_incident(max(severities), incident["tactics"], incident["asset_criticality"],
                                  int(incident.get("alert_count", 0)))
    incident["severity"], incident["severity_score"] = label, score


def gap_seconds(earlier: str, later: str) -> float:
    return abs((parse_timestamp(later) - parse_timestamp(earlier)).total_seconds())


def note(incident: Record, actor: str, kind: str, text: str, now: datetime) -> None:
    """One timeline line for an analyst's (or a playbook's) action."""
    incident["timeline"].append({"ts": format_timestamp(now), "actor": actor, "kind": kind, "text": text})
    incident["updated"] = format_timestamp(now)
