"""The indicator index against a brute-force reference, and the detector's alerts."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

from intel.detector import IntelDetector, build_index
from intel.indicators import DOMAIN, EMAIL, IPV4, IPV6, MD5, SHA256, URL, Observation, merge, new_record
from intel.matcher import IndicatorIndex
from soc_core.clock import FrozenClock
from soc_core.event import KIND_ALERT

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def record(kind: str, value: str, source: str = "center", tlp: str = "AMBER", confidence: int = 80) -> dict:
    return merge(new_record(kind, value), Observation(kind, value, source, tlp, confidence, last_seen=NOW), NOW)


def test_cidr_lookup_equals_brute_force() -> None:
    rng = random.Random(7)
    nets = set()
    for _ in range(300):
        length = rng.choice([8, 12, 16, 20, 24, 28, 30, 32])
        nets.add(ipaddress.ip_network((rng.getrandbits(32), length), strict=False))
    index = IndicatorIndex()
    for net in nets:
        value = str(net.network_address) if net.prefixlen == 32 else str(net)
        index.add(record(IPV4, value))
    probes = [ipaddress.ip_address(rng.getrandbits(32)) for _ in range(3000)]
    probes += [net.network_address + 1 for net in nets if net.prefixlen < 31]
    for addr in probes:
        expected = {str(n) if n.prefixlen < 32 else str(n.network_address) for n in nets if addr in n}
        assert {h.value for h in index.ip(str(addr))} == expected


def test_ipv6_and_mapped_addresses() -> None:
    index = IndicatorIndex()
    index.add(record(IPV6, "2001:db8::/32"))
    index.add(record(IPV4, "192.0.2.1"))
    assert [h.value for h in index.ip("2001:db8:1::5")] == ["2001:db8::/32"]
    assert [h.value for h in index.ip("::ffff:192.0.2.1")] == ["192.0.2.1"]
    assert index.ip("2001:db9::1") == [] and index.ip("not an ip") == []


def test_domain_suffix_matching() -> None:
    index = IndicatorIndex()
    index.add(record(DOMAIN, "evil.example"))
    assert [h.value for h in index.domain("a.b.Evil.Example.")] == ["evil.example"]
    assert index.domain("notevil.example") == [] and index.domain("example") == []


def _event(**fields: object) -> dict:
    event = {"@timestamp": "2026-11-22T10:00:00.000Z", "event": {"id": "e1", "kind": "event"}}
    event.update(fields)  # type: ignore[arg-type]
    return event


def test_detector_one_alert_per_event_with_every_indicator() -> None:
    records = [record(IPV4, "203.0.113.0/24", tlp="GREEN", confidence=60), record(DOMAIN, "evil.example"),
               record(URL, "http://evil.example/x"), record(SHA256, "ab" * 32, source="feed"),
               record(MD5, "cd" * 16), record(EMAIL, "bad@evil.example"),
               record(IPV4, "198.51.100.1", confidence=10)]
    aged = Observation(IPV4, "192.0.2.99", "s", last_seen=NOW - timedelta(days=60))
    old = merge(new_record(IPV4, "192.0.2.99"), aged, NOW)
    detector = IntelDetector(build_index([*records, old], NOW), FrozenClock(NOW))
    assert detector.index.size == len(records)  # the aged one is not active
    event = _event(source={"ip": "203.0.113.7"}, destination={"ip": "192.0.2.99"},
                   url={"full": "HTTP://EVIL.example/x", "domain": "www.evil.example"},
                   file={"hash": {"sha256": "AB" * 32}}, related={"hash": ["cd" * 16], "ip": ["203.0.113.7"]},
                   email={"from": {"address": "Bad@Evil.Example"}})
    alerts = detector.detect(event)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["event"]["kind"] == KIND_ALERT and alert["alert"]["event_ids"] == ["e1"]
    assert alert["rule"]["ruleset"] == "intel"
    enrichments = {e["matched"]["field"]: e for e in alert["threat"]["enrichments"]}
    assert set(enrichments) == {"source.ip", "url.domain", "url.full", "file.hash.sha256", "related.hash",
                                "email.from.address"}
    ip = enrichments["source.ip"]["indicator"]
    assert ip["ip"] == "203.0.113.0/24" and ip["marking"]["tlp"] == "GREEN" and ip["provider"] == "center"
    assert ip["confidence"] == "Medium"
    assert enrichments["file.hash.sha256"]["indicator"]["provider"] == "feed"
    assert event["event"]["kind"] == "event"  # the event itself is untouched
    assert detector.detect(_event(source={"ip": "192.0.2.99"}, url={"domain": "example"})) == []
    sightings = detector.take_sightings()
    assert sightings[records[0]["id"]] == (1, "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00.000Z")
    assert detector.take_sightings() == {}


def test_alert_id_is_stable_and_alerts_are_not_matched_again() -> None:
    detector = IntelDetector(build_index([record(IPV4, "192.0.2.1")], NOW), FrozenClock(NOW))
    first = detector.detect(_event(source={"ip": "192.0.2.1"}))
    again = detector.detect(_event(source={"ip": "192.0.2.1"}))
    assert first[0]["event"]["id"] == again[0]["event"]["id"]
    assert detector.detect(first[0]) == []
