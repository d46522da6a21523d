"""Hand-written samples for the endpoint parsers, from each vendor's documented format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from ingest.files import read_file_events
from parsers.base import ParserOptions
from parsers.endpoint.clamav import ClamavParser
from parsers.endpoint.crowdstrike import CrowdstrikeFalconParser
from parsers.endpoint.defender_atp import DefenderAtpParser
from parsers.endpoint.m365_defender import M365DefenderParser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent
from tests.conftest import FROZEN_AT

RECEIVED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PLUS7 = timezone(timedelta(hours=7))

# Lines in the formats of clamd.conf(5) (LogFile with LogTime, ExtendedDetectionInfo,
# LogSyslog), clamd(8) scan replies, freshclam's UpdateLogFile and clamscan(1) output.
CLAMAV_SAMPLE = """\
Sun Nov 22 05:00:00 2026 -> +++ Started at Sun Nov 22 05:00:00 2026
Sun Nov 22 05:00:00 2026 -> clamd daemon 1.0.5 (OS: Linux, ARCH: x86_64, CPU: x86_64)
Sun Nov 22 05:00:01 2026 -> /home/alice/eicar.com: Win.Test.EICAR_HDB-1(44d88612fea8a8f36de82e1278abb02f:68) FOUND
Sun Nov 22 05:00:02 2026 -> instream(127.0.0.1@41006): Eicar-Signature FOUND
Sun Nov 22 05:10:00 2026 -> SelfCheck: Database status OK.
Sun Nov 22 05:11:00 2026 -> WARNING: /root/secret: Can't open file or directory ERROR
Nov 22 05:12:00 host1 clamd[812]: /tmp/x.exe: Win.Trojan.Agent-1 FOUND
Sun Nov 22 05:13:00 2026 -> daily.cld updated (version: 27100, sigs: 2068000, f-level: 90, builder: raynman)
/home/alice/ok.txt: OK

