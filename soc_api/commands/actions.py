"""``soc actions``: the durable action queue — list, approve, reject, revert, and ``run``
(the in-process runner: without a broker, actions run in this process from the queue)."""

from __future__ import annotations

import json
import threading

import click

from playbooks.actions import STATUSES, ActionQueue
from playbooks.config import ResponseConfig
from playbooks.executor import Executor
from playbooks.runner import ActionRunner, InProcessDispatcher, run_loop
from soc_api.commands._common import open_store_or_fail
from soc_core.errors import ConfigError, NotFound, SocError

store_option = click.option("--store", "store_url", required=True,
                            help="Store URL (sqlite:///file.db or http(s)://host:port).")
config_option = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                             help="Response configuration (safeguards, responders).")
by_option = click.option("--by", "who", required=True, help="Who decides (recorded in the audit trail).")


@click.group("actions")
def command() -> None:
    """List and decide on response actions."""


@command.command("list")
@store_option
@click.option("--status", type=click.Choice(STATUSES), help="Only actions in this status.")
@click.option("--incident", "incident_id", help="Only actions of this incident.")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
def list_actions(store_url: str, status: str | None, incident_id: str | None, as_json: bool) -> None:
    """List actions, most recently changed first."""
    store = open_store_or_fail(store_url)
    try:
        rows = [a for a in ActionQueue.of(store).all()
                if (status is None or a.get("status") == status)
                and (incident_id is None or a.get("incident_id") == incident_id)]
    finally:
        store.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"{'ACTION':20} {'STATUS / TRẠNG THÁI':20} {'INCIDENT':21} {'PLAYBOOK/STEP':38} TARGET")
    for a in rows:
        click.echo(f"{a['id']:20} {a['status']:20} {a['incident_id']:21} "
                   f"{a['playbook_id'] + '/' + a['step_id']:38} {a['target']}")
    click.echo(f"{len(rows)} action(s) / hành động")


def _decide(store_url: str, config_path: str | None, verb: str, action_id: str, who: str, reason: str = "") -> None:
    store = open_store_or_fail(store_url)
    try:
        executor = Executor(store, ResponseConfig.from_file(config_path), actor=f"user:{who}")
        if verb == "approve":
            record = executor.approve(action_id, who)
        elif verb == "reject":
            record = executor.reject(action_id, who, reason)
        else:
            executor.revert(action_id, who=who, reason=reason or "analyst")
            record = executor.queue.get(action_id)
    except NotFound:
        raise click.ClickException(f"action {action_id} not found / không tìm thấy hành động") from None
    except SocError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"{action_id}: {record['status']}")


@command.command("approve")
@store_option
@config_option
@by_option
@click.argument("action_id")
def approve(store_url: str, config_path: str | None, who: str, action_id: str) -> None:
    """Approve an action that waits for approval (a runner then executes it)."""
    _decide(store_url, config_path, "approve", action_id, who)


@command.command("reject")
@store_option
@config_option
@by_option
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
@click.argument("action_id")
def reject(store_url: str, config_path: str | None, who: str, reason: str, action_id: str) -> None:
    """Reject a pending action."""
    _decide(store_url, config_path, "reject", action_id, who, reason)


@command.command("revert")
@store_option
@config_option
@by_option
@click.option("--reason", default="analyst", help="Why (recorded in the audit trail).")
@click.argument("action_id")
def revert(store_url: str, config_path: str | None, who: str, reason: str, action_id: str) -> None:
    """Undo a done block now (unblock the address)."""
    _decide(store_url, config_path, "revert", action_id, who, reason)


@command.command("run")
@store_option
@config_option
@click.option("--once", is_flag=True, help="One sweep of the queue, then exit.")
@click.option("--interval-secs", default=5.0, show_default=True, type=float, help="Seconds between sweeps.")
def run(store_url: str, config_path: str | None, once: bool, interval_secs: float) -> None:
    """Run queued actions in this process (no broker), revert expired blocks; Ctrl-C stops."""
    store = open_store_or_fail(store_url)
    try:
        config = ResponseConfig.from_file(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runner = ActionRunner(store, InProcessDispatcher(Executor(store, config)))
    try:
        if once:
            counts = runner.sweep()
            click.echo(f"dispatched={counts.dispatched} released={counts.released} "
                       f"timed_out={counts.timed_out} reverted={counts.reverted}")
            return
        stop = threading.Event()
        try:
            run_loop(runner, stop, interval_secs)
        except KeyboardInterrupt:
            stop.set()
    finally:
        store.close()
