"""``soc detect``: EVTX and NDJSON inputs to NDJSON alerts with the contract's fields."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from soc_api.commands.detect import command
from tests.conftest import corpus_path

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
