"""Turn a satisfied correlation window into an ECS alert document.

The alert has the same shape as a Sigma rule's (``rules.alerts.build_alert``): ``rule.*``,
``event.severity``, ``threat.*`` from the ATT&CK tags, ``alert.event_ids`` listing every
event that made it, and a deterministic ``event.id`` from the rule and those ids. The
correlation's own evidence is under ``correlation.*``: type, group values, measured value,
window bounds. Group-by fields that are ECS paths (``source.ip``) are also set on the
alert itself, so that searches and dashboards pivot on them as on any event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from correlation.spec import CorrelationSpec
from correlation.windows import Firing
from rules.alerts import build_alert
from rules.attack import AttackTable
from soc_core.event import KIND_EVENT, Event, format_timestamp, set_field

DATASET = "sigma.correlation"


def micros_to_timestamp(micros: int) -> str:
    seconds, rest = divmod(micros, 1_000_000)
    return format_timestamp(datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest))


def build_correlation_alert(
    spec: CorrelationSpec,
    group: Mapping[str, Any],
    firing: Firing,
    *,
    attack: AttackTable | None = None,
    created: datetime | None = None,
) -> Event:
    """The alert document for one satisfied correlation window."""
    first = min(e.timestamp_us for e in firing.entries)
    last = max(e.timestamp_us for e in firing.entries)
    event_ids = firing.event_ids
    conditions = " and ".join(str(c) for c in spec.conditions)
    group_text = ", ".join(f"{k}={v}" for k, v in group.items()) or "all events"
    evidence: dict[str, Any] = {
        "type": spec.type,
        "rules": list(spec.rules),
        "group": dict(group),
        "value": firing.value,
        "event_count": len(event_ids),
        "window": {"start": micros_to_timestamp(first), "end": micros_to_timestamp(last)},
        "timespan_secs": spec.span_us // 1_000_000,
    }
    if firing.values:
        evidence["values"] = firing.values
    # The "event" the alert is about: the correlation itself, stamped with the time of the
    # last event that completed it (event time, so replays give identical alerts).
    about: Event = {
        "@timestamp": micros_to_timestamp(last),
        "event": {"kind": KIND_EVENT, "module": "sigma", "dataset": DATASET},
        "message": f"{spec.rule.title}: {spec.type} = {firing.value:g} ({conditions}) for {group_text}",
        "correlation": evidence,
    }
    for name, value in group.items():
        if "." in name and value is not None:
            set_field(about, name, value)
    return build_alert(about, spec.rule, created=created, attack=attack, event_ids=event_ids)
