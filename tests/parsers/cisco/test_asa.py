"""Cisco ASA/FTD: golden fixtures of both datasets and hand-written messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from parsers.base import ParserOptions
from parsers.cisco.asa import ROUTES, CiscoAsaParser, CiscoFtdParser
from parsers.grok import default_library
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import corpus_path
from tests.parsers.golden import fixtures, score_filebeat_fixture

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=timezone(timedelta(hours=-2)), clock=FrozenClock(NOW))


def raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "asa.log", NOW, 0)


@pytest.mark.parametrize(("dataset", "folder"), [("cisco.asa", "asa"), ("cisco.ftd", "ftd")])
def test_filebeat_fixtures(dataset: str, folder: str) -> None:
    pairs = fixtures(corpus_path("beats_filebeat", "cisco", folder))
    assert pairs
    hits = total = 0
    for log, expected in pairs:
        score = score_filebeat_fixture(dataset, log, expected)
        assert score.ratio >= 0.9, f"{dataset} {log.name}: {score.summary()}"
        hits, total = hits + score.hits, total + score.total
    assert hits / total >= 0.97, f"{dataset}: {hits}/{total}"


def test_every_route_names_a_compilable_pattern() -> None:
    lib = default_library()
    for message_id, name in ROUTES.items():
        assert name in lib, message_id
        assert lib.compile(f"%{{{name}}}").regex.pattern


def test_built_and_teardown_flow() -> None:
    parser = CiscoAsaParser(OPTIONS)
    built = parser.parse(raw(
        "Mar 01 2024 10:00:00 fw1 : %ASA-6-302013: Built inbound TCP connection 99 for outside:198.51.100.4/5555 "
        "(203.0.113.10/6666) to inside:10.0.0.5/443 (10.0.0.5/443)(LOCAL\\carol)"))
    assert built["event"]["code"] == 302013 and built["event"]["type"] == ["info"]
    assert built["network"] == {"direction": "inbound", "transport": "tcp", "iana_number": 6,
                                "community_id": built["network"]["community_id"]}
    assert built["source"]["nat"] == {"ip": "203.0.113.10", "port": 6666}
    assert "nat" not in built["destination"]
    assert built["observer"]["ingress"]["interface"]["name"] == "outside"
    assert built["@timestamp"] == "2024-03-01T12:00:00.000Z"
    assert built["host"] == {"hostname": "fw1"}
    assert built["cisco"]["asa"]["connection_id"] == "99"
    down = parser.parse(raw(
        "Mar 01 2024 10:00:05: %ASA-6-302014: Teardown TCP connection 99 for outside:198.51.100.4/5555 to "
        "inside:10.0.0.5/443 duration 1:02:03 bytes 1234 TCP FINs"))
    assert down["event"]["action"] == "flow-expiration"
    assert down["event"]["duration"] == 3723 * 10**9
    assert down["event"]["reason"] == "TCP FINs"
    assert down["network"]["bytes"] == 1234
    assert down["event"]["start"] == "2024-03-01T10:58:02.000Z"


def test_acl_outcomes() -> None:
    parser = CiscoAsaParser(OPTIONS)
    deny = parser.parse(raw('%ASA-4-106023: Deny udp src outside:192.0.2.1/53 dst inside:10.1.1.1/1025 '
                            'by access-group "outside_in" [0x0, 0x0]'))
    assert deny["event"]["type"] == ["connection", "denied"] and deny["event"]["outcome"] == "success"
    assert deny["cisco"]["asa"]["rule_name"] == "outside_in"
    permit = parser.parse(raw("%ASA-6-106100: access-list in_acl permitted tcp inside/10.0.0.1(1234) -> "
                              "outside/192.0.2.8(80) hit-cnt 1 first hit [0x1, 0x2]"))
    assert permit["event"]["type"] == ["allowed", "connection"]
    assert permit["log"]["level"] == "informational" and permit["event"]["severity"] == 6


def test_unknown_id_still_gives_an_event_and_high_severity_is_refused() -> None:
    parser = CiscoAsaParser(OPTIONS)
    event = parser.parse(raw("%ASA-5-111008: User 'enable_15' executed the 'write memory' command."))
    assert event["event"]["code"] == 111008 and event["event"]["type"] == ["info"]
    with pytest.raises(ParseError, match="severity 8"):
        parser.parse(raw("%ASA-8-999999: too verbose"))
    with pytest.raises(ParseError):
        parser.parse(raw("nothing cisco about this"))


def test_ftd_security_event_without_message_id() -> None:
    event = CiscoFtdParser(OPTIONS).parse(raw(
        "Jan 11 2018 01:00:27 beats ftd[1234]: SrcIP: 10.1.1.1, DstIP: 10.2.2.2, SrcPort: 1, DstPort: 2, "
        "Protocol: tcp, AccessControlRuleAction: Block, ACPolicy: p, AccessControlRuleName: r1, User: u1"))
    assert event["event"]["code"] == 430002
    assert event["event"]["action"] == "connection-started"
    assert event["event"]["type"] == ["connection", "denied", "start"]
    assert event["cisco"]["ftd"]["rule_name"] == ["p", "r1"]
    assert event["user"] == {"id": "u1", "name": "u1"}
    assert event["tags"] == ["cisco-ftd", "forwarded"]


def test_wazuh_cisco_asa_pass_lines_parse_and_route() -> None:
    import re

    from parsers.auto import AutoParser

    ini = corpus_path("wazuh_ruleset_tests", "cisco_asa.ini").read_text()
    lines = re.findall(r"^log \d+ pass = (.*)$", ini, flags=re.M)
    assert len(lines) >= 50
    parser, auto = CiscoAsaParser(OPTIONS), AutoParser(OPTIONS)
    for line in lines:
        event = parser.parse(raw(line))
        message_id = re.search(r"%ASA-\d-(\d+)", line)
        if message_id is not None:
            assert event["event"]["code"] == int(message_id.group(1)), line
        assert auto.parse(raw(line))["event"]["dataset"] == "cisco.asa", line


def test_a_cached_header_still_resolves_a_year_less_stamp_per_line() -> None:
    # The text before "%" is read once and kept; a stamp without a year must still be
    # placed against the clock of each line, and no event may share the kept objects.
    clock = FrozenClock(datetime(2026, 12, 31, 23, 59, 55, tzinfo=UTC))
    parser = CiscoAsaParser(ParserOptions(tz=UTC, clock=clock))
    line = "<166>Jan  1 00:00:05 fw-1 asa[42]: %ASA-6-106100: access-list in permitted tcp"
    first = parser.parse(raw(line))
    assert first["@timestamp"] == "2026-01-01T00:00:05.000Z"  # 2027-01-01 would be in the future
    first["related"]["hosts"].append("mutated")
    first["process"]["pid"] = 0
    clock.set(datetime(2027, 1, 1, 0, 0, 10, tzinfo=UTC))
    second = parser.parse(raw(line))
    assert second["@timestamp"] == "2027-01-01T00:00:05.000Z"
    assert second["related"]["hosts"] == ["fw-1"]
    assert second["process"] == {"name": "asa", "pid": 42}
    assert second["log"]["syslog"] == {"priority": 166, "facility": {"code": 20}, "severity": {"code": 6}}
    assert second == CiscoAsaParser(ParserOptions(tz=UTC, clock=clock)).parse(raw(line))  # as read afresh
