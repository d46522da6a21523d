"""Random and truncated input never raises anything but ParseError out of winlog."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.windows.winlog import WinlogParser
from soc_core.errors import ParseError
from soc_core.event import RawEvent

RECEIVED = datetime(2026, 11, 22, tzinfo=UTC)
PARSER = WinlogParser()

SAMPLE = {"Event": {"System": {
    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 3,
    "TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00Z"}}, "EventRecordID": 5,
    "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "pc",
}, "EventData": {"SourceIp": "10.0.0.1", "SourcePort": "4444", "DestinationIp": "x", "Initiated": "true",
                 "Protocol": "tcp", "Image": "C:\\a.exe", "ProcessId": "12"}}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
field_names = st.sampled_from([
    "EventID", "Provider", "Channel", "TimeCreated", "EventRecordID", "Execution", "Security", "Keywords", "Level",
    "Opcode", "Version", "Correlation",
])
event_ids = st.sampled_from([1, 3, 7, 11, 13, 22, 400, 800, 1102, 1116, 4104, 4624, 4625, 4688, 4728, 4781, 5145])
data_names = st.sampled_from([
    "CommandLine", "Image", "ProcessId", "IpAddress", "IpPort", "TargetUserName", "SubjectUserName", "LogonType",
    "Hashes", "QueryResults", "TargetObject", "Details", "Path", "Threat Name", "Severity ID", "MemberName",
    "NewProcessId", "ScriptBlockText", "param2", "Data", "User", "TargetFilename", "SourceIp", "DestinationPort",
])


def _check(data: bytes) -> None:
    try:
        event = PARSER.parse(RawEvent(data=data, source="fuzz", received=RECEIVED, offset=0))
    except ParseError:
        return
    assert event["event"]["kind"] in ("event", "alert")
    orjson.dumps(event)  # the event must stay serialisable


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(orjson.dumps(SAMPLE))))
def test_truncated_record(cut: int) -> None:
    _check(orjson.dumps(SAMPLE)[:cut])


@settings(max_examples=400, deadline=None)
@given(event_ids, st.dictionaries(field_names, json_values, max_size=4),
       st.dictionaries(data_names, json_values, max_size=8), json_values)
def test_structured_garbage(event_id: int, system: dict[str, Any], event_data: dict[str, Any],
                            user_data: Any) -> None:
    record = {"Event": {"System": {"EventID": event_id, "Channel": "Security",
                                   "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                                   **system},
                        "EventData": event_data, "UserData": user_data}}
    _check(orjson.dumps(record))
    for provider, channel in (("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational"),
                              ("PowerShell", "Windows PowerShell"),
                              ("Microsoft-Windows-Windows Defender", "Microsoft-Windows-Windows Defender/Operational")):
        record["Event"]["System"]["Provider"] = {"#attributes": {"Name": provider}}
        record["Event"]["System"]["Channel"] = channel
        _check(orjson.dumps(record))
    winlogbeat = {"winlog": {"event_id": event_id, "channel": "Security", "event_data": event_data,
                             "provider_name": "Microsoft-Windows-Security-Auditing", **system},
                  "host": user_data, "user": user_data, "process": user_data, "related": user_data,
                  "event": user_data, "log": user_data, "source": user_data}
    _check(orjson.dumps(winlogbeat))
    nxlog = {**event_data, "EventID": event_id, "SourceName": "Microsoft-Windows-Security-Auditing",
             "Channel": "Security", "EventTime": user_data, "RecordNumber": user_data, "EventType": user_data}
    _check(orjson.dumps(nxlog))
