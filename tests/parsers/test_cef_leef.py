"""CEF and LEEF decoding to ECS, and the cef.log golden fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.base import ParserOptions
from parsers.cef import CefParser, decode_cef
from parsers.leef import LeefParser, decode_leef
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import corpus_path
from tests.parsers.golden import fixtures, score_filebeat_fixture

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OPTIONS = ParserOptions(tz=UTC, clock=FrozenClock(NOW))


def raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "test.log", NOW, 0)


def test_decode_cef_header_escapes_and_extensions() -> None:
    rec = decode_cef(r"CEF:0|Ven\|dor|Prod|1.0|100|Na\\me|7|src=10.0.0.1 msg=a\=b c\nd suser=bob  ")
    assert rec is not None
    assert (rec.version, rec.vendor, rec.name, rec.severity) == ("0", "Ven|dor", "Na\\me", "7")
    assert rec.extensions == {"sourceAddress": "10.0.0.1", "message": "a=b c\nd", "sourceUserName": "bob"}


def test_decode_cef_behind_syslog_header_and_not_cef() -> None:
    rec = decode_cef("Jan 18 11:07:53 host CEF:0|V|P|1|id|n|Low|")
    assert rec is not None and rec.prefix == "Jan 18 11:07:53 host " and rec.extensions == {}
    assert decode_cef("CEF:0|only|four|fields") is None
    assert decode_cef("CEF:x|a|b|c|d|e|f|") is None
    assert decode_cef("plain text") is None


def test_cef_parser_maps_to_ecs() -> None:
    line = ("Jan 18 11:07:53 fw1 CEF:0|Acme|FW|2.1|4000|Blocked|High|src=1.128.3.4 spt=33876 dst=10.0.0.5 dpt=443 "
            "proto=TCP act=blocked duser=alice rt=Jan 17 2020 08:52:10 in=12 cs1Label=RuleID cs1=77 dpt2=x")
    event = CefParser(OPTIONS).parse(raw(line))
    assert event["event"]["dataset"] == "cef.log"
    assert event["source"] == {"ip": "1.128.3.4", "port": 33876, "bytes": 12}
    assert event["destination"]["ip"] == "10.0.0.5" and event["destination"]["port"] == 443
    assert event["destination"]["user"] == {"name": "alice"}
    assert event["network"]["transport"] == "tcp"
    assert event["network"]["community_id"].startswith("1:")
    assert event["event"]["action"] == "blocked"
    assert event["event"]["severity"] == 7
    assert event["@timestamp"] == "2020-01-17T08:52:10.000Z"
    assert event["observer"] == {"vendor": "Acme", "product": "FW", "version": "2.1"}
    assert event["rule"] == {"id": "77"}
    assert event["host"] == {"hostname": "fw1"}
    assert event["related"]["ip"] == ["10.0.0.5", "1.128.3.4"]
    assert event["cef"]["extensions"]["dpt2"] == "x"


def test_cef_bad_typed_value_is_kept_out_of_ecs_and_reported() -> None:
    event = CefParser(OPTIONS).parse(raw("CEF:0|V|P|1|1|n|3|src=not-an-ip spt=x"))
    assert "source" not in event
    assert event["cef"]["extensions"]["sourceAddress"] == "not-an-ip"
    assert len(event["error"]["message"]) == 2


def test_cef_parser_rejects_non_cef() -> None:
    with pytest.raises(ParseError) as info:
        CefParser(OPTIONS).parse(raw("hello"))
    assert info.value.parser_id == "cef.log"


def test_leef_1_and_2() -> None:
    one = decode_leef("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tsev=5")
    assert one is not None and one.attributes == {"src": "10.50.1.1", "dst": "2.10.20.20", "sev": "5"}
    two = decode_leef("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^dstPort=21")
    assert two is not None and two.delimiter == "^" and two.attributes["dstPort"] == "21"
    hexed = decode_leef("LEEF:2.0|V|P|1|41|x09|a=1\tb=2")
    assert hexed is not None and hexed.attributes == {"a": "1", "b": "2"}
    assert decode_leef("LEEF:3.0|V|P|1|41|a=1") is None
    assert decode_leef("LEEF:1.0|short") is None


def test_leef_parser_maps_to_ecs() -> None:
    line = ("<13>Jan 18 11:07:53 qradar LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^"
            "srcPort=81^dstPort=21^proto=6^usrName=carol^devTime=1579336073000^sev=5")
    event = LeefParser(OPTIONS).parse(raw(line))
    assert event["event"]["dataset"] == "leef.log"
    assert event["source"] == {"ip": "10.0.1.8", "port": 81}
    assert event["destination"] == {"ip": "10.0.0.5", "port": 21}
    assert event["network"]["transport"] == "tcp"
    assert event["user"] == {"name": "carol"}
    assert event["event"]["severity"] == 5
    assert event["@timestamp"] == "2020-01-18T08:27:53.000Z"
    assert event["observer"]["vendor"] == "Lancope"
    with pytest.raises(ParseError):
        LeefParser(OPTIONS).parse(raw("no leef here"))


def test_cef_golden_fixtures_floor() -> None:
    pairs = fixtures(corpus_path("beats_filebeat", "cef", "log"))
    assert pairs
    hits = total = 0
    for log, expected in pairs:
        score = score_filebeat_fixture("cef.log", log, expected)
        assert score.ratio >= 0.9, f"{log.name}: {score.summary()}"
        hits, total = hits + score.hits, total + score.total
    assert hits / total >= 0.95
