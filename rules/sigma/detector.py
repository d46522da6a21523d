"""``SigmaDetector``: the Sigma engine as a pipeline :class:`~soc_core.contracts.Detector`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sigma.rule import SigmaRule

from rules.alerts import build_alert
from rules.attack import AttackTable, load_attack_table
from rules.sigma.engine import SigmaEngine
from rules.sigma.loader import load_rules
from soc_core.clock import Clock, SystemClock
from soc_core.event import KIND_ALERT, KIND_EVENT, Event


def detectable(event: Event) -> bool:
    """A raw event, or an alert reported by a product (not one of ours)."""
    kind = event.get("event", {}).get("kind", KIND_EVENT)
    return kind == KIND_EVENT or (kind == KIND_ALERT and "alert" not in event)


class SigmaDetector:
    """One alert per matching rule per event; stateless, so ``flush`` has nothing to say.

    Raw events (``event.kind: event``) are matched, and so are the alerts that products
    report themselves (an antivirus detection parsed as ``event.kind: alert``), so that rules
    can be written over them; our own alerts (they carry ``alert.event_ids``) and dead letters
    flowing through the same pipeline are never matched again.
    """

    name = "sigma"

    def __init__(self, engine: SigmaEngine, clock: Clock | None = None, attack: AttackTable | None = None,
                 ruleset_name: str = "sigma") -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.attack = attack if attack is not None else load_attack_table()
        self.ruleset_name = ruleset_name
        # The last event matched and its rules: the correlation detector that follows in
        # the pipeline asks for the same event's matches (see ``matched``).
        self._last: tuple[Event, list[SigmaRule]] | None = None

    @classmethod
    def from_paths(cls, paths: Sequence[str], placeholders: Mapping[str, list[str]] | None = None,
                   clock: Clock | None = None) -> SigmaDetector:
        """Load rules and build the detector (load errors: ``detector.engine.ruleset.errors``)."""
        return cls(SigmaEngine(load_rules(paths, placeholders)), clock=clock)

    def detect(self, event: Event) -> list[Event]:
        if not detectable(event):
            return []
        rules = self.engine.match(event)
        self._last = (event, rules)
        if not rules:
            return []
        now = self.clock.now()
        return [build_alert(event, rule, created=now, attack=self.attack, ruleset=self.ruleset_name)
                for rule in rules]

    def matched(self, event: Event) -> list[SigmaRule]:
        """The rules ``event`` matches, reusing :meth:`detect`'s result for the very same
        event object (detectors never modify the events they read), so a correlation
        detector placed after this one does not run the engine a second time."""
        last = self._last
        if last is not None and last[0] is event:
            return last[1]
        return self.engine.match(event)

    def flush(self, now: datetime) -> list[Event]:
        return []
