"""What each step type does when its action runs (called only by :mod:`playbooks.executor`).

- ``block_ip``/``isolate_host``: the configured blocking responder (nftables by default) on
  the target address; isolating a host blocks all of its traffic at the SOC's firewall.
- ``notify``: the e-mail or webhook responder with a bilingual summary of the incident.
- ``enrich``: counts of stored events about the entity (by dataset, action and port).
- ``scan_yara``: the project's YARA rules over the step's paths; matches are stored as alerts.
- ``report_authority``: a pending report task (``report_tasks`` records) that the reporting
  feature of a later issue picks up; created once per incident and authority.
- ``revert``: reverts an earlier done block of the same incident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from playbooks.actions import ActionQueue, iso, parse_iso
from playbooks.config import ResponseConfig
from soc_core.clock import Clock
from soc_core.contracts import Record, ResponseRequest, ResponseResult, Store, TimeRange
from soc_core.errors import NotFound, PermanentError, VersionConflict
from soc_core.query import Term

DEFAULT_LOOKBACK_SECS = 86400


@dataclass(frozen=True)
class StepContext:
    store: Store
    config: ResponseConfig
    clock: Clock
    queue: ActionQueue
    revert: Callable[..., str]


def run_step(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    handler = _HANDLERS.get(str(action.get("step_type")))
    if handler is None:
        raise PermanentError(f"unknown step type {action.get('step_type')!r}")
    return handler(ctx, action, dry_run)


def _request(action: Record, observable: str, value: str, dry_run: bool, **params: Any) -> ResponseRequest:
    return ResponseRequest(str(action["id"]), observable, value, {**action.get("params", {}), **params}, dry_run)


def _block(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    responder = ctx.config.responder(str(action.get("responder") or "nftables"))
    result: ResponseResult = responder.run(_request(action, "ip", str(action["target"]), dry_run))
    return result


def _incident(ctx: StepContext, incident_id: str) -> Mapping[str, Any]:
    try:
        return ctx.store.records("incidents").get(incident_id)
    except NotFound:
        return {"id": incident_id}


def incident_summary(incident: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of a notification, Vietnamese first, then English."""
    sev = incident.get("severity", "?")
    title = incident.get("title", incident.get("id"))
    subject = f"[SOC] Sự cố / Incident {incident.get('id')} ({sev}): {title}"
    entities = incident.get("entities") or {}
    lines = [
        f"Sự cố / Incident: {incident.get('id')} — {title}",
        f"Mức độ / Severity: {sev}   Trạng thái / Status: {incident.get('status', '?')}",
        f"Chiến thuật ATT&CK / ATT&CK tactics: {', '.join(incident.get('tactics') or []) or '-'}",
        f"Lần đầu / First seen: {incident.get('first_seen', '?')}",
        f"Lần cuối / Last seen: {incident.get('last_seen', '?')}",
        f"Số cảnh báo / Alerts: {len(incident.get('alert_ids') or [])}",
    ]
    lines += [f"{name}: {', '.join(map(str, values))}" for name, values in sorted(entities.items()) if values]
    return subject, "\n".join(lines) + "\n"


def _notify(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    incident = _incident(ctx, str(action["incident_id"]))
    subject, text = incident_summary(incident)
    responder = ctx.config.responder(str(action["responder"]))
    to = action.get("params", {}).get("to")
    result: ResponseResult = responder.run(_request(action, "incident", str(action["incident_id"]), dry_run,
                                                    subject=subject, text=text, to=to, incident=dict(incident)))
    return result


def _enrich(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    incident = _incident(ctx, str(action["incident_id"]))
    entity = str(action.get("params", {}).get("entity", "source.ip"))
    lookback = int(action.get("params", {}).get("lookback_secs", DEFAULT_LOOKBACK_SECS))
    end = parse_iso(str(incident["last_seen"])) + timedelta(seconds=1) if incident.get("last_seen") \
        else ctx.clock.now()
    window = TimeRange(end - timedelta(seconds=lookback), end)
    query = Term(entity, str(action["target"]))
    count = ctx.store.count("events", query, window)
    facts = {"events": count}
    for field in ("event.dataset", "event.action", "destination.port", "user.name"):
        buckets = ctx.store.terms("events", query, field, size=5, time_range=window)
        facts[field] = ", ".join(f"{b.key}={b.count}" for b in buckets) or "-"  # type: ignore[assignment]
    detail = f"{entity}:{action['target']} in the {lookback}s before {iso(end)}: " + \
        "; ".join(f"{k} {v}" for k, v in facts.items())
    return ResponseResult("done", detail)


def _scan(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    from rules.yara.scanner import YaraScanner, compile_rules  # YARA is loaded only for a scan step

    path = Path(str(action["target"]))
    if not path.exists():
        return ResponseResult("skipped", f"{path} does not exist")
    if dry_run:
        return ResponseResult("dry_run", f"would scan {path} with the project's YARA rules")
    scanner = YaraScanner(compile_rules(()))
    alerts = list(scanner.scan_paths([path]))
    for alert in alerts:
        alert.setdefault("labels", {})["incident_id"] = action["incident_id"]
    result = ctx.store.write(alerts) if alerts else None
    stored = result.written if result else 0
    return ResponseResult("done", f"scanned {scanner.stats.scanned} files under {path}: {len(alerts)} matches, "
                                  f"{stored} new alerts stored")


def _report(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    authority = str(action["target"])
    task_id = "RPT-" + hashlib.blake2b(f"{action['incident_id']}\x1f{authority}".encode(), digest_size=8).hexdigest()
    if dry_run:
        return ResponseResult("dry_run", f"would open report task {task_id} for {authority}")
    task: Record = {"id": task_id, "incident_id": action["incident_id"], "authority": authority,
                    "status": "pending", "created": iso(ctx.clock.now()), "action_id": action["id"]}
    try:
        ctx.store.records("report_tasks").put(task, expected_version=None)
    except VersionConflict:
        return ResponseResult("already_done", f"report task {task_id} for {authority} already open")
    return ResponseResult("done", f"report task {task_id} for {authority} opened (pending)")


def _gate(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    return ResponseResult("done", "approved")


def _revert(ctx: StepContext, action: Record, dry_run: bool) -> ResponseResult:
    target = str(action["target"])
    if dry_run:
        return ResponseResult("dry_run", f"would revert {target}")
    status = ctx.revert(target, who=f"playbook:{action['playbook_id']}", reason=f"step {action['step_id']}")
    return ResponseResult("done", f"{target} {status}")


_HANDLERS: dict[str, Callable[[StepContext, Record, bool], ResponseResult]] = {
    "block_ip": _block, "isolate_host": _block, "notify": _notify, "enrich": _enrich, "scan_yara": _scan,
    "report_authority": _report, "wait_for_approval": _gate, "revert": _revert,
}
