"""The correlation engine against the Sigma specification's correlation examples.

Each example file of ``sigma-specification/tests/schema/correlation/`` is loaded as
published, next to base rules written here under the ids and names it references; the
events are built per test so that each condition is met exactly at a known event.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from correlation.sigma_correlation import SigmaCorrelationDetector
from soc_core.contracts import Detector
from tests.conftest import corpus_path
from tests.correlation._support import SYSMON, T0, base_rule, by_marker, event, load, spec_markdown_block, write

EXAMPLES = ("sigma", "sigma-specification", "tests", "schema", "correlation")


FAILED = base_rule("failed", rule_id="5638f7c0-ac70-491d-8465-2a65075e0d86")


def _detector(tmp_path: Path, example: str, *bases: str, **kw: int) -> SigmaCorrelationDetector:
    source = corpus_path(*EXAMPLES, example)
    copy = tmp_path / example
    shutil.copyfile(source, copy)
    rules = load([copy, write(tmp_path, "bases.yml", *bases)])
    detector = SigmaCorrelationDetector(rules, matcher=by_marker(rules), **kw)
    assert detector.errors == []
    return detector


def test_every_example_compiles(tmp_path: Path) -> None:
    folder = corpus_path(*EXAMPLES)
    bases = [
        base_rule("failed", rule_id="5638f7c0-ac70-491d-8465-2a65075e0d86"),
        *(base_rule(n, name=n) for n in ("recon_cmd_a", "recon_cmd_b", "recon_cmd_c", "rule_a_id",
                                         "website_access", "process_creation")),
    ]
    for example in sorted(folder.glob("*.yml")):
        rules = load([example, write(tmp_path, "bases.yml", *bases)])
        detector = SigmaCorrelationDetector(rules, matcher=by_marker(rules))
        assert detector.errors == [], example.name
        assert len(detector.engine.specs) == 1, example.name
    assert len(list(folder.glob("*.yml"))) == 8


def test_event_count_fires_at_the_hundredth_event_per_group(tmp_path: Path) -> None:
    det = _detector(tmp_path, "event_count.yml", FAILED)
    assert isinstance(det, Detector)
    alerts = []
    for i in range(99):
        alerts += det.detect(event(i * 30, ["failed"], ComputerName="ws1"))
        alerts += det.detect(event(i * 30 + 1, ["failed"], ComputerName="ws2"))
    assert alerts == []
    last = event(99 * 30, ["failed"], ComputerName="ws1")
    alerts = det.detect(last)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["event"]["kind"] == "alert"
    assert alert["rule"]["id"] == "0e95725d-7320-415d-80f7-004da920fc11"
    assert alert["correlation"]["group"] == {"ComputerName": "ws1"}
    assert alert["correlation"]["event_count"] == 100
    assert last["event"]["id"] in alert["alert"]["event_ids"]
    assert alert["@timestamp"] == last["@timestamp"]
    # The 100 events were consumed: the next one starts counting again.
    assert det.detect(event(99 * 30 + 5, ["failed"], ComputerName="ws1")) == []


def test_event_count_needs_the_events_within_the_timespan(tmp_path: Path) -> None:
    det = _detector(tmp_path, "event_count.yml", FAILED)
    # 100 events spread over 100 minutes: never 100 within one hour.
    alerts = [a for i in range(100) for a in det.detect(event(i * 60, ["failed"], ComputerName="ws1"))]
    assert alerts == []
    # State holds only what an hour (plus the lateness tolerance) can still use.
    assert det.engine.state.entry_count() <= 66


def test_event_count_ecs_groups_by_dotted_field(tmp_path: Path) -> None:
    det = _detector(tmp_path, "event_count_ecs.yml", FAILED)
    alerts = []
    for i in range(100):
        ev = event(i, ["failed"])
        ev["dns"] = {"question": {"name": "a.example" if i % 2 else "b.example"}}
        alerts += det.detect(ev)
    assert alerts == []
    for i in range(100, 200):
        ev = event(i, ["failed"])
        ev["dns"] = {"question": {"name": "a.example"}}
        alerts += det.detect(ev)
    assert [a["correlation"]["group"] for a in alerts] == [{"dns.question.name": "a.example"}]
    assert alerts[0]["dns"]["question"]["name"] == "a.example"  # ECS group fields are searchable


def test_value_count_counts_distinct_users(tmp_path: Path) -> None:
    det = _detector(tmp_path, "value_count.yml", FAILED)
    alerts = []
    for i in range(300):  # the same 99 users again and again: 99 distinct values
        alerts += det.detect(event(i, ["failed"], ComputerName="dc1", WorkstationName="w", User=f"u{i % 99}"))
    assert alerts == []
    alerts = det.detect(event(400, ["failed"], ComputerName="dc1", WorkstationName="w", User="u-new"))
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["value"] == 100
    assert alerts[0]["correlation"]["group"] == {"ComputerName": "dc1", "WorkstationName": "w"}


RECON = [base_rule(n, name=n) for n in ("recon_cmd_a", "recon_cmd_b", "recon_cmd_c")]


def test_temporal_any_order_within_five_minutes(tmp_path: Path) -> None:
    det = _detector(tmp_path, "temporal.yml", *RECON)
    kw = {"ComputerName": "ws1", "User": "bob"}
    assert det.detect(event(0, ["recon_cmd_c"], **kw)) == []
    assert det.detect(event(10, ["recon_cmd_a"], **kw)) == []
    assert det.detect(event(20, ["recon_cmd_b"], ComputerName="ws1", User="eve")) == []  # other group
    alerts = det.detect(event(290, ["recon_cmd_b"], **kw))
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["event_count"] == 3
    # Too far apart: 6 minutes between the first and the last.
    assert det.detect(event(1000, ["recon_cmd_a"], **kw)) == []
    assert det.detect(event(1100, ["recon_cmd_b"], **kw)) == []
    assert det.detect(event(1361, ["recon_cmd_c"], **kw)) == []


def test_temporal_ordered_requires_the_order(tmp_path: Path) -> None:
    det = _detector(tmp_path, "temporal_ordered.yml", *RECON)
    kw = {"ComputerName": "ws1", "User": "bob"}
    out = []
    for t, rule in ((0, "recon_cmd_c"), (5, "recon_cmd_b"), (10, "recon_cmd_a")):
        out += det.detect(event(t, [rule], **kw))
    assert out == []  # all three, in the wrong order
    out += det.detect(event(20, ["recon_cmd_b"], **kw))
    assert out == []
    alerts = det.detect(event(30, ["recon_cmd_c"], **kw))  # a(10) b(20) c(30)
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["event_count"] == 3


def test_value_sum_exfiltration(tmp_path: Path) -> None:
    det = _detector(tmp_path, "value_sum.yml", base_rule("website_access", name="website_access"))
    kw = {"SourceIP": "10.0.0.5", "User": "bob"}
    alerts = []
    for i in range(10):
        alerts += det.detect(event(i * 60, ["website_access"], bytes_sent=100_000, **kw))
    assert alerts == []  # exactly 1,000,000: not greater
    alerts = det.detect(event(700, ["website_access"], bytes_sent="1", **kw))
    assert [a["correlation"]["value"] for a in alerts] == [1_000_001]


def test_value_avg_is_decided_when_the_window_closes(tmp_path: Path, clock: object) -> None:
    det = _detector(tmp_path, "value_avg.yml", base_rule("rule_a_id", name="rule_a_id"))
    kw = {"SourceIP": "10.0.0.9", "User": "bob"}
    for i, size in enumerate((400, 700, 600)):  # average 566.67 > 500
        assert det.detect(event(i * 3600, ["rule_a_id"], BytesOut=size, **kw)) == []
    for i, size in enumerate((100, 200)):  # another group, average 150
        assert det.detect(event(i * 3600, ["rule_a_id"], BytesOut=size, SourceIP="10.0.0.1", User="amy")) == []
    assert det.flush(T0 + timedelta(hours=20)) == []  # the 24 h window is still open
    alerts = det.flush(T0 + timedelta(hours=25))
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["value"] == pytest.approx(566.666, rel=1e-4)
    assert alerts[0]["correlation"]["group"] == {"SourceIP": "10.0.0.9", "User": "bob"}
    assert det.engine.state.entry_count() == 0


def test_value_percentile_finds_rare_process_names(tmp_path: Path) -> None:
    # A Sysmon process creation: there the Sigma field Image is the event's Image (on Security
    # 4688 it would be NewProcessName), read through the engine's field map.
    creation = base_rule("process_creation", name="process_creation", logsource="category: process_creation")
    det = _detector(tmp_path, "value_percentile.yml", creation)
    rare = None
    for i in range(200):
        image = "C:\\Windows\\System32\\svchost.exe" if i % 2 else "C:\\Windows\\explorer.exe"
        if i == 150:
            image = "C:\\Users\\Public\\x.exe"
        ev = event(i * 60, ["process_creation"], SYSMON, 1, ComputerName="ws1", Image=image)
        rare = ev if i == 150 else rare
        assert det.detect(ev) == []
    alerts = det.flush(T0 + timedelta(days=2))
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["values"] == ["C:\\Users\\Public\\x.exe"]
    assert rare is not None
    assert alerts[0]["alert"]["event_ids"] == [rare["event"]["id"]]
    assert alerts[0]["correlation"]["value"] == pytest.approx(0.5)


def test_chained_failed_logins_then_success_from_the_specification(tmp_path: Path) -> None:
    path = write(tmp_path, "mr_bruteforce.yml", spec_markdown_block("title: Correlation - Multiple Failed Logins"))
    rules = load([path])
    # A matcher for the two base rules of the example, on their EventID selections.
    by_name = {r.name: r for r in rules.rules}

    def match(ev: dict[str, object]) -> list[object]:
        code = ev["winlog"]["event_data"]["EventID"]  # type: ignore[index]
        return [by_name["failed_login"]] if code in (529, 4625) else [by_name["successful_login"]]

    det = SigmaCorrelationDetector(rules, matcher=match)  # type: ignore[arg-type]
    assert det.errors == []
    events = [event(i * 20, [], EventID=4625, User="admin") for i in range(10)]
    events.append(event(9 * 20 + 30, [], EventID=4624, User="admin"))
    alerts = [a for ev in events for a in det.detect(ev)]
    # Only the outer correlation reports: the inner one feeds it (generate: false).
    assert [a["rule"]["id"] for a in alerts] == ["b180ead8-d58f-40b2-ae54-c8940995b9b6"]
    assert alerts[0]["event"]["severity"] == 73
    assert sorted(alerts[0]["alert"]["event_ids"]) == sorted(e["event"]["id"] for e in events)
    # Nine failures and a success: no alert for another user.
    other = [event(1000 + i, [], EventID=4625, User="bob") for i in range(9)]
    other.append(event(1020, [], EventID=4624, User="bob"))
    assert [a for ev in other for a in det.detect(ev)] == []


def test_aliases_from_the_specification(tmp_path: Path) -> None:
    rules_text = [
        spec_markdown_block("name: internal_error"),
        spec_markdown_block("name: new_network_connection"),
    ]
    correlation = spec_markdown_block("title: —\nid: —\ncorrelation:\n    type: temporal")
    # The published example leaves title and id as dashes; give it real ones to load.
    correlation = correlation.replace(
        "title: —\nid: —", "title: Error then connection\nid: 6f1c2b9e-0d3a-4d6e-9a51-0a4c1c2f7e11")
    # The published base rules carry only name and detection: add the title and logsource
    # that a loadable rule needs.
    bases = [f"title: {t.split(chr(10))[0].removeprefix('name: ')}\nlogsource:\n    category: webserver\n{t}"
             for t in rules_text]
    rules = load([write(tmp_path, "alias.yml", correlation, *bases)])
    det = SigmaCorrelationDetector(rules, matcher=by_marker(rules))
    assert det.errors == []
    error = event(0, ["internal_error"])
    error.update(source={"ip": "203.0.113.7"}, destination={"ip": "10.0.0.2"})
    conn = event(5, ["new_network_connection"])
    conn.update(source={"ip": "10.0.0.2"}, destination={"ip": "203.0.113.7"})
    unrelated = event(6, ["new_network_connection"])
    unrelated.update(source={"ip": "10.0.0.3"}, destination={"ip": "203.0.113.7"})
    assert det.detect(error) == []
    assert det.detect(unrelated) == []
    alerts = det.detect(conn)
    assert len(alerts) == 1
    assert alerts[0]["correlation"]["group"] == {"internal_ip": "10.0.0.2", "remote_ip": "203.0.113.7"}
