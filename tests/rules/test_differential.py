"""Differential test: the engine against pysigma-backend-sqlite over the EVTX corpus.

Same events (every corpus .evtx through the winlog parser), same rules (SigmaHQ
``rules/windows``). Every (file, record, rule) hit on one side only must carry a reason
from the closed list in ``rules.sigma.differential``; the listing is printed (``-s``)
and recorded in docs/detection-differential.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.sigma.differential import AUDIT_ROUTE, UNEXPLAINED, run_differential
from soc_core.event import Event


@pytest.mark.slow
def test_engine_and_sqlite_agree_on_the_evtx_corpus(evtx_events: list[Event], windows_rules_dir: Path) -> None:
    result = run_differential(evtx_events, [str(windows_rules_dir)])
    print("\n" + result.table())
    assert result.events > 5000 and result.rules > 2000
    assert len(result.sqlite_hits) > 500  # the comparison has substance
    unexplained = [d for d in result.differences if d.reason == UNEXPLAINED]
    assert unexplained == [], result.table()
    # What SQLite finds, we find: every difference is a hit SQLite cannot produce.
    assert all(d.side == "engine" for d in result.differences)
    assert result.common == len(result.sqlite_hits)
    # The audit-route differences really are Security events of generic categories.
    assert all(d.hit[0].endswith(".evtx") for d in result.differences if d.reason == AUDIT_ROUTE)
