"""Retro-hunt of correlation rules: the correlation detector over stored events.

A correlation counts base-rule matches in time windows, which no store query expresses
the streaming engine's way; so the stored events of the range are read back oldest first
(``rules.hunt.stored_events``) and fed to the same :class:`SigmaCorrelationDetector` that
``soc detect`` and ``soc run`` use, then its open windows are closed. The alerts are the
ones streaming detection gives over the same events.
"""

from __future__ import annotations

from datetime import datetime

from correlation.sigma_correlation import SigmaCorrelationDetector
from rules.hunt import stored_events
from rules.sigma import RuleSet
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Store, TimeRange
from soc_core.errors import RuleError
from soc_core.event import Event


def hunt_correlations(store: Store, ruleset: RuleSet, time_range: TimeRange, clock: Clock | None = None,
                      end: datetime | None = None) -> tuple[list[Event], list[RuleError]]:
    """The correlation alerts over the stored events, and the correlations that did not
    compile (with file and line). ``end`` closes the windows still open (default: now)."""
    clock = clock or SystemClock()
    if not ruleset.correlations:
        return [], []
    detector = SigmaCorrelationDetector(ruleset, clock=clock)
    alerts: list[Event] = []
    for event in stored_events(store, time_range):
        alerts.extend(detector.detect(event))
    alerts.extend(detector.flush(end or clock.now()))
    return alerts, list(detector.errors)
