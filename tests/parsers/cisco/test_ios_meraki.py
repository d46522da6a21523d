"""Cisco IOS / NX-OS / Meraki: Wazuh decoder tests (every pass line parses) and vendor samples."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from parsers.base import ParserOptions
from parsers.cisco.ios import CiscoIosParser, CiscoNexusParser
from parsers.cisco.meraki import CiscoMerakiParser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import corpus_path

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))


def raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "router.log", NOW, 0)


def test_wazuh_cisco_ios_pass_lines_parse() -> None:
    ini = corpus_path("wazuh_ruleset_tests", "cisco_ios.ini").read_text()
    lines = re.findall(r"^log \d+ pass = (.*)$", ini, flags=re.M)
    assert len(lines) >= 10
    parser = CiscoIosParser(OPTIONS)
    for line in lines:
        event = parser.parse(raw(line))
        mnemonic = re.search(r"%[A-Z0-9_]+-\d-([A-Z0-9_]+):", line)
        assert mnemonic is not None
        assert event["event"]["code"] == mnemonic.group(1), line
        assert event["message"]


def test_ios_access_list_with_interface_and_zone() -> None:
    event = CiscoIosParser(OPTIONS).parse(raw(
        "39222: *Oct 6 03:32:02.070 gmt: %SEC-6-IPACCESSLOGP: list 167 denied udp 10.1.1.1(137) "
        "(GigabitEthernet0/1.6 ab9c.2a62.aa8d) -> 10.2.2.2(137), 3 packets"))
    assert event["source"] == {"ip": "10.1.1.1", "port": 137, "mac": "ab9c.2a62.aa8d", "packets": 3}
    assert event["destination"] == {"ip": "10.2.2.2", "port": 137}
    assert event["event"]["type"] == ["connection", "denied"]
    assert event["cisco"]["ios"] == {"facility": "SEC", "sequence": 39222, "access_list": "167",
                                     "interface": "GigabitEthernet0/1.6"}
    assert event["@timestamp"] == "2026-10-06T03:32:02.070Z"
    assert "host" not in event  # "gmt" is the zone, not a host


def test_ios_host_login_and_failure() -> None:
    parser = CiscoIosParser(OPTIONS)
    event = parser.parse(raw("Nov  1 10:00:00 core-rtr1 %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin] "
                             "[Source: 192.0.2.7] [localport: 22] [Reason: Login Authentication Failed] at 10:00:00"))
    assert event["host"] == {"hostname": "core-rtr1"}
    assert event["event"]["outcome"] == "failure"
    assert event["user"] == {"name": "admin"} and event["source"] == {"ip": "192.0.2.7"}
    with pytest.raises(ParseError):
        parser.parse(raw("Nov  1 10:00:00 core-rtr1 no emblem here"))


def test_nexus_year_first_and_interface() -> None:
    event = CiscoNexusParser(OPTIONS).parse(raw(
        "2019 Jan 10 12:00:00 nx01 %ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface Ethernet1/1 is down (Link failure)"))
    assert event["@timestamp"] == "2019-01-10T12:00:00.000Z"
    assert event["event"]["dataset"] == "cisco.nexus"
    assert event["cisco"]["nexus"]["interface"] == "Ethernet1/1"
    assert event["host"] == {"hostname": "nx01"}


@pytest.mark.parametrize(
    ("line", "checks"),
    [
        ("<134>1 1563249630.774247467 MX84 flows src=192.168.1.186 dst=8.8.8.8 mac=58:1F:AA:CE:61:F2 "
         "protocol=udp sport=55719 dport=53 pattern: allow all",
         {"event.type": ["connection", "allowed"], "source.port": 55719, "destination.ip": "8.8.8.8",
          "source.mac": "58-1F-AA-CE-61-F2", "network.transport": "udp", "rule.name": "allow all"}),
        ("<134>1 1563249630.774247467 MX84 urls src=192.168.1.186:63735 dst=69.58.188.40:80 "
         "mac=58:1F:AA:CE:61:F2 request: GET https://www.example.com/path/index.html",
         {"url.domain": "www.example.com", "url.extension": "html", "http.request.method": "GET",
          "destination.port": 80}),
        ("<134>1 1563249630.774247467 MX84 security_event ids_alerted signature=1:28423:1 priority=1 "
         "timestamp=1468531589.810079 shost=00:0C:29:C6:24:1A direction=ingress protocol=tcp/ip "
         "src=186.2.163.228:80 dst=192.168.128.2:64005 decision=blocked message: EXPLOIT-KIT Multiple exploit kit",
         {"event.kind": "alert", "rule.id": "1:28423:1", "network.transport": "tcp",
          "event.type": ["info", "denied"], "event.action": "ids_alerted"}),
        ("<134>1 1563249630.774247467 MR18 events type=association radio='0' vap='1' channel='6' rssi='23'",
         {"event.action": "association", "cisco.meraki.channel": "6"}),
    ],
)
def test_meraki_documented_samples(line: str, checks: dict[str, object]) -> None:
    event = CiscoMerakiParser(OPTIONS).parse(raw(line))
    assert event["@timestamp"] == "2019-07-16T04:00:30.774247Z"
    assert event["observer"]["vendor"] == "Cisco"
    for path, expected in checks.items():
        value: object = event
        for part in path.split("."):
            assert isinstance(value, dict), path
            value = value[part]
        assert value == expected, path


def test_meraki_rejects_other_text() -> None:
    with pytest.raises(ParseError):
        CiscoMerakiParser(OPTIONS).parse(raw("Oct 10 12:00:00 host app: nothing meraki"))
