"""Alert documents: the matched event's fields plus who fired, why, and how bad.

An alert is an ECS event (``event.kind: alert``) carrying the source event's fields
(so ``log.file.path``, ``log.offset``, ``winlog.*`` stay searchable), the rule under
``rule.*``, ``event.severity`` from the Sigma level, ``threat.*`` from the rule's ATT&CK
tags, and ``alert.event_ids``: the ids of the events that made it (one for a Sigma
rule, several for a correlation). Its ``event.id`` is derived from the rule id and
those event ids, so re-running detection over the same input stores it once.

Sigma's ``level`` goes to ``event.severity`` (numeric, the 0-100 scale of Elastic's
detection rules) and, as Sigma names it, to ``rule.level`` (``informational``, ``low``,
``medium``, ``high``, ``critical``): a field of ours, not ECS, since ECS's ``rule.*``
has none for it (``rule.category`` is a rule's category, not its severity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from rules.attack import AttackTable
from soc_core.event import KIND_ALERT, Event, format_timestamp

# Sigma levels to ECS event.severity, on the 0-100 scale Elastic's detection rules use.
SEVERITY: Final[Mapping[str, int]] = {
    "informational": 0,
    "low": 21,
    "medium": 47,
    "high": 73,
    "critical": 99,
}


def rule_id(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The rule's id, or its name/title when it has none (correlations may not)."""
    if rule.id is not None:
        return str(rule.id)
    return str(rule.name or rule.title)


def alert_id(rule_identifier: str, event_ids: Sequence[str]) -> str:
    """Deterministic alert id: the same rule over the same events gives the same id."""
    h = hashlib.blake2b(digest_size=16)
    h.update(rule_identifier.encode())
    for eid in event_ids:
        h.update(b"\x00")
        h.update(eid.encode())
    return h.hexdigest()


def rule_fields(rule: SigmaRule | SigmaCorrelationRule, ruleset: str) -> dict[str, Any]:
    """ECS ``rule.*`` for a Sigma rule or correlation."""
    out: dict[str, Any] = {"id": rule_id(rule), "name": rule.title, "ruleset": ruleset}
    if rule.description:
        out["description"] = rule.description
    if rule.references:
        out["reference"] = list(rule.references)
    if rule.author:
        out["author"] = [a.strip() for a in rule.author.split(",") if a.strip()]
    level = sigma_level(rule)
    if level:
        out["level"] = level
    return out


def sigma_level(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """The rule's Sigma level in lower case, or ``""`` without one."""
    return str(rule.level).lower() if rule.level is not None else ""


def _copy_tree(value: Any) -> Any:
    """A copy of a JSON-shaped tree (dicts and lists copied, scalars shared): what
    ``copy.deepcopy`` does for an event, without its memo (a tenth of the cost)."""
    kind = type(value)
    if kind is dict:
        return {k: _copy_tree(v) for k, v in value.items()}
    if kind is list:
        return [_copy_tree(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _copy_tree(v) for k, v in value.items()}
    return value


def build_alert(
    event: Mapping[str, Any],
    rule: SigmaRule | SigmaCorrelationRule,
    *,
    created: datetime | None = None,
    attack: AttackTable | None = None,
    ruleset: str = "sigma",
    event_ids: Sequence[str] | None = None,
) -> Event:
    """An alert for ``rule`` over ``event`` (for correlations: the last event, with
    ``event_ids`` listing every contributing event)."""
    alert: Event = _copy_tree(event)
    raw_event = alert.get("event")
    source_event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
    source_id = str(source_event.get("id", ""))
    ids = list(event_ids) if event_ids is not None else ([source_id] if source_id else [])
    rid = rule_id(rule)
    ev: dict[str, Any] = dict(source_event)
    ev["kind"] = KIND_ALERT
    ev["id"] = alert_id(rid, ids)
    level = sigma_level(rule)
    if level in SEVERITY:
        ev["severity"] = SEVERITY[level]
    if created is not None:
        ev["created"] = format_timestamp(created)
    alert["event"] = ev
    alert["rule"] = rule_fields(rule, ruleset)
    alert["alert"] = {"event_ids": ids}
    if isinstance(rule, SigmaCorrelationRule):
        alert["alert"]["correlation_type"] = str(rule.type.name.lower()) if rule.type else None
    tags = [f"{t.namespace}.{t.name}" for t in rule.tags]
    if tags:
        alert["tags"] = sorted({*alert.get("tags", []), *tags}) if isinstance(alert.get("tags"), list) else tags
    if attack is not None:
        threat = attack.threat(tags)
        if threat:
            alert["threat"] = threat
    return alert
