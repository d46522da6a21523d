"""Hand-written records in each vendor's documented format, with the ECS values they must
give, and the routing hints (``accepts``) the auto parser relies on."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from parsers.community_id import community_id
from parsers.firewall import PARSERS
from soc_core.errors import ParseError
from tests.parsers.firewall._support import field, parser_for, raw
from tests.parsers.firewall.test_robustness import SEED_DATASETS, SEED_LINES


def test_catalogue_names_are_the_datasets_they_produce() -> None:
    for dataset in PARSERS:
        parser = parser_for(dataset)
        assert parser.id == dataset
        for hint in ("syslog_programs", "route_signals", "json_keys"):
            assert isinstance(getattr(parser, hint), tuple)


@pytest.mark.parametrize(("dataset", "line"), list(zip(SEED_DATASETS, SEED_LINES, strict=True)))
def test_each_parser_accepts_only_its_own_format(dataset: str, line: str) -> None:
    takers = [name for name in PARSERS if parser_for(name).accepts(raw(line))]
    assert takers == [dataset]


def test_snort_syslog_alert() -> None:
    # Snort's syslog alert output: [gid:sid:rev] msg [Classification] [Priority] {PROTO} a -> b
    line = ("Jan  5 10:11:12 ids01 snort[4242]: [1:2010935:3] ET POLICY Suspicious inbound to "
            "MSSQL port 1433 [Classification: Potentially Bad Traffic] [Priority: 2]: {TCP} "
            "203.0.113.9:51515 -> 10.1.1.20:1433")
    event = parser_for("snort.log").parse(raw(line))
    assert field(event, "event.kind") == "alert"
    assert field(event, "rule.id") == "2010935"
    assert field(event, "rule.name") == "ET POLICY Suspicious inbound to MSSQL port 1433"
    assert field(event, "rule.category") == "Potentially Bad Traffic"
    assert field(event, "source.port") == 51515
    assert field(event, "destination.ip") == "10.1.1.20"
    assert field(event, "network.community_id") == community_id(
        "203.0.113.9", "10.1.1.20", 51515, 1433, 6)
    assert field(event, "@timestamp") == "2026-01-05T10:11:12.000Z"


def test_snort_year_less_stamp_never_lands_in_the_future() -> None:
    line = ("Dec 31 23:59:59 ids01 snort[1]: [1:1:1] x [Priority: 3]: {UDP} 10.0.0.1:1 -> "
            "10.0.0.2:2")
    assert field(parser_for("snort.log").parse(raw(line)), "@timestamp").startswith("2025-12-31")


def test_junos_commit_and_flow_text() -> None:
    parser = parser_for("juniper.junos", timezone(timedelta(hours=-2)))
    commit = parser.parse(raw(
        "Mar  1 10:00:00 rtr1 mgd[1234]: UI_COMMIT: User 'admin' requested 'commit' operation"))
    assert field(commit, "event.code") == "UI_COMMIT"
    assert field(commit, "user.name") == "admin"
    assert field(commit, "process.pid") == 1234
    assert field(commit, "@timestamp") == "2026-03-01T12:00:00.000Z"
    flow = parser.parse(raw(
        "Jun 12 11:22:34 fw1 RT_FLOW: RT_FLOW_SESSION_CREATE: session created "
        "10.0.0.1/1234->10.0.0.2/80 junos-http 10.0.0.1/1234->10.0.0.2/80 None None 6"))
    assert field(flow, "event.type") == ["start", "allowed", "connection"]
    assert field(flow, "destination.port") == 80


def test_junos_structured_data_uses_the_msgid() -> None:
    line = ('<28>1 2019-11-14T09:37:51.184+01:00 SRX-GW1 RT_FLOW - RT_FLOW_SESSION_DENY '
            '[junos@2636.1.1.1.2.39 source-address="192.168.1.1" source-port="1080" '
            'destination-address="192.168.1.2" destination-port="8010" protocol-id="17" '
            'policy-name="Local-Default-Deny"]')
    event = parser_for("juniper.junos").parse(raw(line))
    assert field(event, "event.code") == "RT_FLOW_SESSION_DENY"
    assert field(event, "rule.name") == "Local-Default-Deny"
    assert field(event, "network.transport") == "udp"
    assert field(event, "@timestamp") == "2019-11-14T08:37:51.184Z"


def test_sonicwall_ipv6_endpoint_keeps_its_colons() -> None:
    line = ('id=firewall sn=0017C5 time="2021-02-01 10:00:00" fw=10.0.0.1 pri=6 c=1024 m=537 '
            'msg="Connection Closed" src=2001:db8::1 dst=10.0.0.2:53:LAN proto=udp/dns '
            'sent=80 rcvd=120')
    event = parser_for("sonicwall.firewall").parse(raw(line))
    assert field(event, "source.ip") == "2001:db8::1"
    assert field(event, "destination.port") == 53
    assert field(event, "network.bytes") == 200
    assert field(event, "event.code") == "537"


def test_suricata_rejects_json_that_is_not_eve() -> None:
    parser = parser_for("suricata.eve")
    for line in ("[1, 2, 3]", '{"flow_id": 1}', "{not json"):
        with pytest.raises(ParseError):
            parser.parse(raw(line))


def test_fortigate_zone_in_the_record_wins_over_the_default() -> None:
    line = ('date=2020-04-23 time=12:14:09 devname="fw" devid="FGT1" logid="0000000011" '
            'type="traffic" subtype="forward" level="warning" tz="-0500" srcip=192.168.1.6 '
            'srcport=53438 dstip=175.16.199.1 dstport=53 proto=17 action="accept" '
            'sentbyte=10 rcvdbyte=20 duration=3')
    event = parser_for("fortinet.firewall").parse(raw(line))
    assert field(event, "@timestamp") == "2020-04-23T17:14:09.000Z"
    assert field(event, "event.duration") == 3_000_000_000
    assert field(event, "network.transport") == "udp"
    assert field(event, "network.bytes") == 30


def test_checkpoint_requires_its_structured_data() -> None:
    with pytest.raises(ParseError):
        parser_for("checkpoint.firewall").parse(raw("<134>1 2020-03-29T13:19:20Z gw CheckPoint 1 - []"))


def test_vendor_log_ids_never_replace_the_deterministic_event_id() -> None:
    # Check Point repeats a session's loguid on its "Log Update" records: used as
    # event.id, the store would drop them as duplicates. It stays a vendor field.
    line = ('<134>1 2022-07-16T18:51:20Z fw1 CheckPoint 15190 - [action:"Accept"; '
            'loguid:"{0x8f6ff124,0xbeef4db4,0xbad40b,0xa9525929}"; origin:"81.2.69.144"; '
            'product:"Log Update"; src:"10.0.0.1"; dst:"10.0.0.2"]')
    parser = parser_for("checkpoint.firewall")
    first, again = parser.parse(raw(line)), parser.parse(raw(line))
    assert first["event"]["id"] == again["event"]["id"] == raw(line).event_id
    assert field(first, "checkpoint.loguid") == "{0x8f6ff124,0xbeef4db4,0xbad40b,0xa9525929}"
    other = parser.parse(raw(line, offset=500))
    assert other["event"]["id"] != first["event"]["id"]