----------- SCAN SUMMARY -----------
Known viruses: 8695412
Engine version: 1.0.5
Scanned directories: 1
Scanned files: 2
Infected files: 1
Data scanned: 0.01 MB
Data read: 0.00 MB (ratio 0.00:1)
Time: 12.345 sec (0 m 12 s)
Start Date: 2026:11:22 05:00:00
End Date:   2026:11:22 05:00:12
"""


def _parse_file(parser: ClamavParser, path: Path) -> list[Event]:
    return [parser.parse(raw) for raw in read_file_events(str(path), parser, RECEIVED)]


def test_clamav_log(tmp_path: Path) -> None:
    log = tmp_path / "clamav.log"
    log.write_text(CLAMAV_SAMPLE)
    parser = ClamavParser(ParserOptions(tz=PLUS7, clock=FrozenClock(FROZEN_AT)))
    events = _parse_file(parser, log)
    assert len(events) == 10  # 9 lines, then the summary block as one event
    started, version, found, stream, selfcheck, error, syslog, update, ok, summary = events
    assert started["event"]["action"] == "started"
    assert started["@timestamp"] == "2026-11-21T22:00:00.000Z"  # local time in +07:00
    assert version["service"] == {"name": "clamd", "version": "1.0.5"}
    assert found["event"]["kind"] == "alert"
    assert found["rule"]["name"] == "Win.Test.EICAR_HDB-1"
    assert found["file"] == {"path": "/home/alice/eicar.com", "name": "eicar.com",
                             "directory": "/home/alice",
                             "hash": {"md5": "44d88612fea8a8f36de82e1278abb02f"}, "size": 68}
    assert stream["source"] == {"ip": "127.0.0.1", "port": 41006}
    assert "file" not in stream
    assert selfcheck["event"]["action"] == "database-check"
    assert error["event"]["outcome"] == "failure"
    assert error["error"]["message"] == "Can't open file or directory"
    assert error["log"]["level"] == "warning"
    assert syslog["process"] == {"name": "clamd", "pid": 812}
    assert syslog["host"]["hostname"] == "host1"
    assert syslog["rule"]["name"] == "Win.Trojan.Agent-1"
    assert update["clamav"]["database"] == {"name": "daily.cld", "version": 27100, "signatures": 2068000,
                                            "functionality_level": 90, "builder": "raynman"}
    assert ok["event"]["action"] == "file-scanned-clean"
    assert ok["@timestamp"] == "2026-11-22T12:00:00.000Z"  # no stamp in the line: time received
    assert summary["clamav"]["scan"]["infected_files"] == 1
    assert summary["event"]["kind"] == "alert"
    assert summary["event"]["start"] == "2026-11-21T22:00:00.000Z"
    assert summary["event"]["end"] == "2026-11-21T22:00:12.000Z"
    assert summary["log"]["offset"] == CLAMAV_SAMPLE.index("-----------")


def test_clamav_rejects_empty_line() -> None:
    with pytest.raises(ParseError):
        ClamavParser().parse(RawEvent(data=b"   ", source="x", received=RECEIVED))


# Shape of an alert from Microsoft's "Alert resource type" / "List alerts API" pages
# (Defender for Endpoint), with one evidence item as Filebeat's input splits them.
DEFENDER_ATP_ALERT = {
    "id": "da637472900382838869_1364969609",
    "incidentId": 1126093,
    "investigationId": None,
    "assignedTo": None,
    "severity": "Low",
    "status": "New",
    "classification": None,
    "determination": None,
    "investigationState": "Queued",
    "detectionSource": "WindowsDefenderAtp",
    "category": "Execution",
    "threatFamilyName": None,
    "title": "Low-reputation arbitrary code executed by signed executable",
    "description": "Binaries signed by Microsoft can be used to run low-reputation arbitrary code.",
    "alertCreationTime": "2021-01-26T20:33:57.7220239Z",
    "firstEventTime": "2021-01-26T20:31:32.9562661Z",
    "lastEventTime": "2021-01-26T20:31:33.0577322Z",
    "lastUpdateTime": "2021-01-26T20:33:59.2Z",
    "machineId": "111e6dd8c833c8a052ea231ec1b19adaf497b625",
    "computerDnsName": "temp123.middleeast.corp.microsoft.com",
    "aadTenantId": "a839b112-1253-6432-9bf6-94542403f21c",
    "relatedUser": {"userName": "temp123", "domainName": "DOMAIN"},
    "comments": [],
    "evidence": {
        "entityType": "Process", "sha1": "ff836cfb1af40252bd2a2ea843032e99a5b262ed",
        "sha256": "a4ac2ab5f1c2a8d8fd2a7b1e4c3d96d9f5b2c0e1d7c3f0a9b8e7d6c5b4a39281", "fileName": "rundll32.exe",
        "filePath": "C:\\Windows\\SysWOW64", "processId": 3276,
        "processCommandLine": "rundll32.exe c:\\temp\\x.dll",
        "processCreationTime": "2021-01-26T20:31:32.9581596Z", "parentProcessId": 8420,
        "parentProcessCreationTime": "2021-01-26T20:31:32.9004163Z",
        "userSid": "S-1-5-21-11111607-1111760036-109187956-75141",
        "url": None, "ipAddress": "N/A",
    },
}


def test_defender_atp_alert() -> None:
    raw = RawEvent(data=orjson.dumps(DEFENDER_ATP_ALERT), source="atp.log", received=RECEIVED, offset=0)
    event = DefenderAtpParser().parse(raw)
    ev = event["event"]
    assert ev["kind"] == "alert"
    assert ev["category"] == ["host", "process"]
    assert ev["type"] == ["creation", "start"]
    assert ev["severity"] == 2
    assert ev["duration"] == 101_466_100
    assert ev["id"] == "da637472900382838869_1364969609"
    assert event["@timestamp"] == "2021-01-26T20:33:59.200Z"
    assert event["message"] == "Low-reputation arbitrary code executed by signed executable"
    assert event["threat"] == {"framework": "MITRE ATT&CK", "technique": {"name": "Execution"}}
    assert event["process"]["pid"] == 3276
    assert event["process"]["parent"]["pid"] == 8420
    assert event["file"]["name"] == "rundll32.exe"
    assert event["host"] == {"hostname": "temp123.middleeast.corp.microsoft.com",
                             "name": "temp123.middleeast.corp.microsoft.com",
                             "user": {"name": "temp123", "domain": "DOMAIN",
                                      "id": "S-1-5-21-11111607-1111760036-109187956-75141"}}
    assert event["user"]["name"] == "temp123"
    assert sorted(event["related"]["hash"]) == sorted([DEFENDER_ATP_ALERT["evidence"]["sha1"],  # type: ignore[index]
                                                       DEFENDER_ATP_ALERT["evidence"]["sha256"]])  # type: ignore[index]
    assert "ip" not in event["related"]  # "N/A" is dropped like an empty value
    assert "ipAddress" not in event["microsoft"]["defender_atp"]["evidence"]


def test_defender_atp_url_evidence() -> None:
    alert = {**DEFENDER_ATP_ALERT, "status": "Resolved",
             "evidence": {"entityType": "Url", "url": "https://evil.example.com:8443/dl/payload.exe?x=1"}}
    event = DefenderAtpParser().parse(RawEvent(data=orjson.dumps(alert), source="a", received=RECEIVED))
    assert event["event"]["type"] == ["end"]
    assert event["url"]["domain"] == "evil.example.com"
    assert event["url"]["port"] == 8443
    assert event["url"]["extension"] == "exe"
    assert event["url"]["query"] == "x=1"


def test_m365_api_envelope_is_a_dead_letter() -> None:
    raw = RawEvent(data=b'{"value": [], "@odata.context": "x"}', source="m", received=RECEIVED)
    with pytest.raises(ParseError):
        M365DefenderParser().parse(raw)


def test_crowdstrike_unknown_event_type_keeps_vendor_document() -> None:
    doc = {"metadata": {"eventType": "HashSpreadingEvent", "eventCreationTime": 1581542950710},
           "event": {"SHA256String": "abc"}}
    event = CrowdstrikeFalconParser().parse(RawEvent(data=orjson.dumps(doc), source="c", received=RECEIVED))
    assert event["event"]["action"] == "hash_spreading_event"
    assert event["@timestamp"] == "2020-02-12T21:29:10.710Z"
    assert event["crowdstrike"]["event"] == {"SHA256String": "abc"}


# Kaspersky Security Center SIEM export in CEF ("Event fields in CEF format"): a Kaspersky
# Endpoint Security detection and a task-state event.
KSC_DETECTION = (
    "<134>Dec 11 13:16:00 ksc01 KES: CEF:0|KasperskyLab|SecurityCenter|13.2.0.1511|GNRL_EV_VIRUS_FOUND|"
    "Malicious object detected|4|msg=User: CORP\\\\alice (Active user)\\r\\nComponent: File Threat Protection"
    "\\r\\nType: Virus\\r\\nName: EICAR-Test-File\\r\\nObject name: eicar.com\\r\\nObject path: "
    "C:\\\\Users\\\\alice\\\\Downloads\\r\\nMD5: 44D88612FEA8A8F36DE82E1278ABB02F rt=1607692560000 "
    "cs9=Managed devices cs9Label=GroupName dhost=WIN10-ALICE dst=10.0.0.2 cs2=KES cs2Label=ProductName"
)


def test_kaspersky_detection() -> None:
    from parsers.endpoint.kaspersky import KasperskyKscParser

    parser = KasperskyKscParser(ParserOptions(clock=FrozenClock(FROZEN_AT)))
    event = parser.parse(RawEvent(data=KSC_DETECTION.encode(), source="k", received=RECEIVED, offset=0))
    assert event["@timestamp"] == "2020-12-11T13:16:00.000Z"  # from rt (epoch milliseconds)
    assert event["event"]["kind"] == "alert"
    assert event["event"]["action"] == "malware-detected"
    assert event["event"]["code"] == "GNRL_EV_VIRUS_FOUND"
    assert event["host"] == {"name": "WIN10-ALICE", "hostname": "WIN10-ALICE", "ip": ["10.0.0.2"]}
    assert "destination" not in event
    assert event["observer"]["hostname"] == "ksc01"
    assert event["rule"]["name"] == "EICAR-Test-File"
    assert event["file"]["path"] == "C:\\Users\\alice\\Downloads\\eicar.com"
    assert event["file"]["hash"]["md5"] == "44d88612fea8a8f36de82e1278abb02f"
    assert event["user"] == {"name": "alice", "domain": "CORP"}
    assert event["kaspersky"]["group_name"] == "Managed devices"
    assert event["kaspersky"]["product_name"] == "KES"


def test_kaspersky_rejects_other_vendors() -> None:
    from parsers.endpoint.kaspersky import KasperskyKscParser

    with pytest.raises(ParseError):
        KasperskyKscParser().parse(RawEvent(data=b"CEF:0|Other|X|1|a|b|1|", source="k", received=RECEIVED))


# ESET PROTECT "Export events to Syslog" (JSON) Threat_Event, as in ESET's format reference.
ESET_THREAT = (
    '<14>1 2021-06-21T10:15:48.123Z protect01 ERAServer 1132 - - {"event_type":"Threat_Event",'
    '"ipv4":"192.168.30.30","hostname":"win-test","source_uuid":"d9bb5ae8-e2b5-4b2c-9e4e-5b5a3e4b1c2d",'
    '"occured":"21-Jun-2021 10:15:47","severity":"Warning","threat_type":"test file","threat_name":"Eicar",'
    '"scanner_id":"Real-time file system protection","object_type":"file",'
    '"object_uri":"file:///C:/Users/Administrator/Downloads/eicar.com","action_taken":"cleaned by deleting",'
    '"threat_handled":true,"need_restart":false,"username":"WIN-TEST\\\\Administrator",'
    '"processname":"C:\\\\Windows\\\\explorer.exe","hash":"3395856CE81F2B7382DEE72602F798B642F14140"}'
)


def test_eset_threat_event() -> None:
    from parsers.endpoint.eset import EsetProtectParser

    event = EsetProtectParser().parse(RawEvent(data=ESET_THREAT.encode(), source="e", received=RECEIVED))
    assert event["@timestamp"] == "2021-06-21T10:15:47.000Z"
    assert event["event"]["kind"] == "alert"
    assert event["event"]["outcome"] == "success"
    assert event["observer"]["hostname"] == "protect01"
    assert event["host"]["hostname"] == "win-test"
    assert event["host"]["ip"] == ["192.168.30.30"]
    assert event["file"]["path"] == "C:\\Users\\Administrator\\Downloads\\eicar.com"
    assert event["file"]["hash"]["sha1"] == "3395856ce81f2b7382dee72602f798b642f14140"
    assert event["user"] == {"name": "Administrator", "domain": "WIN-TEST"}
    assert event["process"]["name"] == "explorer.exe"
    assert event["rule"]["name"] == "Eicar"
    assert event["log"]["level"] == "warning"


def test_eset_firewall_event() -> None:
    from parsers.endpoint.eset import EsetProtectParser

    doc = ('{"event_type":"FirewallAggregated_Event","hostname":"pc1","source_uuid":"u","occured":'
           '"01-Feb-2022 08:00:00","event":"Security vulnerability exploitation attempt","source_address":'
           '"203.0.113.9","source_port":445,"target_address":"10.0.0.7","target_port":49700,"protocol":"TCP",'
           '"action":"Blocked","inbound":true,"rule_name":"Block SMB","aggregate_count":3}')
    event = EsetProtectParser().parse(RawEvent(data=doc.encode(), source="e", received=RECEIVED))
    assert event["source"] == {"ip": "203.0.113.9", "port": 445}
    assert event["destination"] == {"ip": "10.0.0.7", "port": 49700}
    assert event["network"] == {"transport": "tcp", "direction": "ingress"}
    assert event["rule"]["name"] == "Block SMB"


# Symantec Endpoint Protection Manager risk log over syslog ("Syslog message formats").
SEP_RISK = (
    "<54>Jan 18 22:44:06 SymantecServer sepm01: Virus found,IP Address: 10.1.1.1,Computer name: WIN-01,"
    "Source: Scheduled Scan,Risk name: EICAR Test String,Occurrences: 1,File path: C:\\Users\\bob\\Desktop\\"
    "eicar.com,Description: ,Actual action: Cleaned by deletion,Requested action: Cleaned,Secondary action: "
    "Quarantined,Event time: 2021-01-18 22:43:46,Domain Name: Default,Group Name: My Company\\Default Group,"
    "Server Name: sepm01,User Name: bob,Prevalence: This file has been seen by fewer than 5 Symantec users.,"
    "Application hash: 275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F,Hash type: SHA2,"
    "File size (bytes): 68,Category set: Malware,Category type: Virus"
)


def test_symantec_risk_log() -> None:
    from parsers.endpoint.symantec import SymantecEndpointParser

    parser = SymantecEndpointParser(ParserOptions(tz=timezone(timedelta(hours=-5)), clock=FrozenClock(FROZEN_AT)))
    event = parser.parse(RawEvent(data=SEP_RISK.encode(), source="s", received=RECEIVED))
    assert event["@timestamp"] == "2021-01-19T03:43:46.000Z"
    assert event["event"]["kind"] == "alert"
    assert event["event"]["action"] == "cleaned by deletion"
    assert event["observer"]["hostname"] == "sepm01"
    assert "process" not in event
    assert event["host"]["hostname"] == "WIN-01"
    assert event["rule"]["name"] == "EICAR Test String"
    assert event["file"]["path"] == "C:\\Users\\bob\\Desktop\\eicar.com"
    assert event["file"]["size"] == 68
    assert event["symantec_endpoint"]["log"]["group_name"] == "My Company\\Default Group"
    assert event["symantec_endpoint"]["log"]["prevalence"] == "This file has been seen by fewer than 5 Symantec users."


@pytest.mark.parametrize("line", [
    "Mon Jan  1 00:00:00 0001 -> /tmp/a: Eicar-Test-Signature FOUND",
    "Fri Dec 31 23:59:59 9999 -> SelfCheck: Database status OK.",
])
def test_clamav_out_of_range_years_keep_receive_time(line: str) -> None:
    parser = ClamavParser(ParserOptions(tz=PLUS7 if "0001" in line else timezone(timedelta(hours=-7)),
                                        clock=FrozenClock(FROZEN_AT)))
    event = parser.parse(RawEvent(data=line.encode(), source="c", received=RECEIVED))
    assert event["@timestamp"] == "2026-11-22T12:00:00.000Z"
