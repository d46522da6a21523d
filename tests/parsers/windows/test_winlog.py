"""The ``winlog`` reader and parser: EVTX files, JSON exports, Winlogbeat documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from parsers.base import ParserOptions
from parsers.windows.winlog import SystemSecurityParser, WinlogParser, iter_json_raw, read_evtx
from soc_core.clock import FrozenClock
from soc_core.errors import InputDamaged, ParseError
from soc_core.event import RawEvent
from tests.conftest import FROZEN_AT, corpus_path

RECEIVED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _parser() -> WinlogParser:
    return WinlogParser(ParserOptions(clock=FrozenClock(FROZEN_AT)))


def _record(system: dict[str, Any], event_data: Any = None, user_data: Any = None) -> dict[str, Any]:
    """An evtx-JSON record (the layout the evtx package and SigmaHQ exports use)."""
    event: dict[str, Any] = {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                                     "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
        "EventID": 4624, "Version": 2, "Level": 0, "Task": 12544, "Opcode": 0,
        "Keywords": "0x8020000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": "2019-05-16T13:10:13.760917Z"}},
        "EventRecordID": 1042, "Correlation": None,
        "Execution": {"#attributes": {"ProcessID": 588, "ThreadID": 4600}},
        "Channel": "Security", "Computer": "dc1.example.local", "Security": None,
        **system,
    }}
    if event_data is not None:
        event["EventData"] = event_data
    if user_data is not None:
        event["UserData"] = user_data
    return {"Event": event}


def _raw(record: dict[str, Any], offset: int | None = 0) -> RawEvent:
    return RawEvent(data=orjson.dumps(record), source="/logs/sample.json", received=RECEIVED, offset=offset)


def test_logon_record_gets_winlogbeat_fields_and_ecs() -> None:
    record = _record({}, {
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "DC1$", "SubjectDomainName": "EXAMPLE",
        "SubjectLogonId": "0x3e7", "TargetUserSid": "S-1-5-21-1-2-3-1104", "TargetUserName": "alice",
        "TargetDomainName": "EXAMPLE", "TargetLogonId": "0x8dcdc", "LogonType": 10,
        "WorkstationName": "WS-07", "ProcessId": "0x244", "ProcessName": "C:\\Windows\\System32\\winlogon.exe",
        "IpAddress": "::ffff:10.1.2.3", "IpPort": "51112",
    })
    event = _parser().parse(_raw(record))
    winlog = event["winlog"]
    assert winlog["event_id"] == "4624"
    assert winlog["record_id"] == "1042"
    assert winlog["channel"] == "Security"
    assert winlog["provider_name"] == "Microsoft-Windows-Security-Auditing"
    assert winlog["provider_guid"] == "{54849625-5478-4994-A5BA-3E3B0328C30D}"
    assert winlog["computer_name"] == "dc1.example.local"
    assert winlog["process"] == {"pid": 588, "thread": {"id": 4600}}
    assert winlog["keywords"] == ["Audit Success"]
    # Raw names and text values, as Winlogbeat writes event_data.
    assert winlog["event_data"]["LogonType"] == "10"
    assert winlog["event_data"]["TargetUserName"] == "alice"
    assert winlog["logon"]["type"] == "RemoteInteractive"
    assert event["@timestamp"] == "2019-05-16T13:10:13.760917Z"
    assert event["event"]["code"] == "4624"
    assert event["event"]["dataset"] == "system.security"
    assert event["event"]["action"] == "logged-in"
    assert event["event"]["outcome"] == "success"
    assert event["user"] == {"id": "S-1-5-21-1-2-3-1104", "name": "alice", "domain": "EXAMPLE"}
    assert event["source"] == {"ip": "10.1.2.3", "port": 51112, "domain": "WS-07"}
    assert event["process"]["pid"] == 0x244
    assert event["process"]["name"] == "winlogon.exe"
    assert sorted(event["related"]["user"]) == ["DC1$", "alice"]
    assert event["log"]["offset"] == 0


def test_unnamed_data_becomes_params_and_qualifiers_are_kept() -> None:
    record = _record({"Provider": {"#attributes": {"Name": "Service Control Manager"}},
                      "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045}, "Channel": "System",
                      "Keywords": "0x8080000000000000"},
                     {"Data": {"#text": ["PSEXESVC", "%SystemRoot%\\PSEXESVC.exe", "user mode service"]}})
    event = _parser().parse(_raw(record))
    assert event["winlog"]["event_id"] == "7045"
    assert event["winlog"]["event_id_qualifiers"] == "16384"
    assert event["winlog"]["event_data"] == {
        "param1": "PSEXESVC", "param2": "%SystemRoot%\\PSEXESVC.exe", "param3": "user mode service"}
    assert event["winlog"]["keywords"] == ["Classic"]
    assert event["event"]["dataset"] == "system.system"


def test_user_data_keeps_element_name_and_feeds_log_cleared_user() -> None:
    record = _record({"Provider": {"#attributes": {"Name": "Microsoft-Windows-Eventlog"}}, "EventID": 1102},
                     user_data={"LogFileCleared": {"#attributes": {"xmlns": "http://manifests.microsoft.com"},
                                                   "SubjectUserSid": "S-1-5-21-1-2-3-500",
                                                   "SubjectUserName": "admin", "SubjectDomainName": "EXAMPLE",
                                                   "SubjectLogonId": "0x5c3e1"}})
    event = _parser().parse(_raw(record))
    assert event["winlog"]["user_data"]["xml_name"] == "LogFileCleared"
    assert event["event"]["action"] == "audit-log-cleared"
    assert event["user"] == {"id": "S-1-5-21-1-2-3-500", "name": "admin", "domain": "EXAMPLE"}
    assert event["winlog"]["logon"]["id"] == "0x5c3e1"


def test_process_creation_4688_maps_process_tree() -> None:
    record = _record({"EventID": 4688}, {
        "SubjectUserSid": "S-1-5-21-1-2-3-1104", "SubjectUserName": "alice", "SubjectDomainName": "EXAMPLE",
        "SubjectLogonId": "0x8dcdc", "NewProcessId": "0x1a2c", "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "TokenElevationType": "%%1936", "ProcessId": "0x0f10", "CommandLine": 'cmd.exe /c "whoami /all"',
        "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": "C:\\Windows\\explorer.exe", "MandatoryLabel": "S-1-16-8192"})
    event = _parser().parse(_raw(record))
    assert event["process"]["pid"] == 0x1A2C
    assert event["process"]["name"] == "cmd.exe"
    assert event["process"]["args"] == ["cmd.exe", "/c", '"whoami /all"']
    assert event["process"]["parent"] == {"executable": "C:\\Windows\\explorer.exe", "name": "explorer.exe",
                                          "pid": 0xF10}
    assert event["user"]["effective"] == {"id": "S-1-0-0"}
    # Detection rules need the original names untouched.
    assert event["winlog"]["event_data"]["NewProcessName"] == "C:\\Windows\\System32\\cmd.exe"


def test_sysmon_process_create_and_dns() -> None:
    sysmon = {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
              "Channel": "Microsoft-Windows-Sysmon/Operational", "Keywords": "0x8000000000000000"}
    create = _record({**sysmon, "EventID": 1}, {
        "UtcTime": "2019-05-16 13:10:13.759", "ProcessGuid": "{A-B}", "ProcessId": 3580,
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "CommandLine": "powershell.exe -nop -enc SQBFAFgA", "User": "EXAMPLE\\alice",
        "Hashes": "SHA1=AAAA,MD5=BBBB,SHA256=CCCC,IMPHASH=DDDD", "ParentProcessId": 2124,
        "ParentImage": "C:\\Windows\\System32\\cmd.exe", "OriginalFileName": "PowerShell.EXE"})
    event = _parser().parse(_raw(create))
    assert event["event"]["dataset"] == "windows.sysmon_operational"
    assert event["event"]["category"] == ["process"]
    assert event["process"]["pid"] == 3580
    assert event["process"]["parent"]["name"] == "cmd.exe"
    assert event["process"]["hash"] == {"sha1": "aaaa", "md5": "bbbb", "sha256": "cccc"}
    assert event["process"]["pe"]["imphash"] == "dddd"
    assert event["process"]["args"] == ["powershell.exe", "-nop", "-enc", "SQBFAFgA"]
    assert event["event"]["action"] == "Process creation"
    # Sysmon's UtcTime is the event time; the record's TimeCreated becomes event.created.
    assert event["@timestamp"] == "2019-05-16T13:10:13.759Z"
    assert event["event"]["created"] == "2019-05-16T13:10:13.760917Z"
    assert event["process"]["pe"]["original_file_name"] == "PowerShell.EXE"
    assert event["user"] == {"name": "alice", "domain": "EXAMPLE"}
    assert event["winlog"]["event_data"]["ProcessId"] == "3580"
    dns = _record({**sysmon, "EventID": 22}, {
        "QueryName": "evil.example.com", "QueryStatus": "0",
        "QueryResults": "type:  5 cdn.example.net;192.0.2.10;::ffff:192.0.2.11;", "Image": "C:\\x.exe"})
    event = _parser().parse(_raw(dns))
    assert event["dns"]["question"]["name"] == "evil.example.com"
    assert event["dns"]["resolved_ip"] == ["192.0.2.10", "192.0.2.11"]
    assert event["dns"]["answers"][0] == {"type": "CNAME", "data": "cdn.example.net"}


def test_winlogbeat_document_is_normalised() -> None:
    doc = {"@timestamp": "2021-04-15T19:03:52.909Z", "host": {"name": "vagrant"},
           "winlog": {"channel": "Security", "event_id": 4725, "record_id": 77, "provider_name":
                      "Microsoft-Windows-Security-Auditing", "time_created": "2019-09-06T13:28:40.001Z",
                      "event_data": {"SubjectUserName": "Administrator", "TargetUserName": "bob",
                                     "TargetSid": "S-1-5-21-9-1001", "SubjectUserSid": "S-1-5-21-9-500",
                                     "SubjectDomainName": "WIN", "TargetDomainName": "WIN"}},
           "event": {"kind": "event", "code": 4725}}
    event = SystemSecurityParser().parse(_raw(doc, offset=None))
    assert event["winlog"]["event_id"] == "4725"
    assert event["winlog"]["record_id"] == "77"
    assert event["@timestamp"] == "2019-09-06T13:28:40.001Z"
    assert event["event"]["action"] == "disabled-user-account"
    assert event["user"]["target"] == {"id": "S-1-5-21-9-1001", "name": "bob", "domain": "WIN"}
    assert "log" not in event


@pytest.mark.parametrize("payload", [
    b"", b"[]", b"null", b"{", b'{"Event": 3}', b'{"Event": {"System": {}}}',
    b'{"winlog": {"channel": "Security"}}', b'{"something": "else"}',
])
def test_unusable_input_raises_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        _parser().parse(RawEvent(data=payload, source="x", received=RECEIVED))


def test_json_export_layouts_and_offsets(tmp_path: Path) -> None:
    one = _record({"EventRecordID": 1})
    two = _record({"EventRecordID": 2})
    ndjson = tmp_path / "export.ndjson"
    ndjson.write_bytes(orjson.dumps(one) + b"\n" + orjson.dumps(two) + b"\n")
    offsets = [raw.offset for raw in iter_json_raw(str(ndjson), RECEIVED)]
    assert offsets == [0, len(orjson.dumps(one)) + 1]
    pretty = tmp_path / "export.json"  # concatenated pretty-printed objects, as in SigmaHQ data
    pretty.write_text(json.dumps(one, indent=2) + "\n" + json.dumps(two, indent=2) + "\n")
    events = [_parser().parse(raw) for raw in _parser().read_file(str(pretty), RECEIVED)]
    assert [e["winlog"]["record_id"] for e in events] == ["1", "2"]
    array = tmp_path / "array.json"
    array.write_text(json.dumps([one, two]))
    assert len(list(_parser().read_file(str(array), RECEIVED))) == 2
    wrapped = tmp_path / "pipeline-test.json"
    wrapped.write_text(json.dumps({"events": [{"winlog": {"event_id": 4634, "channel": "Security"}}]}))
    raws = list(_parser().read_file(str(wrapped), RECEIVED))
    assert [r.offset for r in raws] == [None]
    bad = tmp_path / "broken.json"
    bad.write_text('{"Event": ')
    with pytest.raises(ParseError):
        list(iter_json_raw(str(bad), RECEIVED))


def test_read_evtx_whole_corpus() -> None:
    """Every record of every EVTX file parses, with the fields detection rules use."""
    files = sorted(corpus_path("evtx").rglob("*.evtx"))
    assert len(files) > 200
    total = 0
    channels: set[str] = set()
    for path in files:
        offsets: set[int] = set()
        for event in read_evtx(str(path)):
            total += 1
            assert event["event"]["kind"] != "pipeline_error", event.get("error")
            winlog = event["winlog"]
            assert winlog["event_id"].isdigit()
            assert winlog["record_id"].isdigit()
            assert "provider_name" in winlog
            channels.add(winlog.get("channel", ""))
            offsets.add(event["log"]["offset"])
        # The offset identifies the record within its file (and so the event id).
        assert len(offsets) == sum(1 for _ in read_evtx(str(path))), path
    assert total > 6000
    assert {"Security", "Microsoft-Windows-Sysmon/Operational", "Windows PowerShell"} <= channels


def test_read_evtx_defender_detection() -> None:
    path = corpus_path("evtx", "AutomatedTestingTools", "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
    events = list(read_evtx(str(path)))
    detections = [e for e in events if e["event"]["code"] == "1116"]
    assert detections
    first = detections[0]
    assert first["event"]["dataset"] == "windows.windows_defender"
    assert first["event"]["action"] == "malware-detected"
    assert first["event"]["category"] == ["malware"]
    assert first["event"]["outcome"] == "success"
    assert first["winlog"]["event_data"]["Threat_Name"] == "Trojan:PowerShell/Powersploit.M"
    assert first["threat"]["software"]["name"] == "Trojan:PowerShell/Powersploit.M"
    assert first["file"]["path"] == "C:\\AtomicRedTeam\\atomic-red-team-master\\atomics\\T1056\\Get-Keystrokes.ps1"
    assert first["file"]["name"] == "Get-Keystrokes.ps1"
    assert first["file"]["extension"] == "ps1"
    assert first["process"]["name"] == "powershell.exe"
    assert first["user"] == {"name": "IEUser", "domain": "MSEDGEWIN10"}


def _comparable(event: dict[str, Any]) -> tuple[Any, ...]:
    winlog = event["winlog"]
    # The JSON exports trim trailing blanks and, once, differ in letter case from the
    # binary log: compare values the way a case-insensitive rule would.
    data = {k: v.strip().casefold() if isinstance(v, str) else v for k, v in (winlog.get("event_data") or {}).items()}
    return winlog["record_id"], winlog["event_id"], winlog.get("channel"), sorted(data.items())


def test_sigma_regression_json_matches_its_evtx() -> None:
    """Each SigmaHQ regression folder holds the same events as .evtx and .json."""
    root = corpus_path("sigma", "sigmahq", "regression_data")
    compared = 0
    for export in sorted(root.rglob("*.json")):
        binaries = sorted(export.parent.glob("*.evtx"))
        from_json = [_parser().parse(raw) for raw in _parser().read_file(str(export), RECEIVED)]
        assert from_json, export
        if not binaries:
            continue
        from_evtx = [_parser().parse(raw) for raw in _parser().read_file(str(binaries[0]), RECEIVED)]
        assert sorted(map(_comparable, from_json)) == sorted(map(_comparable, from_evtx)), export
        compared += 1
    assert compared > 100


@pytest.mark.parametrize(("command_line", "args"), [
    ('"C:\\Program Files\\a b\\x.exe" -f "c d"', ["C:\\Program Files\\a b\\x.exe", "-f", "c d"]),
    ('x.exe "a\\"b" c\\\\d', ["x.exe", 'a"b', "c\\\\d"]),
    ('x.exe "a\\\\" b', ["x.exe", "a\\", "b"]),
    ('x.exe "say ""hi"""', ["x.exe", 'say "hi"']),
    ("  x.exe\t a  ", ["x.exe", "a"]),
])
def test_command_line_to_argv_follows_windows_rules(command_line: str, args: list[str]) -> None:
    from parsers.windows.fields import command_line_to_argv

    assert command_line_to_argv(command_line) == args


