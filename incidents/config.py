"""Alert-handling configuration as data: suppression rules and per-rule severity overrides.

Both are records in the store, so every ``soc`` process and worker sees the same ones. Records are
never deleted: removing one marks it ``removed`` (who, when), which keeps the history readable next to
the audit trail, where every change is also appended.

- suppression (kind ``suppressions``): ``id`` (``SUP-`` + 12 hex), ``query`` (the analyst query
  language, checked when added), ``expires`` (UTC ISO or ``None`` for never), ``reason``, ``author``,
  ``created``, ``removed``.
- severity override (kind ``severity_overrides``): ``id`` = the rule id, ``level`` (a Sigma level),
  ``reason``, ``author``, ``created``, ``removed``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from soc_core.audit import AuditLog
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Record, Store
from soc_core.errors import ConfigError, NotFound
from soc_core.event import format_timestamp, parse_timestamp
from soc_core.query import parse_query

SUPPRESSION_KIND = "suppressions"
OVERRIDE_KIND = "severity_overrides"
AUDIT_KIND = "audit"

# The Sigma levels on ECS' 0-100 event.severity scale (the same as rules.alerts.SEVERITY).
LEVEL_SEVERITY: Final[Mapping[str, int]] = {
    "informational": 0, "low": 21, "medium": 47, "high": 73, "critical": 99,
}


def active(record: Mapping[str, Any], now: datetime) -> bool:
    """Not removed and not expired."""
    if record.get("removed"):
        return False
    expires = record.get("expires")
    return not expires or parse_timestamp(str(expires)) > now


def all_records(store: Store, kind: str, page: int = 500) -> list[Record]:
    """Every record of one kind, newest first, read page by page."""
    repo = store.records(kind)
    found: list[Record] = []
    while True:
        chunk = repo.list(limit=page, offset=len(found))
        found.extend(chunk)
        if len(chunk) < page:
            return found


class HandlingConfig:
    """Adds, lists and removes suppressions and overrides, auditing every change."""

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._audit = AuditLog(store.records(AUDIT_KIND), clock=self._clock)

    def _now(self) -> str:
        return format_timestamp(self._clock.now())

    def add_suppression(self, query: str, reason: str, author: str, expires: datetime | None) -> Record:
        """Store a new suppression; the query must parse and the reason and author be given."""
        parse_query(query)  # raises QuerySyntaxError with the column
        if not reason.strip() or not author.strip():
            raise ConfigError("a suppression needs a reason and an author")
        now = self._clock.now()
        if expires is not None and expires <= now:
            raise ConfigError(f"expiry {format_timestamp(expires)} is already past")
        digest = hashlib.blake2b(f"{query}\x00{author}\x00{now.isoformat()}".encode(), digest_size=6).hexdigest()
        record: Record = {
            "id": f"SUP-{digest}", "query": query, "reason": reason, "author": author,
            "expires": format_timestamp(expires) if expires else None, "created": self._now(), "removed": None,
        }
        stored = self._store.records(SUPPRESSION_KIND).put(record, None)
        self._audit.append(author, "suppression.add", f"suppression:{stored['id']}",
                           {"query": query, "reason": reason, "expires": record["expires"]})
        return stored

    def remove_suppression(self, suppression_id: str, author: str, reason: str = "") -> Record:
        return self._remove(SUPPRESSION_KIND, "suppression", suppression_id, author, reason)

    def set_override(self, rule_id: str, level: str, reason: str, author: str) -> Record:
        """Set (or replace) the severity of every alert of one rule."""
        if level not in LEVEL_SEVERITY:
            raise ConfigError(f"unknown level {level!r}: one of {', '.join(LEVEL_SEVERITY)}")
        if not reason.strip() or not author.strip():
            raise ConfigError("an override needs a reason and an author")
        repo = self._store.records(OVERRIDE_KIND)
        try:
            current: Record | None = repo.get(rule_id)
        except NotFound:
            current = None
        record: Record = {"id": rule_id, "level": level, "reason": reason, "author": author,
                          "created": self._now(), "removed": None}
        stored = repo.put(record, current["version"] if current else None)
        self._audit.append(author, "override.set", f"rule:{rule_id}",
                           {"level": level, "reason": reason,
                            "previous": None if current is None or current.get("removed") else current["level"]})
        return stored

    def remove_override(self, rule_id: str, author: str, reason: str = "") -> Record:
        return self._remove(OVERRIDE_KIND, "override", rule_id, author, reason)

    def _remove(self, kind: str, noun: str, record_id: str, author: str, reason: str) -> Record:
        repo = self._store.records(kind)
        current = repo.get(record_id)
        if current.get("removed"):
            raise ConfigError(f"{noun} {record_id} was already removed")
        changed = {**current, "removed": {"by": author, "at": self._now(), "reason": reason}}
        stored = repo.put(changed, current["version"])
        target = f"rule:{record_id}" if kind == OVERRIDE_KIND else f"{noun}:{record_id}"
        self._audit.append(author, f"{noun}.remove", target, {"reason": reason})
        return stored

    def list(self, kind: str, include_inactive: bool = False) -> list[Record]:
        """Records of one kind, newest first (active ones only unless asked)."""
        now = self._clock.now()
        records = all_records(self._store, kind)
        return [r for r in records if include_inactive or active(r, now)]
