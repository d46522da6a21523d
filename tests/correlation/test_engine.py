"""Engine behaviour the examples do not show: event time, lateness, memory bounds, closing
windows with the injected clock, float thresholds, determinism and load errors."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from correlation.fields import SigmaFieldResolver
from correlation.sigma_correlation import SigmaCorrelationDetector
from correlation.state import MemoryState, WindowEntry
from correlation.windows import number, percentile
from rules.sigma import SigmaEngine, load_rules
from soc_core.clock import FrozenClock
from soc_core.contracts import Detector
from soc_core.registry import build_registry
from tests.correlation._support import T0, Rules, base_rule, by_marker, event, load, spec_markdown_block, write

COUNT_5_IN_10M = """
title: Five failures in ten minutes
id: 11111111-2222-4333-8444-555555555555
level: medium
tags:
    - attack.credential-access
    - attack.t1110
correlation:
    type: event_count
    rules: failed
    group-by: [User]
    timespan: 10m
    condition:
        gte: 5
"""


def _det(tmp_path: Path, *docs: str, **kw: int) -> tuple[SigmaCorrelationDetector, Rules]:
    rules = load([write(tmp_path, "r.yml", *docs)])
    det = SigmaCorrelationDetector(rules, matcher=by_marker(rules), clock=FrozenClock(T0), **kw)
    assert det.errors == []
    return det, rules


def test_out_of_order_within_tolerance_gives_the_same_alerts(tmp_path: Path) -> None:
    events = [event(i * 30, ["failed"], User=f"u{i % 3}") for i in range(60)]
    det, _ = _det(tmp_path, COUNT_5_IN_10M, base_rule("failed", name="failed"))
    in_order = [a for ev in events for a in det.detect(ev)]
    shuffled = list(events)
    # Swap neighbours only: no event arrives more than 60 s behind the newest (tolerance 300 s).
    rng = random.Random(7)
    for i in range(0, len(shuffled) - 1, 2):
        if rng.random() < 0.7:
            shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    det2, _ = _det(tmp_path, COUNT_5_IN_10M, base_rule("failed", name="failed"))
    out_of_order = [a for ev in shuffled for a in det2.detect(ev)]
    assert len(in_order) == 12  # 20 failures per user, 5 per alert
    assert det2.stats.late == 0
    assert sorted(sorted(a["alert"]["event_ids"]) for a in out_of_order) == sorted(
        sorted(a["alert"]["event_ids"]) for a in in_order)


def test_events_later_than_the_tolerance_are_counted_and_ignored(tmp_path: Path) -> None:
    det, _ = _det(tmp_path, COUNT_5_IN_10M, base_rule("failed", name="failed"), max_lateness_secs=60)
    det.detect(event(1000, ["failed"], User="a"))
    assert det.detect(event(939, ["failed"], User="a")) == []
    assert det.stats.late == 1
    det.detect(event(941, ["failed"], User="a"))  # 59 s late: accepted
    assert det.stats.late == 1
    assert det.engine.state.entry_count() == 2


def test_memory_stays_bounded_over_a_long_stream(tmp_path: Path) -> None:
    det, _ = _det(tmp_path, COUNT_5_IN_10M, base_rule("failed", name="failed"), max_lateness_secs=60)
    peak = 0
    # One failure every 3 minutes per user, for 1,000 users over ~2 days: never 5 in 10 min.
    for i in range(1000):
        for user in range(0, 1000, 100):
            det.detect(event(i * 180 + user / 100, ["failed"], User=f"u{user + i % 100}"))
        peak = max(peak, det.engine.state.entry_count())
    assert det.stats.fired == 0
    # Only entries a future window can use are kept: those of the last 660 s of event time.
    assert peak <= 50  # 10 users per 3-minute step, 5 steps at most: versus 10,000 fed
    assert det.flush(T0 + timedelta(days=3)) == []
    assert det.engine.state.entry_count() == 0


def test_per_group_cap_drops_the_oldest(tmp_path: Path) -> None:
    det, _ = _det(tmp_path, COUNT_5_IN_10M.replace("gte: 5", "gte: 1000"), base_rule("failed", name="failed"),
                  max_entries_per_group=50)
    for i in range(120):
        det.detect(event(i, ["failed"], User="a"))
    assert det.engine.state.entry_count() == 50
    assert det.stats.dropped == 70


def test_less_than_condition_fires_only_when_the_clock_closes_the_window(tmp_path: Path) -> None:
    quiet = COUNT_5_IN_10M.replace("gte: 5", "lt: 3").replace("title: Five failures", "title: Few heartbeats")
    det, _ = _det(tmp_path, quiet, base_rule("failed", name="failed"))
    clock = FrozenClock(T0)
    for t in (0, 60):
        assert det.detect(event(t, ["failed"], User="sensor-1")) == []
    for t in (0, 30, 60, 90):
        assert det.detect(event(t, ["failed"], User="sensor-2")) == []
    clock.advance(timedelta(minutes=10))
    assert det.flush(clock.now()) == []  # window end + 5 min tolerance not reached yet
    clock.advance(timedelta(minutes=6))
    alerts = det.flush(clock.now())
    assert [a["correlation"]["group"] for a in alerts] == [{"User": "sensor-1"}]
    assert alerts[0]["correlation"]["value"] == 2
    assert det.flush(clock.now()) == []


def test_float_thresholds_are_read_from_the_yaml(tmp_path: Path) -> None:
    avg = """
