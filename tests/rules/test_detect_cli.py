"""``soc detect``: EVTX and NDJSON inputs to NDJSON alerts with the contract's fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rules.sigma import SigmaEngine, load_rules
from soc_api.commands._common import detectors_for
from soc_api.commands.detect import command
from soc_core.clock import FrozenClock
from tests.conftest import FROZEN_AT, corpus_path

ATTRIB_RULE = """title: Hiding Files with Attrib.exe (test copy)
id: 4281cb20-2994-4580-aa63-c8b86d019934
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\attrib.exe'
        CommandLine|contains: ' +h '
    condition: selection
level: medium
"""


def test_detect_evtx_prints_alerts_with_the_contract_fields(tmp_path: Path) -> None:
    evtx = corpus_path("evtx", "Defense Evasion", "de_hiding_files_via_attrib_cmdlet.evtx")
    (tmp_path / "rule.yml").write_text(ATTRIB_RULE, encoding="utf-8")
    (tmp_path / "broken.yml").write_text("title: [\n", encoding="utf-8")
    result = CliRunner().invoke(command, ["--rules", str(tmp_path), str(evtx)])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert alerts, result.output
    for alert in alerts:
        assert alert["rule"]["id"] == "4281cb20-2994-4580-aa63-c8b86d019934"
        assert alert["event"]["kind"] == "alert"
        assert alert["log"]["file"]["path"] == str(evtx)
        assert isinstance(alert["log"]["offset"], int)
        assert alert["winlog"]["channel"] == "Microsoft-Windows-Sysmon/Operational"
        assert alert["winlog"]["record_id"]
        assert "attrib" in alert["winlog"]["event_data"]["Image"].lower()
    assert "broken.yml:" in result.stderr


def test_detect_reads_ndjson_events_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(ATTRIB_RULE, encoding="utf-8")
    event = {"@timestamp": "2026-11-22T12:00:00.000Z",
             "event": {"id": "e1", "kind": "event"},
             "log": {"file": {"path": "/var/log/x.json"}, "offset": 7},
             "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1", "record_id": "9",
                        "event_data": {"Image": "C:\\Windows\\attrib.exe", "CommandLine": "attrib +h x"}}}
    miss = {**event, "event": {"id": "e2", "kind": "event"}, "winlog": {**event["winlog"], "event_data": {}}}
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text(json.dumps(event) + "\n" + json.dumps(miss) + "\n", encoding="utf-8")
    result = CliRunner().invoke(command, ["--rules", str(tmp_path / "rule.yml"), str(ndjson)])
    assert result.exit_code == 0, result.output
    (alert,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert alert["alert"]["event_ids"] == ["e1"]
    assert alert["log"] == {"file": {"path": "/var/log/x.json"}, "offset": 7}


def test_detect_parses_raw_logs_with_the_auto_parser_and_routes_webserver_rules(tmp_path: Path) -> None:
    log = corpus_path("beats_filebeat", "apache", "access", "test.log")
    rule = tmp_path / "web.yml"
    rule.write_text("""title: favicon miss
id: 00000000-0000-0000-0000-0000000000aa
logsource:
    category: webserver
detection:
    sel:
        cs-method: 'get'
        c-uri|endswith: '/favicon.ico'
        sc-status: 404
    condition: sel
level: low
""", encoding="utf-8")
    result = CliRunner().invoke(command, ["--rules", str(rule), str(log)])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["url"]["original"] for a in alerts] == ["/favicon.ico"]
    assert alerts[0]["log"]["file"]["path"] == str(log) and alerts[0]["log"]["offset"] == 0
    assert alerts[0]["event"]["severity"] == 21


BRUTE_FORCE_RULES = """title: SSH Failure (test)
id: 6a1e2b3c-0000-4000-8000-000000000001
name: ssh_failure_test
logsource: {product: linux, service: auth}
detection:
    selection:
        process.name: sshd
        event.outcome: failure
    condition: selection
level: low
---
title: SSH Failures From One Source (test)
id: 6a1e2b3c-0000-4000-8000-000000000002
correlation:
    type: event_count
    rules: ssh_failure_test
    group-by: [source.ip]
    timespan: 10m
    condition:
        gte: 4
