"""CrowdSec hub parser tests as a peer oracle for the web parsers and ModSecurity lines.

Each hub test holds a log and ``parser.assert`` lines such as
``results["s01-parse"]["crowdsecurity/nginx-logs"][0].Evt.Parsed["verb"] == "GET"``.
We parse the same log with our parser and check every asserted value whose CrowdSec
field has an ECS counterpart (the table below); the event index is the line index.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest

from ingest.files import read_file_events
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import get_field
from tests.conftest import FROZEN_AT, corpus_path

_ASSERT = re.compile(
    r'^results\["s01-parse"\]\["(?P<parser>[^"]+)"\]\[(?P<index>\d+)\]'
    r'\.Evt\.Parsed\["(?P<key>\w+)"\] == "(?P<value>.*)"$'
)

# CrowdSec field -> our ECS path.
ACCESS_FIELDS = {
    "remote_addr": "source.address",
    "verb": "http.request.method",
    "request": "url.original",
    "http_version": "http.version",
    "status": "http.response.status_code",
    "body_bytes_sent": "http.response.body.bytes",
    "http_user_agent": "user_agent.original",
    "http_referer": "http.request.referrer",
    "remote_user": "user.name",
    "target_fqdn": "destination.domain",
    # apache2-logs names
    "clientip": "source.address",
    "bytes": "http.response.body.bytes",
    "httpversion": "http.version",
    "referrer": "http.request.referrer",
    "response": "http.response.status_code",
    "port": "destination.port",
    "auth": "user.name",
}
MODSEC_FIELDS = {
    "ruleid": "rule.id",
    "rulemessage": "rule.description",
    "rulefile": "modsec.file",
    "ruleline": "modsec.line",
    "ruledata": "modsec.data",
    "ruleseverity": "modsec.severity",
    "version": "modsec.ver",
    "uniqueid": "modsec.unique_id",
    "targethost": "modsec.hostname",
    "targeturi": "modsec.uri",
    "maturity": "modsec.maturity",
    "accuracy": "modsec.accuracy",
    "sourcehost": "source.ip",
    "source_port": "source.port",
    "remote_addr": "source.address",
    "verb": "http.request.method",
    "http_version": "http.version",
    "pid": "process.pid",
    "tid": "process.thread.id",
    "loglevel": "log.level",
}

CASES = [
    ("apache2-logs", "crowdsecurity/apache2-logs", "apache.access", ACCESS_FIELDS),
    ("nginx_http-logs", "crowdsecurity/nginx-logs", "nginx.access nginx.error", ACCESS_FIELDS),
    ("modsecurity-logs", "crowdsecurity/modsecurity", "apache.error", MODSEC_FIELDS),
    ("modsecurity-logs-nginx", "crowdsecurity/modsecurity", "nginx.error", MODSEC_FIELDS),
]


def _parse_all(parser_names: str, path: str) -> list[dict[str, Any] | None]:
    """Parse a log line by line; with several parsers, the first that accepts a line."""
    clock = FrozenClock(FROZEN_AT)
    parsers = [make_parser(name, UTC, clock) for name in parser_names.split()]
    out: list[dict[str, Any] | None] = []
    for raw in read_file_events(path, parsers[0], clock.now()):
        parser = next((p for p in parsers if p.accepts(raw)), parsers[0])
        try:
            out.append(parser.parse(raw))
        except ParseError:
            out.append(None)
    return out


def _as_text(value: Any, index: int | None) -> str | None:
    if isinstance(value, list):
        value = value[index or 0] if value else None
    return None if value is None else str(value)


@pytest.mark.parametrize(("test", "hub_parser", "ours", "table"), CASES, ids=[c[0] for c in CASES])
def test_crowdsec_assertions(test: str, hub_parser: str, ours: str, table: dict[str, str]) -> None:
    folder = corpus_path("crowdsec_hub_tests", test)
    log = next(folder.glob("*.log"))
    events = _parse_all(ours, str(log))
    checked = 0
    failures: list[str] = []
    for line in (folder / "parser.assert").read_text().splitlines():
        m = _ASSERT.match(line)
        if m is None or m.group("parser") != hub_parser:
            continue
        key, expected = m.group("key"), m.group("value").replace('\\"', '"').replace("\\\\", "\\")
        index = int(m.group("index"))
        event = events[index] if index < len(events) else None
        if key.startswith("ruletag") and event is not None:
            got = _as_text(event.get("tags"), int(key[7:]))
        elif key in table:
            if expected == "-" and key in ("http_user_agent", "http_referer", "remote_user"):
                continue  # nginx's "-" means absent; Elastic (and we) then leave the field out
            got = None if event is None else _as_text(get_field(event, table[key]), None)
        else:
            continue
        checked += 1
        if got != expected:
            failures.append(f"[{index}] {key}: expected {expected!r}, got {got!r}")
    assert checked >= 20, f"only {checked} assertions mapped"
    assert not failures, "\n".join(failures[:20])
