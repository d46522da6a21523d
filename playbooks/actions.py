"""The durable action queue: one record per planned action in the store (kind ``actions``).

An action is one step of one playbook on one target of one incident. Its id is derived from
those four, so planning the same incident again (it changed, the process restarted, two
workers raced) creates nothing twice: creation is create-only and a conflict means "already
planned". Every change goes through :meth:`ActionQueue.update`, a read-modify-write with
the store's optimistic version, retried a bounded number of times, so two workers never
both claim one action. Everything the runner needs to resume after a restart (what is
queued, what waits for approval, what must be reverted when) is in these records.

Lifecycle::

    awaiting_approval ──approve──► queued ──► running ──► done ──(expiry/revert)──► reverted
          │  └──reject──► rejected        │         └──► failed | refused | dry_run
          └──deadline──► timed_out        └── waiting (behind a wait_for_approval gate) ──► queued
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from soc_core.contracts import Record, RecordRepository, Store
from soc_core.errors import NotFound, VersionConflict

KIND = "actions"
TERMINAL = frozenset({"refused", "failed", "rejected", "timed_out", "reverted", "skipped", "dry_run"})
# "done" is not terminal: a done block still has to be reverted when it expires.
STATUSES = ("awaiting_approval", "waiting", "queued", "running", "done", *sorted(TERMINAL))
_UPDATE_ATTEMPTS = 20
_PAGE = 500


def action_id(incident_id: str, playbook_id: str, step_id: str, target: str) -> str:
    """Deterministic id: the idempotency key of the action everywhere (tasks, responders)."""
    digest = hashlib.blake2b(f"{incident_id}\x1f{playbook_id}\x1f{step_id}\x1f{target}".encode(), digest_size=8)
    return "ACT-" + digest.hexdigest()


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ActionQueue:
    """The action records of one store (see the module docstring)."""

    def __init__(self, repo: RecordRepository) -> None:
        self.repo = repo

    @classmethod
    def of(cls, store: Store) -> ActionQueue:
        """The action queue of a store (its records of kind ``actions``)."""
        return cls(store.records(KIND))

    def create(self, action: Record) -> bool:
        """Store a new action; False when an action with that id already exists."""
        try:
            self.repo.put(action, expected_version=None)
        except VersionConflict:
            return False
        return True

    def get(self, action_id_: str) -> Record:
        return self.repo.get(action_id_)

    def get_or_none(self, action_id_: str) -> Record | None:
        try:
            return self.repo.get(action_id_)
        except NotFound:
            return None

    def all(self) -> Iterator[Record]:
        """Every action, most recently changed first (paged; bounded by the store's size)."""
        offset = 0
        while True:
            page = self.repo.list(limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def update(self, action_id_: str, change: Callable[[Record], Record | None]) -> Record | None:
        """Apply ``change`` to a fresh copy and store it under the optimistic version.

        ``change`` returns the new record, or None to leave the action alone (then this
        returns None). A lost race re-reads and re-decides, a bounded number of times."""
        for _ in range(_UPDATE_ATTEMPTS):
            current = self.repo.get(action_id_)
            new = change(dict(current))
            if new is None:
                return None
            try:
                return self.repo.put(new, expected_version=int(current["version"]))
            except VersionConflict:
                continue
        raise VersionConflict(action_id_, -1, -1)

    def where(self, filters: Mapping[str, str]) -> Iterator[Record]:
        """Actions whose fields hold these values (the store filters; paged)."""
        offset = 0
        while True:
            page = self.repo.find(filters, limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def for_incident(self, incident_id: str) -> list[Record]:
        return list(self.where({"incident_id": incident_id}))

    def started(self) -> list[Record]:
        """Actions that ran or run (what the block rate limit counts from)."""
        return [a for status in ("running", "done", "reverted") for a in self.where({"status": status})]


def with_status(action: Record, status: str, at: datetime, note: str = "", **fields: Any) -> Record:
    """A copy moved to ``status``, with a history line (the timeline of the action)."""
    history = [*action.get("history", []), {"ts": iso(at), "status": status, "note": note}]
    return {**action, **fields, "status": status, "updated": iso(at), "history": history}


def lease_expired(action: Record, now: datetime) -> bool:
    """A running action whose worker stopped renewing it (killed, crashed) may be retaken."""
    lease = action.get("lease_until")
    return lease is None or parse_iso(str(lease)) <= now


def lease_until(now: datetime, secs: float) -> str:
    return iso(now + timedelta(seconds=secs))