level: high
"""


def _auth_lines(source_ip: str, count: int, start_minute: int) -> list[str]:
    return [f"Nov 22 10:{start_minute + i:02d}:00 cam-srv-01 sshd[{100 + i}]: Failed password for root from "
            f"{source_ip} port {40000 + i} ssh2" for i in range(count)]


def test_detect_runs_correlation_rules_over_the_sigma_matches(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(BRUTE_FORCE_RULES, encoding="utf-8")
    log = tmp_path / "auth.log"
    # Five failures from one address within 10 minutes, three from another: one brute force.
    log.write_text("\n".join(_auth_lines("203.0.113.7", 5, 0) + _auth_lines("198.51.100.9", 3, 20)) + "\n")
    result = CliRunner().invoke(command, ["--rules", str(tmp_path / "rules.yml"), "--parser", "system.auth",
                                          "--stats", str(log)])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    singles = [a for a in alerts if a["rule"]["name"] == "SSH Failure (test)"]
    correlated = [a for a in alerts if a["rule"]["name"] == "SSH Failures From One Source (test)"]
    assert len(singles) == 8
    assert len(correlated) == 1
    # The correlation alert names the events that made it: the first four failures of 203.0.113.7.
    first_four = [a["alert"]["event_ids"][0] for a in singles if a["source"]["ip"] == "203.0.113.7"][:4]
    assert correlated[0]["alert"]["event_ids"][:4] == first_four
    assert "alerts=9" in result.stderr


def test_the_correlation_detector_reuses_the_sigma_detectors_matches(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(BRUTE_FORCE_RULES, encoding="utf-8")
    ruleset = load_rules([str(path)])
    engine = SigmaEngine(ruleset)
    calls = 0
    real_match = engine.match

    def counting_match(event: dict[str, object]) -> list[object]:
        nonlocal calls
        calls += 1
        return real_match(event)  # type: ignore[arg-type]

    engine.match = counting_match  # type: ignore[method-assign]
    detectors = detectors_for(ruleset, FrozenClock(FROZEN_AT), engine)
    assert [d.name for d in detectors] == ["sigma", "sigma_correlation"]
    events = [{"@timestamp": f"2026-11-22T10:0{i}:00.000Z", "event": {"id": f"e{i}", "kind": "event",
               "dataset": "system.auth", "outcome": "failure"}, "process": {"name": "sshd"},
               "source": {"ip": "203.0.113.7"}} for i in range(5)]
    fired = [alert for event in events for d in detectors for alert in d.detect(event)]
    assert calls == len(events)  # once per event, not once per detector
    assert sum(1 for a in fired if a["rule"]["name"] == "SSH Failures From One Source (test)") == 1


def test_builtin_rules_find_a_brute_force_on_the_firewall_console() -> None:
    # CrowdSec's pfsense-gui-auth sample: nine failed web GUI logins from 10.0.0.1 in 16 seconds.
    log = corpus_path("crowdsec_hub_tests", "pfsense-gui-auth", "pfsense-gui-auth.log")
    builtin = Path(__file__).resolve().parents[2] / "rules" / "builtin"
    result = CliRunner().invoke(command, ["--rules", str(builtin), str(log)])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    names = [a["rule"]["name"] for a in alerts]
    assert names.count("Firewall Authentication Failure") == 9
    brute = [a for a in alerts if a["rule"]["name"] == "Firewall Login Brute Force From One Source"]
    assert len(brute) == 1 and len(brute[0]["alert"]["event_ids"]) == 5
    assert brute[0]["source"]["ip"] == "10.0.0.1"


def test_second_detect_run_uses_the_rule_cache_and_prints_the_same(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    evtx = corpus_path("evtx", "Defense Evasion", "de_hiding_files_via_attrib_cmdlet.evtx")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rule.yml").write_text(ATTRIB_RULE, encoding="utf-8")
    (tmp_path / "rules" / "broken.yml").write_text("title: [\n", encoding="utf-8")
    monkeypatch.setenv("SOC_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--stats", "--rules", str(tmp_path / "rules"), str(evtx)]
    first, second = CliRunner().invoke(command, args), CliRunner().invoke(command, args)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "rule cache: miss" in first.stderr and "rule cache: hit" in second.stderr

    def stable(out: str) -> list[dict[str, object]]:
        alerts = [json.loads(line) for line in out.splitlines()]
        for alert in alerts:
            alert["event"].pop("created")
        return alerts

    assert stable(second.stdout) == stable(first.stdout) != []
    assert "broken.yml:" in second.stderr  # the broken rule is still reported from the cache
    nocache = CliRunner().invoke(command, ["--no-cache", *args])
    assert "rule cache: off" in nocache.stderr and stable(nocache.stdout) == stable(first.stdout)
