"""Run one action, by id: the plain, idempotent function behind the Celery task and the
in-process runner alike (one code path).

``execute`` claims the action under the store's optimistic version (``queued``, or
``running`` whose lease ran out because its worker died), re-checks every safeguard at the
moment of acting (never-block sets and CIDR width — which the blocking responders check once
more themselves — the block rate limit and dry-run), calls the step's handler, and records
the outcome with an audit entry naming the incident, the playbook and the step. A second
delivery of the same action finds it claimed or finished and does nothing; a delivery
after a crash mid-action re-runs the handler, whose responders are idempotent (an address
already in the set is ``already_done``), so the effect happens once.

``RetryableError`` puts the action back to ``queued`` with a back-off (``not_before``) and
is re-raised so a Celery task retries; every other :class:`~soc_core.errors.SocError` is
final (``failed``, or ``refused`` for a safeguard).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from playbooks.actions import ActionQueue, iso, lease_expired, lease_until, parse_iso, with_status
from playbooks.config import ResponseConfig
from playbooks.model import BLOCKING_TYPES
from playbooks.planner import blocks_in_window
from playbooks.steps import StepContext, run_step
from responders.safeguards import SafeguardRefused
from soc_core.audit import AuditLog
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Record, ResponseRequest, ResponseResult, Store
from soc_core.errors import NotFound, PermanentError, RetryableError, SocError

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECS = 60.0
MAX_BACKOFF_SECS = 600
MAX_ATTEMPTS = 10

class Executor:
    """Executes and reverts actions of one store (see the module docstring)."""

    def __init__(self, store: Store, config: ResponseConfig, clock: Clock | None = None,
                 actor: str = "soc", lease_secs: float = DEFAULT_LEASE_SECS) -> None:
        self.store = store
        self.config = config
        self.clock = clock or SystemClock()
        self.queue = ActionQueue.of(store)
        self.audit = AuditLog(store.records("audit"), self.clock)
        self.actor = actor
        self.lease_secs = lease_secs

    # -- audit ------------------------------------------------------------------------------

    def record_audit(self, action: Record, verb: str, **details: Any) -> None:
        self.audit.append(
            actor=f"playbook:{action.get('playbook_id')}" if self.actor == "soc" else self.actor,
            action=f"action.{verb}", target=f"action:{action['id']}",
            details={"incident": action.get("incident_id"), "playbook": action.get("playbook_id"),
                     "step": action.get("step_id"), "type": action.get("step_type"), "target": action.get("target"),
                     **details},
        )

    # -- execute ----------------------------------------------------------------------------

    def execute(self, action_id: str) -> str:
        """Run the action if it is runnable; returns its status afterwards."""
        now = self.clock.now()
        try:
            claimed = self.queue.update(action_id, lambda a: self._claim(a, now))
        except NotFound:
            log.warning("action %s does not exist", action_id)
            return "missing"
        if claimed is None or claimed["status"] != "running":
            return str(self.queue.get(action_id)["status"])
        self.record_audit(claimed, "run", attempt=claimed["attempts"])
        try:
            refusal = self._stateful_refusal(claimed, now)
            if refusal is not None:
                raise refusal
            # Dry-run as planned, or because the policy says so now (switched on after planning).
            dry_run = bool(claimed.get("dry_run")) or self.config.policy.dry_run
            result = run_step(self._context(), claimed, dry_run=dry_run)
        except SafeguardRefused as exc:
            return self._finish(claimed, "refused", str(exc),
                                refusals=[{"safeguard": exc.safeguard, "reason": exc.reason}])
        except RetryableError as exc:
            backoff = min(MAX_BACKOFF_SECS, 2 ** int(claimed["attempts"]))
            self._finish(claimed, "queued", f"retryable: {exc}", error=str(exc),
                         not_before=iso(self.clock.now() + timedelta(seconds=backoff)), lease_until=None)
            raise
        except SocError as exc:
            return self._finish(claimed, "failed", str(exc), error=str(exc))
        status = "dry_run" if result.status == "dry_run" else "done"
        extra: dict[str, Any] = {"result": {"status": result.status, "detail": result.detail}}
        if status == "done" and claimed.get("step_type") in BLOCKING_TYPES:
            duration = int(claimed["params"].get("duration_secs", self.config.policy.default_block_secs))
            extra["expires_at"] = iso(parse_iso(str(claimed["started"])) + timedelta(seconds=duration))
        return self._finish(claimed, status, result.detail, **extra)

    def _claim(self, action: Record, now: datetime) -> Record | None:
        status = action.get("status")
        if status == "running" and not lease_expired(action, now):
            return None  # another worker holds it
        if status not in ("queued", "running"):
            return None  # finished, waiting for approval, or refused: nothing to do
        if action.get("gate") and not self._gate_open(str(action["gate"])):
            return None
        if int(action.get("attempts", 0)) >= MAX_ATTEMPTS:
            # A bug (not one of our errors) left it running again and again: stop retaking it.
            return with_status(action, "failed", now, f"gave up after {MAX_ATTEMPTS} attempts", lease_until=None)
        note = "retaken after an expired lease" if status == "running" else "claimed"
        return with_status(action, "running", now, note, attempts=int(action.get("attempts", 0)) + 1,
                           lease_until=lease_until(now, self.lease_secs), started=iso(now))

    def _gate_open(self, gate_id: str) -> bool:
        gate = self.queue.get_or_none(gate_id)
        return gate is not None and gate.get("status") == "done"

    def _stateful_refusal(self, action: Record, now: datetime) -> SafeguardRefused | None:
        if action.get("step_type") not in BLOCKING_TYPES:
            return None
        policy = self.config.policy
        refusals = policy.block_refusals(str(action["target"]))
        if refusals:
            return refusals[0].error()
        others = (a for a in self.queue.started() if a["id"] != action["id"])
        rate = policy.rate_refusal(blocks_in_window(others, policy, now))
        return rate.error() if rate else None

    def _finish(self, action: Record, status: str, note: str, **fields: Any) -> str:
        now = self.clock.now()
        # The claim is ours: only a change from the same attempt may finish it.
        def change(current: Record) -> Record | None:
            if current.get("status") != "running" or current.get("attempts") != action.get("attempts"):
                return None
            return with_status(current, status, now, note, finished=iso(now), **fields)
        stored = self.queue.update(str(action["id"]), change)
        if stored is not None:
            self.record_audit(stored, status if status != "queued" else "retry", detail=note[:500])
        return status

    # -- approval -----------------------------------------------------------------------------

    def approve(self, action_id: str, who: str) -> Record:
        """An analyst approves: a gate opens (done), an action becomes runnable (queued)."""
        now = self.clock.now()

        def change(a: Record) -> Record | None:
            if a.get("status") != "awaiting_approval":
                raise PermanentError(f"{action_id} is {a.get('status')}, not awaiting approval")
            if a.get("step_type") == "wait_for_approval":
                return with_status(a, "done", now, f"approved by {who}", approved_by=who,
                                   result={"status": "done", "detail": f"approved by {who}"})
            gated = a.get("gate") and not self._gate_open(str(a["gate"]))
            return with_status(a, "waiting" if gated else "queued", now, f"approved by {who}", approved_by=who)
        stored = self.queue.update(action_id, change)
        assert stored is not None  # change never declines: it raises
        self.record_audit(stored, "approve", by=who)
        return stored

    def reject(self, action_id: str, who: str, reason: str = "") -> Record:
        now = self.clock.now()

        def change(a: Record) -> Record | None:
            if a.get("status") not in ("awaiting_approval", "waiting", "queued"):
                raise PermanentError(f"{action_id} is {a.get('status')}: only pending actions can be rejected")
            return with_status(a, "rejected", now, f"rejected by {who}: {reason}", rejected_by=who)
        stored = self.queue.update(action_id, change)
        assert stored is not None
        self.record_audit(stored, "reject", by=who, reason=reason)
        return stored

    # -- revert -----------------------------------------------------------------------------

    def revert(self, action_id: str, who: str = "soc", reason: str = "requested") -> str:
        """Undo a done block (expiry, an analyst, a revert step); idempotent."""
        action = self.queue.get(action_id)
        if action.get("status") != "done":
            return str(action.get("status"))
        if action.get("step_type") not in BLOCKING_TYPES:
            raise PermanentError(f"{action_id}: a {action.get('step_type')} step cannot be reverted")
        responder = self.config.responder(str(action.get("responder") or "nftables"))
        request = ResponseRequest(str(action["id"]), "ip", str(action["target"]), action.get("params", {}))
        result: ResponseResult = responder.revert(request)
        now = self.clock.now()
        stored = self.queue.update(action_id, lambda a: with_status(
            a, "reverted", now, f"{reason}: {result.detail}", reverted_at=iso(now), reverted_by=who)
            if a.get("status") == "done" else None)
        if stored is not None:
            self.record_audit(stored, "expire" if reason == "expired" else "revert", by=who, detail=result.detail)
        return "reverted"

    def _context(self) -> StepContext:
        return StepContext(store=self.store, config=self.config, clock=self.clock, queue=self.queue,
                           revert=self.revert)
