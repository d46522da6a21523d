"""Retro-hunt by the streaming engine itself: stored events read back through the Store
contract, oldest first, and matched by :class:`rules.sigma.SigmaEngine` exactly as
``soc detect`` and ``soc run`` match them.

It serves the rules whose answer a store's query language cannot give the engine's way:
keyword rules (a keyword searches the message text, ``message`` else ``event.original``,
which neither pySigma's SQL nor its Lucene output expresses) and rules the store's backend
could not convert. It costs one pass over the stored events of the time range.
"""

from __future__ import annotations

from rules.hunt.common import Hit, HuntResult, make_hit, stored_events
from rules.sigma import RuleSet, SigmaEngine
from soc_core.contracts import Store, TimeRange


class StreamingHunter:
    """The streaming engine over the events of a store (any store)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="streaming", rules=len(ruleset.rules))
        if not ruleset.rules:
            return result
        engine = SigmaEngine(ruleset)
        hits: set[Hit] = set()
        for event in stored_events(self.store, time_range):
            result.events += 1
            hits.update(make_hit(rule, event) for rule in engine.match(event))
        result.hits = sorted(hits)
        return result
