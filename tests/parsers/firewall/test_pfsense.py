"""pfsense.log (filterlog) against CrowdSec's pf-logs expectations and Wazuh's tests,
plus the record layout Netgate documents (raw filter log format)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from parsers.community_id import community_id
from soc_core.errors import ParseError
from tests.conftest import corpus_path
from tests.parsers.firewall._support import field, parser_for, raw

_ASSERT = re.compile(
    r'^results\["s01-parse"\]\["firewallservices/pf-logs"\]\[(\d+)\]\.Evt\.Parsed\["(\w+)"\] == "(.*)"$'
)
# CrowdSec's field names -> where our ECS event keeps the same value.
_PATHS = {
    "action": "event.action",
    "reason": "event.reason",
    "src_ip": "source.ip",
    "dst_ip": "destination.ip",
    "src_port": "source.port",
    "dst_port": "destination.port",
    "length": "network.bytes",
    "tracker": "rule.id",
    "rule": "pfsense.firewall.rule_number",
    "ip4_proto": "network.transport",
    "ip4_proto_id": "network.iana_number",
    "ip6_proto": "network.transport",
    "ip6_proto_id": "network.iana_number",
    "ip4_ttl": "pfsense.ip.ttl",
    "ip6_hop_limit": "pfsense.ip.ttl",
    "ip4_id": "pfsense.ip.id",
    "ip4_flags": "pfsense.ip.flags",
    "ip4_tos": "pfsense.ip.tos",
    "ip4_offset": "pfsense.ip.offset",
    "ip6_flow_label": "pfsense.ip.flow_label",
    "tcp_flags": "pfsense.tcp.flags",
    "tcp_window": "pfsense.tcp.window",
    "sequence_number": "pfsense.tcp.seq",
    "ack_number": "pfsense.tcp.ack",
}


def _expectations(path: Path) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for line in path.read_text().splitlines():
        m = _ASSERT.match(line.strip())
        if m:
            out.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    return out


def _same(expected: str, got: Any) -> bool:
    if isinstance(got, list):
        return ";".join(map(str, got)) == expected
    return str(got) == expected


def test_crowdsec_pf_logs_fields_agree() -> None:
    base = corpus_path("crowdsec_hub_tests", "pf-logs")
    lines = (base / "pf-logs.log").read_text().splitlines()
    expectations = _expectations(base / "parser.assert")
    assert len(expectations) == len(lines) == 9
    parser = parser_for("pfsense.log")
    compared = 0
    for index, line in enumerate(lines):
        event = parser.parse(raw(line))
        expected = expectations[index]
        for key, path in _PATHS.items():
            if key in expected:
                compared += 1
                assert _same(expected[key], field(event, path)), (index, key, field(event, path))
        side = "ingress" if expected["direction"] == "in" else "egress"
        assert field(event, f"observer.{side}.interface.name") == expected["iface"]
        assert field(event, "network.type") == f"ipv{expected['ip_ver']}"
    assert compared > 150


def test_crowdsec_rfc5424_filterlog_lines_parse() -> None:
    path = corpus_path("crowdsec_hub_tests", "pfsense-rfc5424-filterlog",
                       "pfsense-rfc5424-filterlog.log")
    parser = parser_for("pfsense.log")
    events = [parser.parse(raw(line)) for line in path.read_text().splitlines() if line]
    assert [field(e, "observer.name") for e in events] == ["firewall.lan"] * 4
    assert field(events[0], "@timestamp") == "2025-11-06T11:32:42.868451Z"
    assert field(events[2], "source.ip") == "fdfd:ace:ace:10:d8:cdbf:f6f8:6d69"
    assert field(events[2], "network.type") == "ipv6"
    assert field(events[2], "pfsense.tcp.options") == [
        "mss", "nop", "wscale", "nop", "nop", "TS", "sackOK", "eol"]


def test_wazuh_pfsense_pass_lines_parse() -> None:
    text = corpus_path("wazuh_ruleset_tests", "pfsense.ini").read_text()
    lines = re.findall(r"^log \d+ pass = (.*)$", text, re.M)
    assert lines
    parser = parser_for("pfsense.log")
    for line in lines:
        event = parser.parse(raw(line))
        assert field(event, "event.dataset") == "pfsense.log"
        assert field(event, "source.ip")


def test_documented_icmp_and_udp_records() -> None:
    parser = parser_for("pfsense.log")
    icmp = parser.parse(raw(
        "Jan 22 18:34:00 fw filterlog: 65,,,0,vmx1,match,pass,out,4,0x0,,63,21011,0,none,1,"
        "icmp,84,192.168.105.11,192.168.105.1,request,36,1"))
    assert field(icmp, "event.type") == ["connection", "allowed"]
    assert field(icmp, "network.direction") == "egress"
    assert field(icmp, "pfsense.icmp.type") == "request"
    assert field(icmp, "pfsense.icmp.id") == 36
    assert field(icmp, "network.community_id") == community_id(
        "192.168.105.11", "192.168.105.1", 8, 0, 1)
    udp = parser.parse(raw(
        "Nov  8 12:37:34 pfSense filterlog: 5,,,1000102433,em0,match,block,in,4,0x0,,128,"
        "24677,0,none,17,udp,186,10.9.0.119,10.9.0.255,17500,17600,166"))
    assert field(udp, "destination.port") == 17600
    assert field(udp, "pfsense.udp.length") == 166
    assert field(udp, "related.ip") == ["10.9.0.119", "10.9.0.255"]


@pytest.mark.parametrize("line", [
    "Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,9,0x0",
    "Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,4,0x0,,64",
    "Sep 28 10:38:09 pfSense sshd[1]: Accepted publickey for root",
])
def test_records_it_cannot_read_are_parse_errors(line: str) -> None:
    with pytest.raises(ParseError):
        parser_for("pfsense.log").parse(raw(line))


_GUI_ASSERT = re.compile(
    r'^results\["s01-parse"\]\["crowdsecurity/pfsense-gui-logs"\]\[(\d+)\]\.Evt\.Parsed\["(source_ip|username)"\]'
    r' == "(.*)"$'
)


def test_crowdsec_web_gui_login_failures_agree() -> None:
    folder = corpus_path("crowdsec_hub_tests", "pfsense-gui-auth")
    lines = (folder / "pfsense-gui-auth.log").read_text().splitlines()
    parser = parser_for("pfsense.log")
    events = [parser.parse(raw(line)) for line in lines]
    expected = [m.groups() for m in map(_GUI_ASSERT.match, (folder / "parser.assert").read_text().splitlines()) if m]
    assert len(expected) == 2 * len(lines) == 18
    for index, name, value in expected:
        path = "source.ip" if name == "source_ip" else "user.name"
        assert field(events[int(index)], path) == value
    assert all(field(e, "event.outcome") == "failure" and field(e, "event.category") == ["authentication"]
               for e in events)


def test_web_gui_successful_login() -> None:
    event = parser_for("pfsense.log").parse(raw(
        "Nov  8 12:37:34 fw1 php-fpm[5321]: /index.php: Successful login for user 'admin' from: 192.0.2.10 "
        "(Local Database)"))
    assert field(event, "event.outcome") == "success"
    assert field(event, "user.name") == "admin"
    assert field(event, "source.ip") == "192.0.2.10"
    assert field(event, "related.user") == ["admin"]
    with pytest.raises(ParseError):
        parser_for("pfsense.log").parse(raw("Nov  8 12:37:34 fw1 php-fpm[5321]: some other PHP message"))
