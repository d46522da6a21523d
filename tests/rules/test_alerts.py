"""Alert documents and the ATT&CK lookup table."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from rules.alerts import SEVERITY, build_alert
from rules.attack import DATA_FILE, load_attack_table
from rules.sigma import SigmaDetector, SigmaEngine
from rules.tools.build_attack_table import build_table
from soc_core.clock import FrozenClock
from soc_core.contracts import Detector
from tests.conftest import FROZEN_AT, corpus_path
from tests.rules.helpers import load_text, rule_yaml, win_event

DETECTION = "    sel:\n        Image|endswith: '\\a.exe'\n    condition: sel"


def test_alert_carries_event_rule_severity_and_attack(tmp_path: Path) -> None:
    ruleset = load_text(tmp_path, rule_yaml(DETECTION, title="A ran"))
    (rule,) = ruleset.rules
    event = win_event(Image="C:\\a.exe", record_id=42)
    alert = build_alert(event, rule, created=FROZEN_AT, attack=load_attack_table())
    assert alert["event"]["kind"] == "alert"
    assert alert["event"]["severity"] == SEVERITY["high"] == 73
    assert alert["event"]["created"] == "2026-11-22T12:00:00.000Z"
    assert alert["rule"]["id"] == "00000000-0000-0000-0000-000000000001"
    assert alert["rule"]["name"] == "A ran"
    assert alert["alert"]["event_ids"] == ["ev-42"]
    assert alert["winlog"]["record_id"] == "42" and alert["log"]["offset"] == 42
    assert alert["threat"]["tactic"]["id"] == ["TA0002"]
    assert alert["threat"]["technique"]["id"] == ["T1059"]
    assert alert["threat"]["technique"]["subtechnique"]["name"] == ["PowerShell"]
    assert event["event"]["kind"] == "event"  # the source event is not modified


def test_alert_id_is_deterministic_and_depends_on_rule_and_event(tmp_path: Path) -> None:
    (rule,) = load_text(tmp_path, rule_yaml(DETECTION)).rules
    a = build_alert(win_event(record_id=1), rule)["event"]["id"]
    assert a == build_alert(win_event(record_id=1), rule)["event"]["id"]
    assert a != build_alert(win_event(record_id=2), rule)["event"]["id"]
    assert a != build_alert(win_event(record_id=1), rule, event_ids=["ev-1", "ev-2"])["event"]["id"]


def test_detector_contract(tmp_path: Path) -> None:
    detector = SigmaDetector(SigmaEngine(load_text(tmp_path, rule_yaml(DETECTION))), clock=FrozenClock(FROZEN_AT))
    assert isinstance(detector, Detector)
    event = win_event(Image="C:\\a.exe")
    (alert,) = detector.detect(event)
    assert alert["event"]["created"] == "2026-11-22T12:00:00.000Z"
    assert detector.detect(alert) == []  # alerts flowing by do not fire raw-event rules
    assert detector.detect(win_event(Image="C:\\b.exe")) == []
    assert detector.flush(FROZEN_AT) == []


def test_tactic_tags_and_technique_fallback() -> None:
    table = load_attack_table()
    threat = table.threat(["attack.t1003.001"])  # no tactic tag: the technique's own
    assert threat["tactic"]["name"] == ["Credential Access"]
    assert table.threat(["attack.defense_evasion"])["tactic"]["id"] == ["TA0005"]
    assert table.threat(["cve.2021-1234", "attack.t9999"]) == {}


def test_shipped_attack_table_is_what_the_script_builds_from_the_corpus() -> None:
    bundle_path = corpus_path("stix_misp", "mitre-cti", "enterprise-attack.assembled.json.gz")
    with gzip.open(bundle_path, "rt", encoding="utf-8") as stream:
        built = build_table(json.load(stream))
    assert json.loads(DATA_FILE.read_text(encoding="utf-8")) == built
    assert len(built["techniques"]) > 600 and len(built["tactics"]) == 14


def test_detector_from_paths(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(rule_yaml(DETECTION), encoding="utf-8")
    detector = SigmaDetector.from_paths([str(tmp_path)], clock=FrozenClock(FROZEN_AT))
    assert [a["rule"]["name"] for a in detector.detect(win_event(Image="C:\\a.exe"))] == ["t"]


def test_correlation_alert_lists_its_events(tmp_path: Path) -> None:
    from rules.sigma import load_rules

    (tmp_path / "r.yml").write_text(rule_yaml(DETECTION).replace("title: t", "title: t\nname: base"), encoding="utf-8")
    (tmp_path / "c.yml").write_text("""title: many a.exe
id: 00000000-0000-0000-0000-0000000000cc
correlation:
    type: event_count
    rules:
        - base
    group-by:
        - Computer
    timespan: 5m
    condition:
        gte: 2
level: critical
tags:
    - attack.t1059
""", encoding="utf-8")
    (corr,) = load_rules([str(tmp_path)]).correlations
    events = [win_event(Image="C:\\a.exe", record_id=i) for i in (1, 2)]
    alert = build_alert(events[-1], corr, event_ids=["ev-1", "ev-2"], attack=load_attack_table())
    assert alert["alert"]["event_ids"] == ["ev-1", "ev-2"]
    assert alert["alert"]["correlation_type"] == "event_count"
    assert alert["rule"]["id"] == "00000000-0000-0000-0000-0000000000cc"
    assert alert["event"]["severity"] == 99
    assert alert["threat"]["technique"]["id"] == ["T1059"]
