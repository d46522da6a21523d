"""Issue #20 item 5: a retro-hunt gives the streaming engine's results on both stores,
keyword and correlation rules included, and says which rules ran on the streaming engine.

The same parsed sshd lines go through streaming detection (the detectors of ``soc detect``)
and into the embedded store and an Elasticsearch store (osmem-server, real), then are
hunted with the project's built-in rules plus two keyword rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from correlation.hunt import hunt_correlations
from parsers.base import ParserOptions
from rules.hunt import hunt, rule_key
from rules.sigma import SigmaEngine, load_rules
from soc_api.commands._common import detectors_for
from soc_core.clock import FrozenClock
from soc_core.contracts import ALL_TIME, Store
from soc_core.event import Event, RawEvent
from soc_core.registry import default_registry
from soc_store.elasticsearch import ElasticsearchStore
from soc_store.sqlite import SqliteStore
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

BUILTIN = Path(__file__).resolve().parents[2] / "rules" / "builtin"
NOW = datetime(2026, 12, 8, tzinfo=UTC)
KEYWORD_RULES = """\
title: Remote File Copy
id: 7a14080d-a048-4de8-ae58-604ce58a795b
logsource:
    product: linux
detection:
    tools:
        - 'scp '
        - 'sftp '
    filter:
        - '@'
        - ':'
    condition: tools and filter
level: low
---
title: Failed password keyword
id: 0c4c7f5e-1b8a-4b59-9c43-7d1e5f0a2b11
logsource:
    product: linux
detection:
    keywords:
        - 'Failed password'
    condition: keywords
level: low
"""
_prefixes = itertools.count()


def _events() -> list[Event]:
    clock = FrozenClock(NOW)
    parser = default_registry().get("parser", "auto")(ParserOptions(tz=UTC, clock=clock))
    lines = [f"Dec  7 10:00:{i:02d} srv sshd[{100 + i}]: Failed password for root from 10.9.9.9 port {4000 + i} ssh2"
             for i in range(12)]
    lines += ["Dec  7 10:01:00 srv sshd[300]: subsystem request for sftp by user vagrant",
              "Dec  7 10:01:05 srv bash[301]: sftp backup@10.0.0.5:/srv/data",
              "Dec  7 10:02:00 srv sshd[302]: Failed password for admin from 10.1.1.1 port 22 ssh2"]
    return [parser.parse(RawEvent(line.encode(), "auth.log", NOW, offset=i * 100)) for i, line in enumerate(lines)]


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "hunt.db")
        yield sqlite
        sqlite.close()
        return
    es = ElasticsearchStore(request.getfixturevalue("osmem_server"), index_prefix=f"hunt-parity-{next(_prefixes)}")
    yield es
    es.close()


def test_hunt_equals_streaming_detection_for_keyword_and_correlation_rules(store: Store, tmp_path: Path) -> None:
    (tmp_path / "keywords.yml").write_text(KEYWORD_RULES)
    ruleset = load_rules([str(BUILTIN), str(tmp_path / "keywords.yml")])
    assert ruleset.correlations and not ruleset.errors
    events = _events()
    # A bulk request that timed out under load is retried by the client: what the first
    # attempt stored then comes back as duplicates (ids are deterministic), not as a loss.
    result = store.write(events)
    assert result.written + result.duplicates == len(events) and not result.failed

    # Streaming: the detectors soc detect runs, windows closed at the end.
    clock = FrozenClock(NOW + timedelta(days=1))
    engine = SigmaEngine(ruleset)
    streamed_hits = {(rule_key(r), e["event"]["id"]) for e in events for r in engine.match(e)}
    streamed_correlations = []
    detectors = detectors_for(ruleset, clock, engine)
    for event in events:
        for detector in detectors:
            streamed_correlations += [a for a in detector.detect(event) if "correlation" in a]
    for detector in detectors:
        streamed_correlations += [a for a in detector.flush(clock.now()) if "correlation" in a]
    assert streamed_correlations, "the built-in SSH brute-force correlation fires in streaming"
    assert any(key == "7a14080d-a048-4de8-ae58-604ce58a795b" for key, _ in streamed_hits)
    assert sum(1 for key, _ in streamed_hits if key == "0c4c7f5e-1b8a-4b59-9c43-7d1e5f0a2b11") == 13

    result = hunt(store, ruleset, ALL_TIME)
    assert {(h.rule_id, h.event_id) for h in result.hits} == streamed_hits
    assert result.errors == []
    assert set(result.streamed) == {"7a14080d-a048-4de8-ae58-604ce58a795b", "0c4c7f5e-1b8a-4b59-9c43-7d1e5f0a2b11"}

    hunted, errors = hunt_correlations(store, ruleset, ALL_TIME, clock)
    assert errors == []

    def summary(alerts: list[Event]) -> list[tuple[str, object, object]]:
        return sorted((a["rule"]["id"], a["correlation"]["group"], a["correlation"]["event_count"]) for a in alerts)

    assert summary(hunted) == summary(streamed_correlations)