def test_sysmon_registry_value_set() -> None:
    record = _record({"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 13,
                      "Channel": "Microsoft-Windows-Sysmon/Operational"},
                     {"EventType": "SetValue", "UtcTime": "2020-01-01 00:00:00.000", "Image": "C:\\reg.exe",
                      "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil",
                      "Details": "DWORD (0x00000010)"})
    event = _parser().parse(_raw(record))
    assert event["registry"] == {
        "path": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil", "hive": "HKLM",
        "key": "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil", "value": "evil",
        "data": {"strings": ["16"], "type": "SZ_DWORD"}}
    assert event["winlog"]["event_data"]["TargetObject"].endswith("\\evil")


def test_nxlog_json_record() -> None:
    """NXLog im_msvistalog JSON: core fields plus the event data as top-level members."""
    record = {"EventTime": "2021-03-04 10:11:12", "Hostname": "dc1.example.local", "Keywords": -9214364837600034816,
              "EventType": "AUDIT_FAILURE", "SeverityValue": 4, "Severity": "ERROR", "EventID": 4625,
              "SourceName": "Microsoft-Windows-Security-Auditing", "Task": 12544, "RecordNumber": 88001,
              "ProcessID": 600, "ThreadID": 7044, "Channel": "Security", "Category": "Logon",
              "Message": "An account failed to log on.", "SubjectUserSid": "S-1-0-0", "TargetUserName": "admin",
              "TargetDomainName": "EXAMPLE", "TargetUserSid": "S-1-0-0", "LogonType": "3", "Status": "0xc000006d",
              "IpAddress": "198.51.100.7", "IpPort": "50123", "WorkstationName": "KALI",
              "EventReceivedTime": "2021-03-04 10:11:13", "SourceModuleName": "eventlog"}
    parser = WinlogParser(ParserOptions(tz=timezone(timedelta(hours=7)), clock=FrozenClock(FROZEN_AT)))
    event = parser.parse(_raw(record))
    assert event["@timestamp"] == "2021-03-04T03:11:12.000Z"
    assert event["winlog"]["record_id"] == "88001"
    assert event["winlog"]["event_data"]["Status"] == "0xc000006d"
    assert "Message" not in event["winlog"]["event_data"]
    assert event["event"]["outcome"] == "failure"
    assert event["event"]["action"] == "logon-failed"
    assert event["user"]["name"] == "admin"
    assert event["source"] == {"ip": "198.51.100.7", "port": 50123, "domain": "KALI"}


