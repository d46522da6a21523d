"""Logsource routing and field mapping: a rule sees only the events it is written for."""

from __future__ import annotations

from pathlib import Path

from rules.sigma import fieldmap
from tests.rules.helpers import SYSMON, Both, load_text, rule_yaml, win_event

PROC = "    sel:\n        Image|endswith: '\\mimikatz.exe'\n    condition: sel"


def test_process_creation_sees_sysmon_1_and_security_4688_with_renamed_fields(tmp_path: Path) -> None:
    both = Both(load_text(tmp_path, rule_yaml(PROC)))
    assert both.hits(win_event(SYSMON, 1, Image="C:\\x\\mimikatz.exe")) == ["t"]
    # Security 4688 names the image NewProcessName (pySigma windows-audit pipeline).
    assert both.hits(win_event("Security", 4688, NewProcessName="C:\\x\\mimikatz.exe")) == ["t"]
    assert both.hits(win_event("Security", 4688, Image="C:\\x\\mimikatz.exe")) == []
    # Other Sysmon event ids and channels are not process creations.
    assert both.hits(win_event(SYSMON, 7, Image="C:\\x\\mimikatz.exe")) == []
    assert both.hits(win_event("Application", 1, Image="C:\\x\\mimikatz.exe")) == []


def test_service_rule_sees_its_channel_only(tmp_path: Path) -> None:
    rule = rule_yaml("    sel:\n        EventID: 1102\n    condition: sel",
                     logsource="product: windows\n    service: security")
    both = Both(load_text(tmp_path, rule))
    assert both.hits(win_event("Security", 1102)) == ["t"]
    assert both.hits(win_event("System", 1102)) == []


def test_powershell_script_category_routes_to_4104(tmp_path: Path) -> None:
    rule = rule_yaml("    sel:\n        ScriptBlockText|contains: 'Invoke-Mimikatz'\n    condition: sel",
                     logsource="product: windows\n    category: ps_script")
    both = Both(load_text(tmp_path, rule))
    channel = "Microsoft-Windows-PowerShell/Operational"
    assert both.hits(win_event(channel, 4104, ScriptBlockText="IEX; invoke-mimikatz")) == ["t"]
    assert both.hits(win_event(channel, 4103, ScriptBlockText="IEX; invoke-mimikatz")) == []


def test_webserver_rule_reads_ecs_fields(tmp_path: Path) -> None:
    rule = rule_yaml("    sel:\n        cs-method: 'POST'\n        c-uri|contains: '/wp-login.php'\n    condition: sel",
                     logsource="category: webserver")
    both = Both(load_text(tmp_path, rule))
    event = {"@timestamp": "2026-11-22T12:00:00.000Z",
             "event": {"id": "w1", "kind": "event", "dataset": "nginx.access"},
             "http": {"request": {"method": "post"}}, "url": {"original": "/WP-LOGIN.php?x=1"}}
    assert both.hits(event) == ["t"]
    event["event"]["dataset"] = "system.auth"
    assert both.hits(event) == []


def test_linux_keyword_rule_searches_the_original_line(tmp_path: Path) -> None:
    rule = rule_yaml("    keywords:\n        - 'Accepted publickey'\n    condition: keywords",
                     logsource="product: linux\n    service: sshd")
    both = Both(load_text(tmp_path, rule))
    event = {"event": {"id": "l1", "kind": "event", "dataset": "system.auth",
                       "original": "sshd[1]: accepted publickey for root"}}
    assert both.hits(event) == ["t"]


def test_sigma_columns_view_of_a_windows_event() -> None:
    event = win_event("Microsoft-Windows-Windows Defender/Operational", 1119, Threat_Name="EICAR")
    columns = fieldmap.sigma_columns(event)
    assert columns["EventID"] == "1119"
    assert columns["Channel"] == "Microsoft-Windows-Windows Defender/Operational"
    assert columns["Threat_Name"] == columns["ThreatName"] == "EICAR"
    assert fieldmap.sigma_columns({"event": {"kind": "event"}}) == {}
    # Every System field is read straight under winlog (the hot path relies on it).
    assert all(p.count(".") == 1 for p in fieldmap.WINDOWS_SYSTEM_FIELDS.values())


def test_windows_view_equals_lowercased_sigma_columns_on_the_corpus(evtx_events: list[dict[str, object]]) -> None:
    for event in evtx_events:
        expected = {k.lower(): v for k, v in fieldmap.sigma_columns(event).items()}
        assert fieldmap.windows_view(event) == expected


def test_sigma_detector_is_registered() -> None:
    from rules.sigma import SigmaDetector
    from soc_core.registry import build_registry

    assert build_registry(include_entry_points=False).get("detector", "sigma") is SigmaDetector


def test_flat_columns_names_ecs_fields_the_sigma_way() -> None:
    event = {"event": {"id": "x", "dataset": "nginx.access"}, "url": {"original": "/a?b"},
             "http": {"request": {"method": "GET"}}, "source": {"ip": "10.0.0.1"}}
    columns = fieldmap.flat_columns(event, "webserver")
    assert columns["c-uri"] == "/a?b" and columns["cs-method"] == "GET" and columns["c-ip"] == "10.0.0.1"
    assert columns["url.original"] == "/a?b"
    assert fieldmap.flat_columns(win_event(Image="x"))["Image"] == "x"


def test_rules_without_a_route_are_reported(tmp_path: Path) -> None:
    from rules.sigma import SigmaEngine

    rule = rule_yaml("    sel:\n        query: 'x'\n    condition: sel", logsource="category: database")
    engine = SigmaEngine(load_text(tmp_path, rule))
    assert [r.title for r in engine.unrouted] == ["t"]
    assert engine.match({"event": {"id": "a", "kind": "event", "dataset": "mysql.log"}, "query": "x"}) == []


def test_antivirus_rule_reads_the_signature_from_endpoint_events(tmp_path: Path) -> None:
    rule = rule_yaml("    sel:\n        Signature|contains: 'Mimikatz'\n    condition: sel",
                     logsource="category: antivirus")
    both = Both(load_text(tmp_path, rule))
    event = {"event": {"id": "a", "kind": "event", "dataset": "clamav.log"}, "rule": {"name": "Win.Tool.Mimikatz-1"}}
    assert both.hits(event) == ["t"]
    event["event"]["dataset"] = "nginx.access"
    assert both.hits(event) == []


def test_public_api_is_pinned() -> None:
    import rules.sigma

    assert sorted(rules.sigma.__all__) == [
        "RuleSet", "SigmaDetector", "SigmaEngine", "fieldmap", "iter_rule_files", "load_placeholders", "load_rules",
    ]
