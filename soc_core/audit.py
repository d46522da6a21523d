"""The hash-chained audit trail: every change to incidents, suppressions, playbooks and actions.

Entries live in a :class:`~soc_core.contracts.RecordRepository` (kind ``audit``) with sequential,
zero-padded ids. Each entry holds the SHA-256 of the previous entry (``prev_hash``) and its own
``hash`` over a canonical JSON form of everything else, so changing one byte of any entry, removing
one, or reordering them is found by :meth:`AuditLog.verify`, which names the first broken entry.

Appends are safe between processes without a lock: an entry is written with a create-only ``put``
(``expected_version=None``); if another writer took that sequence number first the put raises
:class:`~soc_core.errors.VersionConflict` and we re-read the chain head and try the next number.
A ``head`` record remembers the last sequence number so appends need not walk the whole chain; it is
only a hint for appending, and an anchor for ``verify`` to notice entries removed from the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Record, RecordRepository
from soc_core.errors import NotFound, StoreError, VersionConflict

AUDIT_KIND = "audit"
HEAD_ID = "head"
_ID_WIDTH = 12
# Each conflict means another writer appended an entry; this many in a row is not contention but a fault.
_MAX_ATTEMPTS = 1000
_HASHED_FIELDS = ("seq", "ts", "actor", "action", "target", "details", "prev_hash")


@dataclass(frozen=True, slots=True)
class BrokenEntry:
    """The first entry where the chain does not hold, and why."""

    seq: int
    id: str
    reason: str


def entry_id(seq: int) -> str:
    """The record id of entry ``seq`` (1-based): zero-padded so ids sort in chain order."""
    return f"{seq:0{_ID_WIDTH}d}"


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's chained fields."""
    body = {name: entry.get(name) for name in _HASHED_FIELDS}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class AuditLog:
    """Append-only, hash-chained log over a record repository."""

    def __init__(self, repo: RecordRepository, clock: Clock | None = None) -> None:
        self._repo = repo
        self._clock = clock or SystemClock()

    def _get(self, seq: int) -> Record | None:
        try:
            return self._repo.get(entry_id(seq))
        except NotFound:
            return None

    def _head_hint(self) -> tuple[int, int | None]:
        try:
            head = self._repo.get(HEAD_ID)
        except NotFound:
            return 0, None
        return int(head.get("seq", 0)), int(head["version"])

    def append(self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None) -> Record:
        """Append one entry after the current last one and return it (with its hash)."""
        if not actor or not action:
            raise StoreError("an audit entry needs an actor and an action")
        last, _ = self._head_hint()
        # The hint may lag behind other writers: walk forward to the real end of the chain.
        while self._get(last + 1) is not None:
            last += 1
        for _ in range(_MAX_ATTEMPTS):
            previous = self._get(last) if last else None
            entry: Record = {
                "id": entry_id(last + 1),
                "seq": last + 1,
                "ts": self._clock.now().isoformat().replace("+00:00", "Z"),
                "actor": actor,
                "action": action,
                "target": target,
                "details": dict(details or {}),
                "prev_hash": previous["hash"] if previous else "",
            }
            entry["hash"] = entry_hash(entry)
            try:
                stored = self._repo.put(entry, None)
            except VersionConflict:
                last += 1
                continue
            self._advance_head(last + 1, stored["hash"])
            return stored
        raise StoreError(f"audit append: {_MAX_ATTEMPTS} conflicts in a row")

    def _advance_head(self, seq: int, digest: str) -> None:
        # The head only moves forward; losing this race to a later writer is fine.
        for _ in range(_MAX_ATTEMPTS):
            current, version = self._head_hint()
            if current >= seq:
                return
            try:
                self._repo.put({"id": HEAD_ID, "seq": seq, "hash": digest}, version)
                return
            except (VersionConflict, NotFound):
                continue

    def entries(self, start_seq: int = 1, limit: int | None = None) -> Iterator[Record]:
        """Entries in chain order from ``start_seq``, stopping at the first missing one."""
        seq = start_seq
        while limit is None or seq < start_seq + limit:
            entry = self._get(seq)
            if entry is None:
                return
            yield entry
            seq += 1

    def verify(self) -> BrokenEntry | None:
        """Check every link; return the first broken entry, or ``None`` when the chain holds."""
        previous_hash = ""
        seq = 0
        while True:
            seq += 1
            try:
                entry = self._get(seq)
            except ValueError as exc:
                # A changed byte can make the stored JSON unreadable: that entry is the broken one.
                return BrokenEntry(seq, entry_id(seq), f"unreadable: {exc}")
            if entry is None:
                break
            reason = _check(entry, seq, previous_hash)
            if reason:
                return BrokenEntry(seq, entry_id(seq), reason)
            previous_hash = entry["hash"]
        head, _ = self._head_hint()
        if head > seq - 1:
            return BrokenEntry(seq, entry_id(seq), f"missing: the head says the chain has {head} entries")
        return None


def _check(entry: Record, seq: int, previous_hash: str) -> str | None:
    if entry.get("seq") != seq or entry.get("id") != entry_id(seq):
        return f"out of place: holds seq {entry.get('seq')!r}"
    if entry.get("prev_hash") != previous_hash:
        return "prev_hash does not match the previous entry's hash"
    if entry.get("hash") != entry_hash(entry):
        return "content changed: hash does not match"
    return None
