"""The differential run: our engine against pysigma-backend-sqlite on the same events.

Both sides get the same parsed events and the same rule files. Hits are compared as
``(file, record id, rule id)`` triples; every difference is given a reason from a closed
list, and ``unexplained`` is the one reason a test must never see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rules.alerts import rule_id
from rules.sigma import sqlite_oracle
from rules.sigma.engine import SigmaEngine
from rules.sigma.loader import load_rules
from rules.sigma.logsource import AUDIT_MAPPING
from soc_core.event import Event

Hit = tuple[str, str, str]  # (log.file.path, winlog.record_id, rule id)

AUDIT_ROUTE = ("engine-only: Security 4688/4657 route (pySigma windows-audit pipeline semantics); "
               "the sysmon + windows-logsources pipelines map these categories to Sysmon only")
UNCONVERTIBLE = "engine-only: pysigma-backend-sqlite cannot convert this rule"
UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class Difference:
    side: str  # "engine" or "sqlite": the side that has the hit
    hit: Hit
    title: str
    reason: str


@dataclass
class DifferentialResult:
    events: int
    rules: int
    engine_hits: set[Hit]
    sqlite_hits: set[Hit]
    unconverted: dict[str, str] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    @property
    def common(self) -> int:
        return len(self.engine_hits & self.sqlite_hits)

    def reasons(self) -> Counter[str]:
        return Counter(d.reason for d in self.differences)

    def table(self) -> str:
        """The listing printed by the test and copied into the docs."""
        lines = [f"events={self.events} rules={self.rules} engine_hits={len(self.engine_hits)} "
                 f"sqlite_hits={len(self.sqlite_hits)} common={self.common} "
                 f"unconverted_rules={len(self.unconverted)} differences={len(self.differences)}"]
        for d in sorted(self.differences, key=lambda d: (d.reason, d.hit)):
            path, record, rid = d.hit
            lines.append(f"  [{d.side}] {path.rsplit('/', 1)[-1]} record {record} {rid} {d.title!r}: {d.reason}")
        return "\n".join(lines)


def _hit(event: Event, rid: str) -> Hit:
    path = str(event.get("log", {}).get("file", {}).get("path", ""))
    record = str(event.get("winlog", {}).get("record_id", event.get("log", {}).get("offset", "")))
    return (path, record, rid)


def run_differential(events: Sequence[Event], rule_paths: Sequence[str]) -> DifferentialResult:
    """Run both sides; classify each difference."""
    ruleset = load_rules(rule_paths)
    engine = SigmaEngine(ruleset)
    engine_hits = {_hit(e, rule_id(r)) for e in events for r in engine.match(e)}
    # The pipelines rewrite the rules they convert: convert a second, private load.
    converted = sqlite_oracle.convert(load_rules(rule_paths).rules)
    table = sqlite_oracle.EventTable(events)
    sqlite_hits: set[Hit] = set()
    try:
        for rule, queries in converted.queries:
            rid = rule_id(rule)
            for query in queries:
                sqlite_hits.update(_hit(events[i], rid) for i in table.run(query))
    finally:
        table.close()
    result = DifferentialResult(len(events), len(ruleset.rules), engine_hits, sqlite_hits,
                                unconverted={rule_id(r): why for r, why in converted.failures})
    by_id = {rule_id(r): r for r in ruleset.rules}
    by_hit = {(_hit(e, "")[0], _hit(e, "")[1]): e for e in events}
    for side, hits in (("engine", engine_hits - sqlite_hits), ("sqlite", sqlite_hits - engine_hits)):
        for hit in sorted(hits):
            found = by_id.get(hit[2])
            event = by_hit.get((hit[0], hit[1]), {})
            reason = UNEXPLAINED
            if side == "engine" and hit[2] in result.unconverted:
                reason = f"{UNCONVERTIBLE} ({result.unconverted[hit[2]][:120]})"
            elif (side == "engine" and found is not None
                  and found.logsource.category in AUDIT_MAPPING
                  and str(event.get("winlog", {}).get("channel", "")).lower() == "security"):
                reason = AUDIT_ROUTE
            result.differences.append(Difference(side, hit, found.title if found else "", reason))
    return result
