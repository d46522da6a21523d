"""``soc playbooks``: ``check`` validates playbook files against the published schema (file
and line for every error); ``simulate`` prints, doing nothing, what the matching playbooks
would do for one stored incident: each step, its target, and the safeguard that would
refuse it."""

from __future__ import annotations

import json
import sys

import click

from playbooks.actions import ActionQueue
from playbooks.config import ResponseConfig
from playbooks.loader import check_paths, load_playbooks
from playbooks.planner import PlannedAction, plan
from responders.safeguards import protected
from soc_api.commands._common import open_store_or_fail
from soc_core.clock import SystemClock
from soc_core.errors import ConfigError, NotFound


@click.group("playbooks")
def command() -> None:
    """Check playbooks and simulate them on an incident."""


@command.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def check(paths: tuple[str, ...]) -> None:
    """Validate playbook files or folders (every error, with file and line)."""
    playbooks, errors = check_paths(paths)
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(f"{len(playbooks)} playbook(s) valid, {len(errors)} error(s) / "
               f"{len(playbooks)} kịch bản hợp lệ, {len(errors)} lỗi")
    if errors:
        sys.exit(1)


def _line(action: PlannedAction, config: ResponseConfig) -> str:
    step, rec = action.step, action.record
    what = f"{step.type}" + (f" via {rec['responder']}" if rec.get("responder") else "")
    head = f"  [{step.id}] {what} -> {action.target}"
    if action.skipped:
        return f"{head}\n      SKIP / BỎ QUA: {'; '.join(action.skipped)}"
    if action.refusals:
        return head + "".join(f"\n      REFUSED by safeguard {r.safeguard} / BỊ TỪ CHỐI bởi {r.safeguard}: {r.reason}"
                              for r in action.refusals)
    if rec.get("responder"):
        try:
            config.responder(str(rec["responder"]))
        except ConfigError as exc:
            return f"{head}\n      WOULD FAIL, NOT CONFIGURED / SẼ LỖI, CHƯA CẤU HÌNH: {exc}"
    status = rec["status"]
    if status == "awaiting_approval":
        verdict = "WAITS FOR APPROVAL / CHỜ PHÊ DUYỆT"
    elif status == "waiting":
        verdict = "RUNS AFTER THE APPROVAL GATE / CHẠY SAU KHI ĐƯỢC DUYỆT"
    else:
        verdict = "WOULD RUN / SẼ THỰC HIỆN"
    extra = f" for {rec['params']['duration_secs']}s" if "duration_secs" in rec.get("params", {}) else ""
    dry = " (dry-run)" if rec.get("dry_run") else ""
    return f"{head}\n      {verdict}{extra}{dry}"


@command.command("simulate")
@click.option("--store", "store_url", required=True, help="Store URL (sqlite:///file.db or http(s)://host:port).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Response configuration (safeguards, responders, playbook folders).")
@click.option("--playbooks", "extra", multiple=True, type=click.Path(exists=True),
              help="Extra playbook file or folder (repeatable).")
@click.option("--never-block", "never_block", multiple=True,
              help="An address or network to add to the never-block set (repeatable).")
@click.option("--change", default="created", show_default=True,
              help="The incident change to simulate (created, updated, status...).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.argument("incident_id")
def simulate(store_url: str, config_path: str | None, extra: tuple[str, ...], never_block: tuple[str, ...],
             change: str, as_json: bool, incident_id: str) -> None:
    """Print what the matching playbooks would do for INCIDENT_ID, doing nothing."""
    try:
        config = ResponseConfig.from_file(config_path)
        policy = config.policy.with_never_block(protected(never_block, "protected_assets", "--never-block"))
        playbooks = config.playbooks()
        if extra:
            playbooks += load_playbooks(extra, include_builtin=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store_or_fail(store_url)
    try:
        try:
            incident = store.records("incidents").get(incident_id)
        except NotFound:
            raise click.ClickException(f"incident {incident_id} not found / không tìm thấy sự cố") from None
        queue = ActionQueue.of(store)
        result = plan(incident, change, playbooks, policy, queue.for_incident(incident_id), queue.started(),
                      SystemClock().now())
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"incident": incident_id, "playbooks": [p.id for p in result.matched], "steps": [
            {"playbook": a.playbook.id, "step": a.step.id, "type": a.step.type, "target": a.target,
             "status": a.record["status"], "skipped": list(a.skipped),
             "refusals": [{"safeguard": r.safeguard, "reason": r.reason} for r in a.refusals]}
            for a in result.actions]}, ensure_ascii=False, indent=2))
        return
    click.echo(f"Mô phỏng / Simulation — sự cố / incident {incident_id} "
               f"({incident.get('severity', '?')}, {incident.get('status', '?')}); "
               "không thực hiện gì / nothing is done")
    if not result.matched:
        click.echo("No playbook matches / Không có kịch bản phù hợp")
    for playbook in result.matched:
        click.echo(f"\nPlaybook / Kịch bản: {playbook.id} — {playbook.name_vi or playbook.name} / {playbook.name}")
        for action in (a for a in result.actions if a.playbook is playbook):
            click.echo(_line(action, config))

