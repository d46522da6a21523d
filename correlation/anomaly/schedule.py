"""Retraining on a schedule, in process: every ``interval_secs``, train a model of one kind
on the stored events of the last ``history_secs`` that match a query, and replace the
model directory; ``on_new`` (for example ``AnomalyDetector.replace``) receives the new
model, so a running detector swaps it in without reading files itself.

A failed training (too few events, a bad schema) keeps the previous model and is
reported in ``last_error``; it never leaves a half-written model behind, because the
artefact's files are each replaced atomically and ``model.json`` (holding the checksum of
the arrays) is written last: a reader between the two sees a checksum mismatch and keeps
its loaded model. ``soc run --anomaly-retrain-secs`` ticks these schedules from a thread
(``soc_api/commands/_retrain.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from correlation.anomaly.artefact import Artefact, save
from correlation.anomaly.models import EntityOptions, Model, train
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Store, TimeRange
from soc_core.errors import SocError
from soc_core.event import Event
from soc_core.query.grammar import parse_query

PAGE = 1000


def stored_events(store: Store, query: str, start: datetime, end: datetime, limit: int) -> Iterator[Event]:
    """Stored events matching ``query`` in ``[start, end)``, oldest first, at most ``limit``."""
    node = parse_query(query)
    cursor: str | None = None
    seen = 0
    while seen < limit:
        page = store.search("events", node, TimeRange(start, end), limit=min(PAGE, limit - seen), cursor=cursor,
                            order="asc")
        yield from page.events
        seen += len(page.events)
        if page.cursor is None or not page.events:
            return
        cursor = page.cursor


@dataclass
class RetrainSchedule:
    """Retrain ``kind`` into ``out_dir`` from ``store`` every ``interval_secs``."""

    kind: str
    out_dir: Path
    store: Store
    query: str = "*"
    interval_secs: int = 86_400
    history_secs: int = 7 * 86_400
    max_events: int = 1_000_000
    quantile: float = 0.99
    features: list[dict[str, str]] | None = None
    entity: EntityOptions = field(default_factory=EntityOptions)
    clock: Clock = field(default_factory=SystemClock)
    on_new: Callable[[Model], None] | None = None
    last_run: datetime | None = None
    last_error: str | None = None
    runs: int = 0

    def due(self, now: datetime) -> bool:
        return self.last_run is None or now - self.last_run >= timedelta(seconds=self.interval_secs)

    def run_once(self, now: datetime | None = None) -> Artefact | None:
        """Train now; returns the new artefact, or None (``last_error`` says why)."""
        now = now or self.clock.now()
        self.last_run = now
        self.runs += 1
        events = stored_events(self.store, self.query, now - timedelta(seconds=self.history_secs), now,
                               self.max_events)
        try:
            art = train(self.kind, events, quantile=self.quantile, features=self.features, entity=self.entity)
        except SocError as exc:
            self.last_error = f"{now.isoformat()}: {exc}"
            return None
        save(art, self.out_dir)
        self.last_error = None
        if self.on_new is not None:
            self.on_new(Model(art))
        return art

    def tick(self, now: datetime | None = None) -> Artefact | None:
        """Run if due (call this from any loop: a service tick, a cron-like thread)."""
        now = now or self.clock.now()
        return self.run_once(now) if self.due(now) else None

    def status(self) -> dict[str, Any]:
        return {"kind": self.kind, "out": str(self.out_dir), "runs": self.runs,
                "last_run": self.last_run.isoformat() if self.last_run else None, "last_error": self.last_error}
