"""Indicator records in any store, through the RecordRepository contract (kind ``indicators``).

Writes merge: an observation of a known indicator updates that record (optimistic
version, retried on a lost race) instead of adding a second one. Sightings are counted
on the record. Expiry marks records whose ``valid_until`` has passed; they stay for
history and are no longer matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from intel.indicators import Observation, indicator_id, merge, new_record, summarise
from soc_core.clock import Clock
from soc_core.contracts import RecordRepository, Store
from soc_core.errors import NotFound, StoreError, VersionConflict
from soc_core.event import format_timestamp, parse_timestamp

KIND: Final = "indicators"
_PAGE: Final = 5000
_RETRIES: Final = 5


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0


class IndicatorRepository:
    """Indicators of one store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.records: RecordRepository = store.records(KIND)
        self.clock = clock

    def _update(self, record_id: str, change: Any, create: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
        """Apply ``change(record) -> record`` under optimistic versioning; True when created."""
        for _ in range(_RETRIES):
            try:
                current = self.records.get(record_id)
                version: int | None = int(current.pop("version"))
            except NotFound:
                if create is None:
                    raise
                current, version = create, None
            try:
                return self.records.put(change(current), version), version is None
            except VersionConflict:
                continue
        raise StoreError(f"indicator {record_id}: {_RETRIES} concurrent updates in a row, giving up")

    def add(self, observations: Iterable[Observation]) -> ImportCounts:
        """Merge observations into the store (one record per type and value)."""
        counts = ImportCounts()
        now = self.clock.now()
        for obs in observations:
            _, created = self._update(indicator_id(obs.type, obs.value), lambda r, o=obs: merge(r, o, now),
                                      create=new_record(obs.type, obs.value))
            if created:
                counts.created += 1
            else:
                counts.updated += 1
        return counts

    def get(self, record_id: str) -> dict[str, Any]:
        return self.records.get(record_id)

    def find(self, kind: str, value: str) -> dict[str, Any]:
        return self.records.get(indicator_id(kind, value))

    def all(self) -> Iterator[dict[str, Any]]:
        """Every indicator record, page by page."""
        offset = 0
        while True:
            page = self.records.list(limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                return
            offset += len(page)

    def record_sightings(self, sightings: dict[str, tuple[int, str, str]]) -> None:
        """Add counted sightings ``{id: (count, first, last)}`` to their records."""
        for record_id, (count, first, last) in sightings.items():
            def bump(record: dict[str, Any], c: int = count, f: str = first, la: str = last) -> dict[str, Any]:
                seen = dict(record.get("sightings") or {"count": 0})
                seen["count"] = int(seen.get("count", 0)) + c
                seen["first"] = min(seen.get("first") or f, f)
                seen["last"] = max(seen.get("last") or la, la)
                return {**record, "sightings": seen}
            try:
                self._update(record_id, bump)
            except NotFound:
                continue  # removed since it matched: nothing to count on

    def expire(self) -> int:
        """Mark indicators past their expiry; how many were marked."""
        now = self.clock.now()
        stamp = format_timestamp(now)
        due = [r["id"] for r in self.all()
               if r.get("status") == "active" and r.get("valid_until") and parse_timestamp(r["valid_until"]) <= now]
        for record_id in due:
            self._update(record_id, lambda r: {**summarise(r, now), "expired_at": stamp})
        return len(due)
