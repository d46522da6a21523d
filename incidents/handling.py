"""Alert handling between detection and the store: severity overrides, suppression, deduplication.

Configuration is data in the store (record kinds ``suppressions`` and ``severity_overrides``),
changed through ``soc suppressions`` / ``soc overrides`` (:mod:`incidents.config`), every change
audited. A suppressed alert is still stored (``alert.suppressed_by`` names the suppression) so that
nothing is lost, but it opens no incident. A duplicate (same rule, same entities, within
``dedup_window_secs`` of the first) is not stored again: it is counted on the first one's incident
member (``count``, ``last_seen``). The dedup state is bounded (``max_dedup_keys``, oldest first out).
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.config import LEVEL_SEVERITY, OVERRIDE_KIND, SUPPRESSION_KIND, active, all_records
from incidents.entities import entities_of
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Store
from soc_core.errors import QuerySyntaxError
from soc_core.event import Event, get_field, parse_timestamp
from soc_core.query import matches, parse_query
from soc_core.query.ast import Node


@dataclass(frozen=True, slots=True)
class HandlingOptions:
    """How alerts are folded and how often the configuration is re-read."""

    dedup_window_secs: float = 600.0
    max_dedup_keys: int = 10_000
    config_refresh_secs: float = 30.0


@dataclass(slots=True)
class Duplicate:
    """A folded alert: which stored alert it repeats, and when it happened."""

    kept_alert_id: str
    timestamp: str


@dataclass(slots=True)
class Handled:
    """The outcome of one batch: what to store, what may open incidents, what was folded."""

    store: list[Event] = field(default_factory=list)
    for_incidents: list[Event] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    suppressed: int = 0


@dataclass(slots=True)
class _Open:
    alert_id: str
    first: datetime


@dataclass(frozen=True, slots=True)
class _Suppression:
    id: str
    query: Node


def dedup_key(alert: Event) -> str:
    """Rule id and every entity value: alerts with equal keys are the same finding."""
    ents = entities_of(alert)
    parts = [str(get_field(alert, "rule.id") or "")]
    parts += [f"{name}={','.join(values)}" for name, values in sorted(ents.items())]
    return "\x1f".join(parts)


def alert_time(alert: Event) -> datetime:
    return parse_timestamp(str(alert.get("@timestamp")))


class AlertHandler:
    """Applies overrides and suppressions and folds duplicates, keeping bounded state."""

    def __init__(self, store: Store, clock: Clock | None = None, options: HandlingOptions | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self.options = options or HandlingOptions()
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._suppressions: list[_Suppression] = []
        self._overrides: dict[str, dict[str, Any]] = {}
        self._loaded_at: float | None = None
        self.config_errors: list[str] = []

    @property
    def tracked(self) -> int:
        """How many (rule, entities) keys the dedup window holds now (bounded by max_dedup_keys)."""
        return len(self._open)

    def reload(self) -> None:
        """Read suppressions and overrides from the store now."""
        now = self._clock.now()
        self._suppressions, self.config_errors = [], []
        for record in all_records(self._store, SUPPRESSION_KIND):
            if not active(record, now):
                continue
            try:
                self._suppressions.append(_Suppression(record["id"], parse_query(str(record["query"]))))
            except QuerySyntaxError as exc:
                # Stored through the CLI, which checks the query: only a hand-edited record gets here.
                self.config_errors.append(f"suppression {record['id']}: {exc}")
        self._overrides = {r["id"]: r for r in all_records(self._store, OVERRIDE_KIND) if active(r, now)}
        self._loaded_at = time.monotonic()

    def _refresh(self) -> None:
        if self._loaded_at is None or time.monotonic() - self._loaded_at >= self.options.config_refresh_secs:
            self.reload()

    def handle(self, alerts: Sequence[Event]) -> Handled:
        """Handle one batch of alerts, in order."""
        self._refresh()
        out = Handled()
        for original in alerts:
            alert = self._override(original)
            suppression = next((s for s in self._suppressions if matches(s.query, alert)), None)
            if suppression is not None:
                alert.setdefault("alert", {})["suppressed_by"] = suppression.id
                out.store.append(alert)
                out.suppressed += 1
                continue
            duplicate = self._fold(alert)
            if duplicate is not None:
                out.duplicates.append(duplicate)
                continue
            out.store.append(alert)
            out.for_incidents.append(alert)
        return out

    def _override(self, alert: Event) -> Event:
        override = self._overrides.get(str(get_field(alert, "rule.id") or ""))
        if override is None:
            return alert
        changed = copy.deepcopy(alert)
        event = changed.setdefault("event", {})
        changed.setdefault("alert", {})["severity_override"] = {
            "from": event.get("severity"), "level": override["level"], "id": override["id"]}
        event["severity"] = LEVEL_SEVERITY[override["level"]]
        return changed

    def _fold(self, alert: Event) -> Duplicate | None:
        key = dedup_key(alert)
        when = alert_time(alert)
        alert_id = str(get_field(alert, "event.id") or "")
        current = self._open.get(key)
        if current is not None and 0 <= (when - current.first).total_seconds() <= self.options.dedup_window_secs:
            if current.alert_id == alert_id:
                return None  # the same alert again (a replay): the store keeps it once anyway
            self._open.move_to_end(key)
            return Duplicate(current.alert_id, str(alert.get("@timestamp")))
        self._open[key] = _Open(alert_id, when)
        self._open.move_to_end(key)
        while len(self._open) > self.options.max_dedup_keys:
            self._open.popitem(last=False)
        return None

