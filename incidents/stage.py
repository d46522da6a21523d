"""The alert stage of the pipeline: handle alerts (dedup, suppression, overrides) before they are
stored, then group the stored ones into incidents. ``soc_api`` builds one and gives it to the
ingest pipeline (``ingest.pipeline.Pipeline(alert_stage=...)``), in ``soc ingest`` and ``soc run``.
"""

from __future__ import annotations

from collections.abc import Sequence

from incidents.handling import AlertHandler, Duplicate
from incidents.service import IncidentService
from soc_core.event import Event


class IncidentStage:
    """Implements :class:`soc_core.contracts.AlertStage`."""

    def __init__(self, handler: AlertHandler, service: IncidentService) -> None:
        self.handler = handler
        self.service = service
        self._alerts: list[Event] = []
        self._duplicates: list[Duplicate] = []
        self.duplicates = 0
        self.suppressed = 0
        self.incidents_changed = 0

    def before_store(self, alerts: Sequence[Event]) -> list[Event]:
        # Products' own alerts (an antivirus detection) are telemetry to our rules: stored as
        # they came; the alerts our rules made from them are the ones handled and grouped.
        reported = [a for a in alerts if "alert" not in a]
        handled = self.handler.handle([a for a in alerts if "alert" in a])
        self._alerts.extend(handled.for_incidents)
        self._duplicates.extend(handled.duplicates)
        self.duplicates += len(handled.duplicates)
        self.suppressed += handled.suppressed
        return reported + handled.store

    def after_store(self) -> None:
        # Taken before grouping: if grouping raises, the batch is retried from the queue and
        # these alerts are handled again (incident ids and membership checks make that idempotent).
        alerts, duplicates = self._alerts, self._duplicates
        self._alerts, self._duplicates = [], []
        if alerts or duplicates:
            self.incidents_changed += len(self.service.ingest(alerts, duplicates))
