"""Planning: which playbooks answer an incident, and the actions their steps make.

The same plan serves ``soc playbooks simulate`` (printed, nothing stored or done) and the
runner (stored as action records). For every planned action the plan says which
safeguards would refuse it *now*: the stateless ones (never-block sets, CIDR width) and the
block rate limit counted from the actions already done within the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from playbooks.actions import action_id, iso, parse_iso, with_status
from playbooks.model import BLOCKING_TYPES, Playbook, Step, entity_values
from responders.safeguards import Refusal, SafeguardPolicy
from soc_core.contracts import Record

DEFAULT_RESPONDER = {"block_ip": "nftables", "isolate_host": "nftables"}


@dataclass(frozen=True)
class PlannedAction:
    """One action a step would create, and what would stop it."""

    playbook: Playbook
    step: Step
    target: str
    record: Record
    refusals: tuple[Refusal, ...] = ()
    skipped: tuple[str, ...] = ()  # the step's condition does not hold (why)

    @property
    def initial_status(self) -> str:
        return str(self.record["status"])


@dataclass
class Plan:
    incident_id: str
    matched: list[Playbook] = field(default_factory=list)
    actions: list[PlannedAction] = field(default_factory=list)


def matching_playbooks(incident: Mapping[str, Any], change: str, playbooks: Iterable[Playbook]) -> list[Playbook]:
    return [p for p in playbooks if p.enabled and p.trigger.matches(incident, change)]


def blocks_in_window(actions: Iterable[Record], policy: SafeguardPolicy, now: datetime) -> int:
    """Blocks that ran within the rate-limit window (the rate limit's count)."""
    since = now - timedelta(seconds=policy.rate_window_secs)
    return sum(
        1 for a in actions
        if a.get("step_type") in BLOCKING_TYPES and a.get("started") and parse_iso(str(a["started"])) >= since
        and a.get("status") in ("done", "reverted", "running")
    )


def _targets(step: Step, incident: Mapping[str, Any], existing: Sequence[Record]) -> list[str]:
    if step.type in BLOCKING_TYPES or step.type == "enrich":
        return entity_values(incident, step.entity)
    if step.type == "revert":
        return [str(a["id"]) for a in existing if a.get("step_id") == step.options["step"]
                and a.get("status") == "done"]
    if step.type == "scan_yara":
        return [str(p) for p in step.options["paths"]]
    if step.type == "notify":
        return [str(step.options.get("to", step.options["responder"]))]
    if step.type == "report_authority":
        return [str(step.options.get("authority", "national-center"))]
    return [str(incident["id"])]  # wait_for_approval: one gate per incident


def plan(incident: Mapping[str, Any], change: str, playbooks: Iterable[Playbook], policy: SafeguardPolicy,
         existing: Sequence[Record], started: Iterable[Record], now: datetime, dry_run: bool = False) -> Plan:
    """The actions the matching playbooks would create for this incident change.

    ``existing`` are this incident's stored actions (a revert step looks for its done blocks
    there); ``started`` the actions that ran anywhere (the block rate limit counts them)."""
    incident_id = str(incident["id"])
    result = Plan(incident_id, matching_playbooks(incident, change, playbooks))
    recent_blocks = blocks_in_window(started, policy, now)
    for playbook in result.matched:
        gate: str | None = None
        for step in playbook.steps:
            skipped = tuple(step.when.failures(incident)) if step.when else ()
            for target in _targets(step, incident, existing):
                refusals: list[Refusal] = []
                if step.type in BLOCKING_TYPES:
                    refusals = policy.block_refusals(target)
                    rate = policy.rate_refusal(recent_blocks)
                    if rate:
                        refusals.append(rate)
                    recent_blocks += 0 if (refusals or skipped) else 1
                record = _record(incident_id, playbook, step, target, policy, gate, now, dry_run)
                if refusals and not skipped:
                    record = with_status(record, "refused", now, "; ".join(r.reason for r in refusals),
                                         refusals=[{"safeguard": r.safeguard, "reason": r.reason} for r in refusals])
                result.actions.append(PlannedAction(playbook, step, target, record, tuple(refusals), skipped))
                if step.type == "wait_for_approval" and not skipped:
                    gate = str(record["id"])
    return result


def _record(incident_id: str, playbook: Playbook, step: Step, target: str, policy: SafeguardPolicy,
            gate: str | None, now: datetime, dry_run: bool) -> Record:
    needs_approval = step.type == "wait_for_approval" or policy.needs_approval(step.type, step.approval)
    status = "awaiting_approval" if needs_approval else ("waiting" if gate else "queued")
    params: dict[str, Any] = {k: v for k, v in step.options.items() if k not in ("responder", "entity")}
    if step.type in BLOCKING_TYPES:
        params["duration_secs"] = policy.block_duration(step.options.get("duration_secs"))
    deadline = iso(now + timedelta(seconds=step.timeout_secs)) if needs_approval and step.timeout_secs else None
    record: Record = {
        "id": action_id(incident_id, playbook.id, step.id, target),
        "incident_id": incident_id, "playbook_id": playbook.id, "playbook_version": playbook.version,
        "step_id": step.id, "step_type": step.type, "step_name": step.name,
        "responder": step.options.get("responder", DEFAULT_RESPONDER.get(step.type)),
        "target": target, "params": params, "gate": gate,
        "needs_approval": needs_approval, "approval_deadline": deadline, "dry_run": dry_run or policy.dry_run,
        "created": iso(now), "attempts": 0, "history": [],
    }
    return with_status(record, status, now, "planned")
