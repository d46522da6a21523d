"""Playbooks on incidents, and the loop that moves the durable action queue forward.

:class:`PlaybookObserver` is the incident service's observer: when an incident is created or
changes it plans the matching playbooks' actions and stores them (create-only, so replays
add nothing), then hands the runnable ones to its dispatcher. :class:`ActionRunner.sweep`
is the loop's body, run by ``soc run``/``soc actions run`` in-process and by every
``soc worker``: it re-dispatches queued actions (also those a dead worker left running),
releases actions waiting behind an approved gate, times out unanswered approvals and reverts
blocks whose time is up. All its state is in the action records, so a restart loses nothing.

Two dispatchers, one code path: :class:`InProcessDispatcher` calls the executor directly;
:class:`playbooks.tasks.CeleryDispatcher` sends the same action id to a Celery task that
calls the same executor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from playbooks.actions import ActionQueue, iso, lease_expired, parse_iso, with_status
from playbooks.config import ResponseConfig
from playbooks.executor import Executor
from playbooks.model import BLOCKING_TYPES, Playbook
from playbooks.planner import plan
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Record, Store
from soc_core.errors import RetryableError, SocError

log = logging.getLogger(__name__)

DEFAULT_REDISPATCH_SECS = 60.0


class Dispatcher(Protocol):
    """Where runnable actions go: this process, or Celery workers."""

    def execute(self, action_id: str) -> None: ...

    def revert(self, action_id: str) -> None: ...


class InProcessDispatcher:
    """Runs actions in this process, from the durable queue (the embedded mode)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def execute(self, action_id: str) -> None:
        try:
            self.executor.execute(action_id)
        except RetryableError as exc:
            # Already stored as queued with a back-off: the next sweep after it retries.
            log.info("action %s will be retried: %s", action_id, exc)

    def revert(self, action_id: str) -> None:
        self.executor.revert(action_id, reason="expired")


@dataclass
class SweepCounts:
    dispatched: int = 0
    released: int = 0
    timed_out: int = 0
    reverted: int = 0


class ActionRunner:
    """Moves the action queue of one store forward (see the module docstring)."""

    def __init__(self, store: Store, dispatcher: Dispatcher | None, clock: Clock | None = None,
                 redispatch_secs: float = DEFAULT_REDISPATCH_SECS) -> None:
        self.queue = ActionQueue.of(store)
        self.dispatcher = dispatcher
        self.clock = clock or SystemClock()
        self.redispatch_secs = redispatch_secs

    def sweep(self, now: datetime | None = None) -> SweepCounts:
        now = now or self.clock.now()
        counts = SweepCounts()
        actions = list(self.queue.all())
        by_id = {a["id"]: a for a in actions}
        for action in actions:
            status = action.get("status")
            if status == "awaiting_approval" and _past(action.get("approval_deadline"), now):
                if self._move(action, "timed_out", now, "no approval before the deadline"):
                    counts.timed_out += 1
            elif status == "waiting":
                gate = by_id.get(action.get("gate"))
                if gate is not None and gate.get("status") == "done":
                    counts.released += self._move(action, "queued", now, "gate approved")
                    self.dispatch(action["id"], now)
                elif gate is None or gate.get("status") in ("rejected", "timed_out", "failed", "refused"):
                    self._move(action, "skipped", now, "its approval gate was not approved")
            elif (status == "queued" or (status == "running" and lease_expired(action, now))) \
                    and self._due(action, now):
                counts.dispatched += self.dispatch(action["id"], now)
            elif status == "done" and action.get("step_type") in BLOCKING_TYPES \
                    and _past(action.get("expires_at"), now) and self._due(action, now, "revert_dispatched_at"):
                counts.reverted += self.dispatch(action["id"], now, revert=True)
        return counts

    def _due(self, action: Record, now: datetime, sent_key: str = "dispatched_at") -> bool:
        if not _past(action.get("not_before"), now, default=True):
            return False
        sent = action.get(sent_key)
        return sent is None or parse_iso(str(sent)) + timedelta(seconds=self.redispatch_secs) <= now

    def dispatch(self, action_id: str, now: datetime, revert: bool = False) -> int:
        """Send one action (to run, or to revert) to the dispatcher, remembering when, so a
        sweep does not resend it while a worker is busy with it; 0 when this runner only plans."""
        if self.dispatcher is None:
            return 0
        key = "revert_dispatched_at" if revert else "dispatched_at"
        self.queue.update(action_id, lambda a: {**a, key: iso(now)})
        if revert:
            self.dispatcher.revert(action_id)
        else:
            self.dispatcher.execute(action_id)
        return 1

    def _move(self, action: Record, status: str, now: datetime, note: str) -> int:
        before = action.get("status")
        stored = self.queue.update(str(action["id"]), lambda a: with_status(a, status, now, note)
                                   if a.get("status") == before else None)
        return 0 if stored is None else 1


class PlaybookObserver:
    """The incident service's observer (``IncidentObserver``): plans and dispatches."""

    def __init__(self, store: Store, config: ResponseConfig, dispatcher: Dispatcher | None,
                 clock: Clock | None = None, playbooks: list[Playbook] | None = None) -> None:
        self.store = store
        self.config = config
        self.clock = clock or SystemClock()
        self.playbooks = playbooks if playbooks is not None else config.playbooks()
        self.executor = Executor(store, config, self.clock)
        self.runner = ActionRunner(store, dispatcher, self.clock)

    def on_incident(self, incident: Record, change: str) -> None:
        try:
            self.plan_and_dispatch(incident, change)
        except SocError as exc:
            log.warning("playbooks on incident %s (%s): %s", incident.get("id"), change, exc)

    def plan_and_dispatch(self, incident: Mapping[str, Any], change: str) -> list[Record]:
        """Store the planned actions of this change and dispatch the runnable ones."""
        now = self.clock.now()
        queue = self.executor.queue
        existing = queue.for_incident(str(incident["id"]))
        known = {a["id"] for a in existing}
        result = plan(incident, change, self.playbooks, self.config.policy, existing, queue.started(), now)
        created: list[Record] = []
        for planned in result.actions:
            if planned.skipped or planned.record["id"] in known:
                continue
            if queue.create(planned.record):
                created.append(planned.record)
                self.executor.record_audit(planned.record, "create", status=planned.initial_status,
                                           refusals=planned.record.get("refusals", []))
        for playbook_id in sorted({str(r["playbook_id"]) for r in created}):
            self.executor.audit.append(
                actor=f"playbook:{playbook_id}", action="playbook.run", target=f"incident:{incident['id']}",
                details={"change": change, "actions": [r["id"] for r in created if r["playbook_id"] == playbook_id]})
        for record in created:
            if record["status"] == "queued":
                self.runner.dispatch(str(record["id"]), now)
        return created


def _past(value: Any, now: datetime, default: bool = False) -> bool:
    return default if not value else parse_iso(str(value)) <= now


def run_loop(runner: ActionRunner, stop: threading.Event, interval_secs: float) -> None:
    """Sweep until ``stop`` is set; a failing sweep is logged and the next one tries again."""
    while not stop.is_set():
        try:
            runner.sweep()
        except SocError as exc:
            log.warning("action sweep failed: %s", exc)
        stop.wait(interval_secs)
