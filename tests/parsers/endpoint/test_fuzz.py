"""Random and truncated input never raises anything but ParseError out of the endpoint
parsers, and every catalogued parser is built under its own name."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.endpoint import PARSERS
from soc_core.errors import ParseError
from soc_core.event import RawEvent

RECEIVED = datetime(2026, 11, 22, tzinfo=UTC)


def _build(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)()


INSTANCES = {dataset: _build(target) for dataset, target in PARSERS.items()}
SAMPLES: dict[str, bytes] = {
    "clamav.log": b"Sun Nov 22 05:00:01 2026 -> /home/a/eicar.com: Eicar-Test-Signature(44d88612fea8a8f36de82e1278ab"
                  b"b02f:68) FOUND",
    "microsoft.m365_defender": orjson.dumps({
        "incidentId": 1, "lastUpdateTime": "2020-09-23T19:44:36.29Z", "severity": "Low",
        "alerts": {"alertId": "a", "title": "t", "category": "Malware", "firstActivity": "2020-06-30T09:31:22.5Z",
                   "lastActivity": "2020-06-30T09:46:15.0876676Z", "status": "Resolved",
                   "devices": [{"deviceDnsName": "h"}],
                   "entities": {"entityType": "File", "fileName": "f", "sha1": "s", "processId": 3}}}),
    "crowdstrike.falcon": orjson.dumps({
        "metadata": {"eventType": "DetectionSummaryEvent", "eventCreationTime": 1595002291000},
        "event": {"ComputerName": "H", "UserName": "u", "CommandLine": '"C:\\a b\\x.exe" -y', "Severity": 2,
                  "MD5String": "m", "Tactic": "T", "FilePath": "\\D", "FileName": "x.exe"}}),
    "cisco.amp": orjson.dumps({"data": {
        "id": 1, "date": "2021-01-14T10:33:46+00:00", "event_type": "Threat Detected", "severity": "High",
        "computer": {"hostname": "h", "user": "u", "network_addresses": [{"ip": "10.0.0.1"}]},
        "file": {"disposition": "Malicious", "file_name": "a", "file_path": "\\\\?\\C:\\a",
                 "identity": {"sha256": "x"}, "parent": {"process_id": 4, "file_name": "p"}},
        "network_info": {"local_ip": "10.0.0.1", "local_port": 1, "nfm": {"direction": "Outgoing connection from"}}}}),
    "kaspersky.ksc": b"<134>Dec 11 13:16:00 ksc01 KES: CEF:0|KasperskyLab|SecurityCenter|13.2|GNRL_EV_VIRUS_FOUND|M|4|"
                     b"msg=User: D\\\\u\\r\\nName: E\\r\\nObject: C:\\\\a.exe rt=1607692560000 dhost=H dst=10.0.0.2 "
                     b"cs2=KES cs2Label=ProductName",
    "eset_protect.event": b'<14>1 2021-06-21T10:15:48Z p ERAServer 1 - - {"event_type":"Threat_Event","hostname":"h",'
                          b'"source_uuid":"u","occured":"21-Jun-2021 10:15:47","object_uri":"file:///C:/a.exe",'
                          b'"username":"D\\\\u","hash":"AB","threat_handled":false}',
    "symantec_endpoint.log": b"<54>Jan 18 22:44:06 SymantecServer s: Virus found,IP Address: 10.1.1.1,Computer name:"
                             b" W,Risk name: E,File path: C:\\a.exe,Event time: 2021-01-18 22:43:46,User Name: b,"
                             b"Local Host IP: 10.0.0.1,Remote Host IP: 10.0.0.2,Local Port: 1,Direction: Inbound",
    "microsoft.defender_atp": orjson.dumps({
        "id": "x", "alertCreationTime": "2021-01-26T20:33:57.7220239Z", "status": "New", "severity": "High",
        "firstEventTime": "2021-01-26T20:31:32.9562661Z", "lastEventTime": "bad", "category": "Malware",
        "evidence": [{"entityType": "File", "sha1": "s", "url": "http://[::1"}]}),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


def _check(dataset: str, data: bytes) -> None:
    try:
        event = INSTANCES[dataset].parse(RawEvent(data=data, source="fuzz", received=RECEIVED, offset=0))
    except ParseError as exc:
        parser_id = exc.parser_id
        assert parser_id == dataset
        return
    assert event["event"]["kind"] in ("event", "alert")
    orjson.dumps(event)


def test_catalogue_names_match_parser_ids() -> None:
    assert set(SAMPLES) == set(PARSERS)  # every catalogued parser is fuzzed below
    for dataset, parser in INSTANCES.items():
        assert parser.id == dataset


@pytest.mark.parametrize("dataset", sorted(SAMPLES))
def test_samples_parse(dataset: str) -> None:
    event = INSTANCES[dataset].parse(RawEvent(data=SAMPLES[dataset], source="s", received=RECEIVED, offset=0))
    assert event["event"]["dataset"].startswith(dataset.split(".")[0])


@pytest.mark.parametrize("dataset", sorted(SAMPLES))
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes(dataset: str, data: bytes) -> None:
    _check(dataset, data)


@pytest.mark.parametrize("dataset", sorted(SAMPLES))
def test_every_truncation(dataset: str) -> None:
    sample = SAMPLES[dataset]
    for cut in range(len(sample) + 1):
        _check(dataset, sample[:cut])


@pytest.mark.parametrize("dataset", sorted(SAMPLES))
@settings(max_examples=150, deadline=None)
@given(replacement=json_values, seed=st.integers(min_value=0, max_value=10_000))
def test_values_replaced_by_garbage(dataset: str, replacement: Any, seed: int) -> None:
    """Swap one value anywhere in the sample document for arbitrary JSON."""
    if not SAMPLES[dataset].startswith(b"{"):
        _check(dataset, SAMPLES[dataset] + str(replacement).encode())
        return
    doc = orjson.loads(SAMPLES[dataset])
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                paths.append((node, i))
                walk(value)

    walk(doc)
    container, key = paths[seed % len(paths)]
    container[key] = replacement
    _check(dataset, orjson.dumps(doc))