def test_powershell_classic_800_details() -> None:
    record = _record({"Provider": {"#attributes": {"Name": "PowerShell"}}, "Channel": "Windows PowerShell",
                      "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 800}, "Keywords": "0x80000000000000"},
                     {"Data": {"#text": [
                         "Get-Item x",
                         "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=15\r\n\r\n\tUserId=DESK\\bob\r\n"
                         "\tHostName=ConsoleHost\r\n\tHostVersion=5.1.1\r\n\tHostId=8b1e\r\n"
                         "\tHostApplication=powershell.exe -nop -w hidden\r\n\tEngineVersion=5.1.1\r\n"
                         "\tRunspaceId=r-1\r\n\tPipelineId=3\r\n\tScriptName=\r\n\tCommandLine=Get-Item x",
                         'CommandInvocation(Get-Item): "Get-Item"\r\n'
                         'ParameterBinding(Get-Item): name="Path"; value="x"',
                     ]}})
    event = _parser().parse(_raw(record))
    assert event["event"]["dataset"] == "windows.powershell"
    assert event["event"]["type"] == ["info"]
    assert event["event"]["sequence"] == 15
    assert event["process"]["command_line"] == "powershell.exe -nop -w hidden"
    assert event["process"]["args"] == ["powershell.exe", "-nop", "-w", "hidden"]
    assert event["process"]["title"] == "ConsoleHost"
    assert event["user"] == {"domain": "DESK", "name": "bob"}
    assert event["powershell"]["engine"]["version"] == "5.1.1"
    assert event["powershell"]["command"]["value"] == "Get-Item x"
    assert event["powershell"]["command"]["invocation_details"] == [
        {"type": "CommandInvocation", "related_command": "Get-Item", "value": '"Get-Item"'},
        {"type": "ParameterBinding", "related_command": "Get-Item", "name": '"Path"', "value": '"x"'}]
    # Rules read the positional parameter and the lifted keys alike.
    assert event["winlog"]["event_data"]["HostApplication"] == "powershell.exe -nop -w hidden"
    assert event["winlog"]["event_data"]["param1"] == "Get-Item x"


def test_share_and_firewall_events_get_network_fields() -> None:
    share = _record({"EventID": 5145}, {
        "SubjectUserSid": "S-1-5-21-1-2-3-1104", "SubjectUserName": "alice", "SubjectDomainName": "EXAMPLE",
        "SubjectLogonId": "0x1", "ObjectType": "File", "IpAddress": "::ffff:172.16.66.25", "IpPort": "50251",
        "ShareName": "\\\\*\\C$", "ShareLocalPath": "\\??\\C:\\", "RelativeTargetName": "Windows\\Temp\\x.exe"})
    event = _parser().parse(_raw(share))
    assert event["source"] == {"ip": "172.16.66.25", "port": 50251}
    assert event["file"] == {"path": "\\??\\C:\\Windows\\Temp\\x.exe", "name": "x.exe"}
    assert event["user"]["name"] == "alice"
    connection = _record({"EventID": 5156}, {
        "ProcessID": "4", "Application": "System", "Direction": "%%14592", "SourceAddress": "10.0.0.5",
        "SourcePort": "445", "DestAddress": "10.0.0.9", "DestPort": "52000", "Protocol": "6"})
    event = _parser().parse(_raw(connection))
    # Inbound: the remote end (Dest* in the record's own terms is the peer) is the source.
    assert event["network"] == {"direction": "ingress", "transport": "tcp"}
    assert event["source"] == {"ip": "10.0.0.9", "port": 52000}
    assert event["destination"] == {"ip": "10.0.0.5", "port": 445}


def test_damaged_evtx_files_raise_parse_error(tmp_path: Path) -> None:
    original = corpus_path("evtx", "AutomatedTestingTools", "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
    data = original.read_bytes()
    header_only = tmp_path / "header-only.evtx"
    header_only.write_bytes(b"ElfFile\x00" + bytes(range(256)) * 8)
    with pytest.raises(ParseError):
        list(read_evtx(str(header_only)))
    # An unreadable chunk: the other chunks' records come out first (none here), then
    # the damage is raised with the chunk's offset (issue #21 item 6).
    overwritten = tmp_path / "chunk-overwritten.evtx"
    overwritten.write_bytes(data[:4096] + bytes(60000) + data[64096:])
    with pytest.raises(InputDamaged, match="unreadable EVTX chunk") as info:
        list(read_evtx(str(overwritten)))
    assert info.value.offset == 4096
    truncated = tmp_path / "truncated.evtx"
    truncated.write_bytes(data[:70000])  # whole records before the cut still come out
    assert len(list(read_evtx(str(truncated)))) > 0


def test_winlogbeat_document_without_time_created_keeps_its_timestamp() -> None:
    doc = {"@timestamp": "2021-04-15T19:03:52.909Z",
           "winlog": {"channel": "Security", "event_id": 4634, "provider_name": "Microsoft-Windows-Security-Auditing"}}
    event = _parser().parse(_raw(doc, offset=None))
    assert event["@timestamp"] == "2021-04-15T19:03:52.909Z"


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_times_keep_receive_time(stamp: str) -> None:
    record = _record({"TimeCreated": {"#attributes": {"SystemTime": stamp}}})
    assert _parser().parse(_raw(record))["@timestamp"] == "2026-11-22T12:00:00.000Z"
    doc = {"@timestamp": stamp, "winlog": {"event_id": 1, "time_created": stamp}}
    assert _parser().parse(_raw(doc))["@timestamp"] == "2026-11-22T12:00:00.000Z"
