"""The compiled, prefiltered engine gives exactly the naive reference evaluator's answers.

Over a deterministic sample of the EVTX corpus (every 25th event: the reference is slow
by design) with the full SigmaHQ Windows rule set, plus every event that any rule hits,
so the prefilter's misses would show.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.sigma import SigmaEngine, load_rules
from rules.sigma.reference import ReferenceEvaluator
from soc_core.event import Event


@pytest.mark.slow
def test_engine_equals_reference_on_corpus_sample(evtx_events: list[Event], windows_rules_dir: Path) -> None:
    ruleset = load_rules([str(windows_rules_dir)])
    engine = SigmaEngine(ruleset)
    reference = ReferenceEvaluator(ruleset)
    engine_hits = {i: [r.id for r in engine.match(e)] for i, e in enumerate(evtx_events)}
    sample = sorted(set(range(0, len(evtx_events), 25)) | {i for i, hits in engine_hits.items() if hits})
    compared = 0
    disagreements = []
    for i in sample:
        expected = [r.id for r in reference.match(evtx_events[i])]
        compared += len(expected)
        if engine_hits[i] != expected:
            disagreements.append((evtx_events[i]["log"]["file"]["path"], i, engine_hits[i], expected))
    assert disagreements == []
    assert compared > 500
