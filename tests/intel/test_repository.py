"""Indicator records through the RecordRepository contract, on both stores."""

from __future__ import annotations

from datetime import timedelta

from intel.indicators import DOMAIN, IPV4, PATTERN, Observation, indicator_id
from intel.repository import IndicatorRepository
from soc_core.clock import FrozenClock
from soc_core.contracts import Store


def test_merge_across_sources_sightings_and_expiry(store: Store, clock: FrozenClock) -> None:
    repo = IndicatorRepository(store, clock)
    now = clock.now()
    counts = repo.add([
        Observation(DOMAIN, "evil.example", "feed-a", "CLEAR", 40, last_seen=now),
        Observation(IPV4, "192.0.2.1", "feed-a", "GREEN", 50, last_seen=now - timedelta(days=29)),
        Observation(PATTERN, "[process:name = 'x']", "feed-a"),
    ])
    assert (counts.created, counts.updated) == (3, 0)
    counts = repo.add([Observation(DOMAIN, "evil.example", "center", "AMBER+STRICT", 90, last_seen=now)])
    assert (counts.created, counts.updated) == (0, 1)
    record = repo.find(DOMAIN, "evil.example")
    assert set(record["sources"]) == {"feed-a", "center"}
    assert record["tlp"] == "AMBER+STRICT" and record["confidence"] == 90 and record["version"] == 2
    assert len(list(repo.all())) == 3

    repo.record_sightings({record["id"]: (2, "2026-11-22T01:00:00.000Z", "2026-11-22T02:00:00.000Z")})
    repo.record_sightings({record["id"]: (1, "2026-11-21T00:00:00.000Z", "2026-11-21T00:00:00.000Z")})
    assert repo.get(record["id"])["sightings"] == {"count": 3, "first": "2026-11-21T00:00:00.000Z",
                                                   "last": "2026-11-22T02:00:00.000Z"}

    assert repo.expire() == 0
    clock.advance(timedelta(days=2))  # the address (30 days after it was last seen) ages out
    assert repo.expire() == 1
    assert repo.get(indicator_id(IPV4, "192.0.2.1"))["status"] == "expired"
    assert repo.find(DOMAIN, "evil.example")["status"] == "active"
    assert repo.expire() == 0
