"""A multi-stage attack and an unrelated brute force, built from real corpus lines.

Only addresses, host names, ports and times are rewritten (so that the stages happen to one host
on one morning); everything else is the lines as their products wrote them:

- firewall: a pfSense ``filterlog`` TCP SYN block (CrowdSec hub test ``pf-logs``),
  repeated towards 20 destination ports (a vertical port scan);
- WAF: ModSecurity's two findings on one request in nginx's error log (CrowdSec hub test
  ``modsecurity-logs-nginx``: OS file access and Unix shell code);
- web server: nginx access lines of SQL injection probes (CrowdSec hub test ``nginx-http-sqli-probing``);
- SSH: ``Failed password`` lines then the one ``Accepted password`` line of loghub's OpenSSH sample;
- antivirus: CrowdStrike Falcon's ``DetectionSummaryEvent`` from Filebeat's test sample;
- the unrelated attacker: twelve more ``Failed password`` lines of loghub's OpenSSH sample.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import corpus_path

ATTACKER = "203.0.113.77"
OTHER_ATTACKER = "198.51.100.23"
VICTIM_IP = "192.0.2.10"
VICTIM_HOST = "LabSZ"  # the host name in loghub's OpenSSH lines, kept
START = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
SCAN_PORTS = (21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 3306, 3389, 5432, 8080)


@dataclass(frozen=True)
class ScenarioFile:
    path: Path
    parser: str


def _syslog_time(at: datetime) -> str:
    return f"{at:%b} {at.day:2d} {at:%H:%M:%S}"


def _sample_line(path: Path, contains: str) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if contains in line:
            return line
    raise AssertionError(f"no line with {contains!r} in {path}")


def _lines(path: Path, contains: str, count: int) -> list[str]:
    found = [line for line in path.read_text(encoding="utf-8").splitlines() if contains in line]
    assert len(found) >= count, f"{path}: only {len(found)} lines with {contains!r}"
    return found[:count]


def firewall_lines() -> list[str]:
    path = corpus_path("crowdsec_hub_tests", "pf-logs", "pf-logs.log")
    template = _sample_line(path, ",match,block,in,4,0x0,,64,600,0,none,6,tcp,")
    # e.g. "Sep 28 10:38:24 pfSense filterlog: 53,,,1000102631,em0,match,block,in,4,0x0,,64,600,0,none,6,tcp,44,
    #       10.0.2.2,10.0.2.15,53792,22,0,S,31552001,,65535,,mss"
    head, body = template.split(" filterlog: ", 1)
    host = head.split()[-1]
    fields = body.split(",")
    out = []
    for i, port in enumerate(SCAN_PORTS):
        f = list(fields)
        f[18], f[19], f[21] = ATTACKER, VICTIM_IP, str(port)
        out.append(f"{_syslog_time(START + timedelta(seconds=2 * i))} {host} filterlog: {','.join(f)}")
    return out


def waf_lines() -> list[str]:
    path = corpus_path("crowdsec_hub_tests", "modsecurity-logs-nginx", "modsecurity-logs-nginx.log")
    out = []
    for line in _lines(path, "APPLICATION-ATTACK", 2):
        line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", f"{START + timedelta(minutes=5):%Y/%m/%d %H:%M:%S}", line)
        line = re.sub(r"client: [0-9.]+", f"client: {ATTACKER}", line)
        out.append(re.sub(r'\[hostname "[^"]+"\]', f'[hostname "{VICTIM_IP}"]', line))
    return out


def web_lines() -> list[str]:
    path = corpus_path("crowdsec_hub_tests", "nginx-http-sqli-probing", "nginx-http-sqli-probing.log")
    stamp = f"{START + timedelta(minutes=6):%d/%b/%Y:%H:%M:%S} +0000"
    return [re.sub(r"^\S+ - - \[[^\]]+\]", f"{ATTACKER} - - [{stamp}]", line)
            for line in _lines(path, "union", 2)]


def _auth_line(line: str, at: datetime, address: str) -> str:
    line = re.sub(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d", _syslog_time(at), line)
    return re.sub(r"from \d+\.\d+\.\d+\.\d+", f"from {address}", line)


def auth_lines() -> list[str]:
    path = corpus_path("loghub", "OpenSSH", "OpenSSH_2k.log")
    failures = _lines(path, "Failed password for root from 183.62.140.253", 5)
    accepted = _sample_line(path, "Accepted password for")
    out = [_auth_line(line, START + timedelta(minutes=10, seconds=5 * i), ATTACKER) for i, line in enumerate(failures)]
    out.append(_auth_line(accepted, START + timedelta(minutes=11), ATTACKER))
    others = _lines(path, "Failed password for root from 187.141.143.180", 12)
    out += [_auth_line(line, START + timedelta(minutes=20, seconds=10 * i), OTHER_ATTACKER)
            for i, line in enumerate(others)]
    return out


def _json_objects(text: str) -> Iterator[dict[str, object]]:
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        obj, index = decoder.raw_decode(text, index)
        yield obj


def antivirus_lines() -> list[str]:
    path = corpus_path("beats_filebeat", "crowdstrike", "falcon", "falcon-sample.log")
    detection = next(o for o in _json_objects(path.read_text(encoding="utf-8"))
                     if o["metadata"]["eventType"] == "DetectionSummaryEvent")  # type: ignore[index]
    at = START + timedelta(minutes=30)
    meta, event = detection["metadata"], detection["event"]
    assert isinstance(meta, dict) and isinstance(event, dict)
    meta["eventCreationTime"] = int(at.timestamp() * 1000)
    for name in ("ProcessStartTime", "ProcessEndTime"):
        event[name] = int(at.timestamp()) - 1
    event["ComputerName"], event["LocalIP"] = VICTIM_HOST, VICTIM_IP
    return [json.dumps(detection)]


def write_scenario(folder: Path) -> list[ScenarioFile]:
    """The scenario's files, in the order a SOC would receive them."""
    parts = [("firewall.log", "pfsense.log", firewall_lines()), ("waf.log", "nginx.error", waf_lines()),
             ("access.log", "nginx.access", web_lines()), ("auth.log", "system.auth", auth_lines()),
             ("falcon.json", "crowdstrike.falcon", antivirus_lines())]
    files = []
    for name, parser, lines in parts:
        path = folder / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(ScenarioFile(path, parser))
    return files