title: Average over a half
correlation:
    type: value_avg
    rules: failed
    group-by: [User]
    timespan: 1h
    condition:
        field: Ratio
        gt: 0.5
"""
    det, _ = _det(tmp_path, avg, base_rule("failed", name="failed"))
    assert [str(c) for c in det.engine.specs[0].conditions] == ["gt 0.5"]
    det.detect(event(0, ["failed"], User="a", Ratio=0.4))
    det.detect(event(1, ["failed"], User="a", Ratio=0.7))  # average 0.55; pySigma alone reads "gt: 0"
    det.detect(event(0, ["failed"], User="b", Ratio=0.3))
    alerts = det.flush(T0 + timedelta(hours=2))
    assert [a["correlation"]["group"]["User"] for a in alerts] == ["a"]


def test_alert_document_is_deterministic_and_carries_attack(tmp_path: Path) -> None:
    docs = (COUNT_5_IN_10M, base_rule("failed", name="failed"))
    events = [event(i, ["failed"], User="a") for i in range(5)]
    det_a, _ = _det(tmp_path, *docs)
    det_b, _ = _det(tmp_path, *docs)
    alerts_a = [a for ev in events for a in det_a.detect(ev)]
    alerts_b = [a for ev in events for a in det_b.detect(ev)]
    assert alerts_a == alerts_b
    alert = alerts_a[0]
    assert alert["threat"]["technique"]["id"] == ["T1110"]
    assert alert["threat"]["tactic"]["name"] == ["Credential Access"]
    assert alert["rule"]["id"] == "11111111-2222-4333-8444-555555555555"
    assert alert["event"]["dataset"] == "sigma.correlation"
    assert alert["alert"]["correlation_type"] == "event_count"
    assert alert["correlation"]["window"] == {"start": events[0]["@timestamp"], "end": events[-1]["@timestamp"]}
    assert alert["event"]["severity"] == 47
    assert alert["alert"]["event_ids"] == [e["event"]["id"] for e in events]


def test_unknown_reference_is_reported_with_file_and_line(tmp_path: Path) -> None:
    rules = load([write(tmp_path, "r.yml", COUNT_5_IN_10M, base_rule("failed", name="failed"))])
    rules.rules.clear()  # as if the referenced rule had failed to load
    det = SigmaCorrelationDetector(rules, matcher=by_marker(rules))
    assert len(det.errors) == 1
    assert det.errors[0].path is not None
    assert det.errors[0].path.endswith("r.yml")
    assert "unknown rule 'failed'" in str(det.errors[0])
    assert det.detect(event(0, ["failed"], User="a")) == []


def test_memory_state_keeps_entries_sorted() -> None:
    state = MemoryState()
    for ts, seq in ((5, 1), (3, 2), (9, 3), (3, 4)):
        state.append("k", WindowEntry(ts, "r", (f"e{seq}",), None, seq))
    assert [(e.timestamp_us, e.seq) for e in state.load("k")] == [(3, 2), (3, 4), (5, 1), (9, 3)]
    state.replace("k", [])
    assert state.window_keys() == []
    assert state.entry_count() == 0


def test_numbers_and_percentiles() -> None:
    assert number("12.5") == 12.5
    assert number(True) is None
    assert number("abc") is None
    assert number(float("nan")) is None
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile([10, 20, 30], 100) == 30
    assert percentile([7], 90) == 7


def test_with_the_real_sigma_engine_and_the_specification_example(tmp_path: Path) -> None:
    path = write(tmp_path, "mr_bruteforce.yml", spec_markdown_block("title: Correlation - Multiple Failed Logins"))
    ruleset = load_rules([str(path)])
    assert ruleset.errors == []
    det = SigmaCorrelationDetector(ruleset)  # default matcher: rules.sigma.SigmaEngine
    assert det.errors == []
    failures = [event(i * 20, [], event_id=4625, User="admin") for i in range(10)]
    success = event(300, [], event_id=4624, User="admin")
    noise = [event(5 + i, [], event_id=4688, User="admin") for i in range(20)]
    alerts = [a for ev in [*failures, *noise, success] for a in det.detect(ev)]
    assert [a["rule"]["name"] for a in alerts] == ["Correlation - Multiple Failed Logins Followed by Successful Login"]
    assert len(alerts[0]["alert"]["event_ids"]) == 11
    # An alert flowing back through the pipeline is not correlated again.
    assert det.detect(alerts[0]) == []


def test_fields_are_read_through_the_route_renames(tmp_path: Path) -> None:
    rules = load([write(tmp_path, "r.yml", base_rule("p", name="p", logsource="category: process_creation"))])
    rule = rules.rules[0]
    resolve = SigmaFieldResolver()
    security = event(0, [], "Security", 4688, NewProcessName="C:\\x.exe")
    sysmon = event(0, [], "Microsoft-Windows-Sysmon/Operational", 1, Image="C:\\y.exe")
    assert resolve(security, "Image", rule) == "C:\\x.exe"
    assert resolve(sysmon, "Image", rule) == "C:\\y.exe"
    assert resolve(sysmon, "EventID", rule) == 1
    assert resolve({"source": {"ip": "10.1.1.1"}}, "source.ip", rule) == "10.1.1.1"


def test_registered_detector_built_as_the_cli_builds_it(tmp_path: Path) -> None:
    path = write(tmp_path, "mr_bruteforce.yml", spec_markdown_block("title: Correlation - Multiple Failed Logins"))
    ruleset = load_rules([str(path)])
    factory = build_registry(include_entry_points=False).get("detector", "sigma_correlation")
    det = factory(SigmaEngine(ruleset), ruleset.correlations, clock=FrozenClock(T0))
    assert isinstance(det, Detector)
    events = [event(i * 20, [], event_id=4625, User="root") for i in range(10)]
    events.append(event(400, [], event_id=4624, User="root"))
    alerts = [a for ev in events for a in det.detect(ev)]
    assert [a["rule"]["id"] for a in alerts] == ["b180ead8-d58f-40b2-ae54-c8940995b9b6"]
    assert alerts[0]["event"]["created"] == "2026-11-22T08:00:00.000Z"
