"""The playbook model: a trigger that says which incidents a playbook answers, and steps.

Immutable values built by :mod:`playbooks.loader` from YAML validated against the published
JSON Schema (``playbooks/schema/playbook.schema.json``). Matching reads the incident record
of the incidents package (rule ids, tags, ATT&CK tactics, severity, entities, status).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
STEP_TYPES: tuple[str, ...] = ("enrich", "notify", "block_ip", "isolate_host", "scan_yara", "wait_for_approval",
                               "report_authority", "revert")
# Step types that act on the network or on a host: they get safeguards and, for isolation,
# an analyst's approval (SafeguardPolicy.approval_required).
BLOCKING_TYPES: frozenset[str] = frozenset({"block_ip", "isolate_host"})
# The incident entity each step type aims at unless the playbook names another one.
DEFAULT_ENTITY: dict[str, str] = {"block_ip": "source.ip", "isolate_host": "destination.ip", "enrich": "source.ip"}
# Incident-change kinds a trigger listens to unless it says otherwise.
DEFAULT_ON: tuple[str, ...] = ("created", "updated")


def severity_rank(value: Any) -> int:
    """0 for low .. 3 for critical; -1 for anything else."""
    return SEVERITIES.index(value) if value in SEVERITIES else -1


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


@dataclass(frozen=True, slots=True)
class Trigger:
    """Which incidents a playbook answers: every criterion given must hold (AND); within one
    list any value matches (OR)."""

    changes: tuple[str, ...] = DEFAULT_ON
    rule_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    min_severity: str | None = None
    incident: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def matches(self, incident: Mapping[str, Any], change: str) -> bool:
        if change not in self.changes:
            return False
        if self.rule_ids and not set(self.rule_ids) & set(_as_list(incident.get("rule_ids"))):
            return False
        if self.tags and not _tags_match(self.tags, _as_list(incident.get("tags"))):
            return False
        if self.tactics and not set(self.tactics) & set(_as_list(incident.get("tactics"))):
            return False
        if self.min_severity and severity_rank(incident.get("severity")) < severity_rank(self.min_severity):
            return False
        return all(set(wanted) & set(_as_list(_field(incident, name))) for name, wanted in self.incident.items())


@dataclass(frozen=True, slots=True)
class Condition:
    """A step's ``when``: every part given must hold."""

    min_severity: str | None = None
    min_alerts: int | None = None
    status_in: tuple[str, ...] = ()
    has_entity: str | None = None
    tactics_include: tuple[str, ...] = ()

    def failures(self, incident: Mapping[str, Any]) -> list[str]:
        """Why the condition does not hold (empty: it holds)."""
        out = []
        if self.min_severity and severity_rank(incident.get("severity")) < severity_rank(self.min_severity):
            out.append(f"severity {incident.get('severity')} below {self.min_severity}")
        if self.min_alerts and len(_as_list(incident.get("alert_ids"))) < self.min_alerts:
            out.append(f"fewer than {self.min_alerts} alerts")
        if self.status_in and incident.get("status") not in self.status_in:
            out.append(f"status {incident.get('status')} not in {list(self.status_in)}")
        if self.has_entity and not entity_values(incident, self.has_entity):
            out.append(f"no {self.has_entity} in the incident")
        missing = [t for t in self.tactics_include if t not in _as_list(incident.get("tactics"))]
        if missing:
            out.append(f"tactics {missing} not seen")
        return out


@dataclass(frozen=True, slots=True)
class Step:
    """One step; ``options`` holds the type-specific settings the schema allows."""

    id: str
    type: str
    name: str = ""
    when: Condition | None = None
    approval: bool = False
    timeout_secs: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    @property
    def entity(self) -> str:
        return str(self.options.get("entity", DEFAULT_ENTITY.get(self.type, "source.ip")))


@dataclass(frozen=True, slots=True)
class Playbook:
    id: str
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    name_vi: str = ""
    description: str = ""
    version: int = 1
    enabled: bool = True
    source: str = ""


def entity_values(incident: Mapping[str, Any], entity: str) -> list[str]:
    """The incident's values of one entity field (``entities`` of the incident record)."""
    entities = incident.get("entities") or {}
    return [str(v) for v in _as_list(entities.get(entity)) if v not in (None, "")]


def _tags_match(wanted: Sequence[str], present: Sequence[Any]) -> bool:
    """A wanted tag matches itself and its sub-tags: ``attack.t1110`` matches ``attack.t1110.001``."""
    have = {str(t).lower() for t in present}
    return any(w.lower() == h or h.startswith(w.lower() + ".") for w in wanted for h in have)


def _field(incident: Mapping[str, Any], name: str) -> Any:
    if name.startswith("entities."):
        return entity_values(incident, name[len("entities."):])
    return incident.get(name)


def build_playbook(data: Mapping[str, Any], source: str, lines: Mapping[int, int]) -> Playbook:
    """A playbook from a schema-valid mapping; ``lines`` maps step index to its YAML line."""
    trig = data["trigger"]
    trigger = Trigger(
        changes=tuple(trig.get("changes", DEFAULT_ON)),
        rule_ids=tuple(trig.get("rule_ids", ())), tags=tuple(trig.get("tags", ())),
        tactics=tuple(trig.get("tactics", ())), min_severity=trig.get("min_severity"),
        incident={k: tuple(_as_list(v)) for k, v in (trig.get("incident") or {}).items()},
    )
    steps = tuple(_build_step(raw, lines.get(i, 0)) for i, raw in enumerate(data["steps"]))
    return Playbook(
        id=data["id"], name=data["name"], name_vi=data.get("name_vi", ""), description=data.get("description", ""),
        version=int(data.get("version", 1)), enabled=bool(data.get("enabled", True)), trigger=trigger,
        steps=steps, source=source,
    )


_COMMON = {"id", "type", "name", "when", "approval", "timeout_secs"}


def _build_step(raw: Mapping[str, Any], line: int) -> Step:
    when = raw.get("when")
    condition = None
    if when:
        condition = Condition(
            min_severity=when.get("min_severity"), min_alerts=when.get("min_alerts"),
            status_in=tuple(when.get("status_in", ())), has_entity=when.get("has_entity"),
            tactics_include=tuple(when.get("tactics_include", ())),
        )
    return Step(
        id=raw["id"], type=raw["type"], name=raw.get("name", ""), when=condition,
        approval=bool(raw.get("approval", False)), timeout_secs=raw.get("timeout_secs"),
        options={k: v for k, v in raw.items() if k not in _COMMON}, line=line,
    )

