"""ModSecurity audit log parser: native multipart, 2.9 JSON and libmodsecurity 3 JSON.

No shared fixture covers these formats, so the samples below are written from the
vendor's documentation: the native serial layout (sections A, B, F, H, Z) follows the
example of the ModSecurity 2.x Reference Manual, "Audit Log" section; the JSON layouts
follow ``SecAuditLogFormat JSON`` of ModSecurity 2.9 and libmodsecurity 3's JSON logger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.files import read_file_events
from parsers.base import ParserOptions
from parsers.web.modsecurity import ModsecAuditParser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, get_field
from tests.conftest import FROZEN_AT

NATIVE = """--c7036611-A--
[09/Jan/2008:12:27:56 +0000] OSD4l1BEUOkAAHZ8Y3QAAAAH 209.90.77.54 64995 80.68.80.233 80
--c7036611-B--
GET //EvilBoard_0.1a/index.php?c='/**/union/**/select/**/1 HTTP/1.1
TE: deflate,gzip;q=0.3
Connection: TE, close
Host: www.example.com
User-Agent: libwww-perl/5.808

--c7036611-F--
HTTP/1.1 403 Forbidden
Content-Length: 223

--c7036611-H--
{denied}
{warning}
Apache-Handler: php5-script
Stopwatch: 1199881676978327 2514 (396 2224 -)
Producer: ModSecurity v2.5.0 (Apache 2.x; http://www.modsecurity.org/).
Server: Apache/2.2.8

--c7036611-Z--

--a1b2c3d4-A--
[09/Jan/2008:12:28:01 +0100] OSD4mVBEUOkAAHZ8Y3QAAAAI 10.1.2.3 40000 80.68.80.233 443
--a1b2c3d4-B--
GET /index.html HTTP/1.1
Host: www.example.com

--a1b2c3d4-F--
HTTP/1.1 200 OK

--a1b2c3d4-Z--
""".format(
    denied='Message: Access denied with code 403 (phase 2). Pattern match "union.*select" at ARGS:c. '
    '[file "/etc/modsecurity/crs_40_generic_attacks.conf"] [line "66"] [id "950001"] [msg "SQL Injection Attack"] '
    '[data "union/**/select"] [severity "CRITICAL"] [tag "WEB_ATTACK/SQL_INJECTION"]',
    warning='Message: Warning. Pattern match "^[\\d\\.]+$" at REQUEST_HEADERS:Host. '
    '[file "/etc/modsecurity/crs_21_protocol_anomalies.conf"] [line "60"] [id "960017"] '
    '[msg "Host header is a numeric IP address"] [severity "WARNING"] [tag "PROTOCOL_VIOLATION/IP_HOST"]',
)

JSON_V2 = {
    "transaction": {"time": "09/Jan/2008:12:27:56 +0000", "transaction_id": "OSD4l1BEUOkAAHZ8Y3QAAAAH",
                    "remote_address": "209.90.77.54", "remote_port": 64995,
                    "local_address": "80.68.80.233", "local_port": 80},
    "request": {"request_line": "GET /login.php?user=admin%27-- HTTP/1.1",
                "headers": {"Host": "www.example.com", "User-Agent": "curl/7.64.1"}},
    "response": {"protocol": "HTTP/1.1", "status": 403, "headers": {}},
    "audit_data": {
        "messages": ['Access denied with code 403 (phase 2). Matched phrase "--" at ARGS:user. '
                     '[file "/etc/crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf"] [line "100"] [id "942440"] '
                     '[msg "SQL Comment Sequence Detected"] [severity "CRITICAL"] [ver "OWASP_CRS/3.3.0"] '
                     '[tag "attack-sqli"] [tag "OWASP_CRS"]'],
        "engine_mode": "ENABLED", "server": "Apache",
    },
}

JSON_V3 = {"transaction": {
    "client_ip": "82.64.145.141", "time_stamp": "Thu Nov 18 08:34:27 2021", "server_id": "abc",
    "client_port": 51234, "host_ip": "10.0.1.61", "host_port": 443, "unique_id": "163722446755.059797",
    "request": {"method": "GET", "http_version": 1.1, "uri": "/?foo=../../etc/passwd",
                "headers": {"Host": "foobar.com",
                            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:94.0) Gecko/20100101 Firefox/94.0"}},
    "response": {"http_code": 403, "headers": {}},
    "producer": {"modsecurity": "ModSecurity v3.0.5 (Linux)", "connector": "ModSecurity-nginx v1.0.2"},
    "messages": [
        {"message": "Path Traversal Attack (/../)", "details": {
            "match": "Matched \"Operator `PmFromFile' ...", "reference": "o8,4", "ruleId": "930100",
            "file": "/usr/share/modsecurity-crs/rules/REQUEST-930-APPLICATION-ATTACK-LFI.conf",
            "lineNumber": "29", "data": "Matched Data: /../", "severity": "2", "ver": "OWASP_CRS/3.2.0",
            "rev": "", "tags": ["application-multi", "attack-lfi"], "maturity": "0", "accuracy": "0"}},
        {"message": "Inbound Anomaly Score Exceeded (Total Score: 10)", "details": {
            "ruleId": "949110", "severity": "2", "ver": "OWASP_CRS/3.2.0", "tags": ["anomaly-evaluation"]}},
    ]}}


@pytest.fixture
def parser() -> ModsecAuditParser:
    return ModsecAuditParser(ParserOptions(clock=FrozenClock(FROZEN_AT)))


def _events(parser: ModsecAuditParser, tmp_path: Path, text: str) -> list[Event]:
    path = tmp_path / "modsec_audit.log"
    path.write_text(text)
    return [parser.parse(raw) for raw in read_file_events(str(path), parser, FROZEN_AT)]


def _raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "test", FROZEN_AT)


def test_native_multipart_framing_and_fields(parser: ModsecAuditParser, tmp_path: Path) -> None:
    first, second = _events(parser, tmp_path, NATIVE)
    assert first["log"]["offset"] == 0
    assert second["log"]["offset"] == NATIVE.index("--a1b2c3d4-A--")
    assert first["@timestamp"] == "2008-01-09T12:27:56.000Z"
    assert second["@timestamp"] == "2008-01-09T11:28:01.000Z"
    expected: dict[str, Any] = {
        "source.ip": "209.90.77.54", "source.port": 64995, "destination.ip": "80.68.80.233",
        "destination.port": 80, "http.request.method": "GET", "http.version": "1.1",
        "url.path": "//EvilBoard_0.1a/index.php", "url.domain": "www.example.com",
        "http.response.status_code": 403, "event.outcome": "failure",
        "user_agent.original": "libwww-perl/5.808", "rule.id": ["950001", "960017"],
        "rule.description": ["SQL Injection Attack", "Host header is a numeric IP address"],
        "event.action": "access-denied", "event.severity": 2, "transaction.id": "OSD4l1BEUOkAAHZ8Y3QAAAAH",
        "modsec.audit.producer": "ModSecurity v2.5.0 (Apache 2.x; http://www.modsecurity.org/).",
        "observer.type": "waf", "observer.product": "ModSecurity",
    }
    for path, value in expected.items():
        assert get_field(first, path) == value, path
    assert first["tags"] == ["WEB_ATTACK/SQL_INJECTION", "PROTOCOL_VIOLATION/IP_HOST"]
    assert first["event"]["type"] == ["denied"]
    assert first["event"]["category"] == ["web", "intrusion_detection"]
    assert first["modsec"]["messages"][1]["action"] == "Warning"
    assert "rule" not in second and get_field(second, "event.outcome") == "success"


def test_json_v2(parser: ModsecAuditParser) -> None:
    event = parser.parse(_raw(orjson.dumps(JSON_V2).decode()))
    assert get_field(event, "rule.id") == "942440"
    assert get_field(event, "rule.description") == "SQL Comment Sequence Detected"
    assert get_field(event, "rule.ruleset") == "OWASP_CRS"
    assert get_field(event, "rule.version") == "3.3.0"
    assert get_field(event, "url.query") == "user=admin'--"
    assert get_field(event, "source.port") == 64995
    assert get_field(event, "event.action") == "access-denied"
    assert event["tags"] == ["attack-sqli", "OWASP_CRS"]
    assert get_field(event, "modsec.audit.engine_mode") == "ENABLED"


def test_json_v3(parser: ModsecAuditParser) -> None:
    event = parser.parse(_raw(orjson.dumps(JSON_V3).decode()))
    assert event["@timestamp"] == "2021-11-18T08:34:27.000Z"
    assert get_field(event, "rule.id") == ["930100", "949110"]
    assert get_field(event, "source.ip") == "82.64.145.141"
    assert get_field(event, "destination.port") == 443
    assert get_field(event, "url.domain") == "foobar.com"
    assert get_field(event, "http.version") == "1.1"
    assert get_field(event, "user_agent.name") == "Firefox"
    assert get_field(event, "event.severity") == 2
    assert event["modsec"]["messages"][1]["anomaly_score"] == 10
    assert get_field(event, "event.action") == "rule-matched"


@pytest.mark.parametrize("text", [
    "{not json", '{"no_transaction": 1}', '{"transaction": {"client_ip": "1.2.3.4"}}',
    '{"transaction": {"client_ip": "1.2.3.4", "time_stamp": "yesterday"}}',
    "--abc-A--\n[garbage]", "--abc-B--\nGET / HTTP/1.1", "hello",
])
def test_bad_input_raises_parse_error(parser: ModsecAuditParser, text: str) -> None:
    with pytest.raises(ParseError):
        parser.parse(_raw(text))


def test_accepts_routes_by_first_bytes(parser: ModsecAuditParser) -> None:
    assert parser.accepts(_raw('{"transaction": {}}'))
    assert parser.accepts(_raw("--c7036611-A--\n[...]"))
    assert not parser.accepts(_raw('127.0.0.1 - - [26/Dec/2016:16:16:29 +0200] "GET / HTTP/1.1" 200 1'))
