"""Fuzz every registered parser: random and truncated input never raises anything but
ParseError, and each input gives exactly one event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.base import ParserOptions
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import KINDS, RawEvent
from soc_core.registry import default_registry

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
PARSERS = default_registry().names("parser")

# Well-formed lines of many formats: truncating them reaches deep into each parser.
SAMPLES = [
    "Feb 21 21:54:44 localhost sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33",
    "<34>1 2003-10-11T22:14:15.003Z host app 1 ID [a@1 k=\"v\"] message",
    "Jan  8 03:37:09 h kernel: iptables DROP: IN=eth0 OUT= MAC=90:10:35:5a:1e:3a:90:10:9e:ec:2c:71:08:00 "
    "SRC=203.0.113.36 DST=172.16.54.114 LEN=52 TOS=0x00 PREC=0x00 TTL=115 ID=15743 DF PROTO=TCP SPT=1 DPT=445",
    "type=SYSCALL msg=audit(1485893834.891:18877199): arch=c000003e syscall=44 success=yes exit=184 a0=9 "
    "comm=\"charon\" exe=2F7573722F6C6962 key=(null) msg='op=x acct=\"root\" res=success'",
    "CEF:0|Elastic|Vaporware|1.0.0-alpha|18|Web request|low|eventId=3457 src=1.128.3.4 spt=33876 "
    "rt=Jan 17 2020 08:52:10",
    "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^devTime=1579336073000",
    "Apr 29 2013 12:59:50: %ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/5 (1.2.3.4/5) "
    "to inside:10.0.0.1/80 (10.0.0.1/80)",
    "2019-08-15T16:03:31Z firepower  %FTD-1-430002: AccessControlRuleAction: Allow, SrcIP: 10.0.100.30, "
    "DstIP: 10.0.1.20",
    "39222: *Oct 6 03:32:02.070 gmt: %SEC-6-IPACCESSLOGP: list 167 denied udp 10.1.1.1(137) -> 10.2.2.2(137), 1 packet",
    "<134>1 1563249630.774247467 MX84 flows src=192.168.1.186 dst=8.8.8.8 protocol=udp sport=1 dport=53 "
    "pattern: allow all",
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "Mozilla/4.08"',
    'date=2020-01-01 time=10:00:00 devname="FG" type="traffic" srcip=10.0.0.1 dstip=8.8.8.8 action="deny"',
    '{"@timestamp":"2020-01-01T00:00:00Z","event":{"code":4624},"winlog":{"channel":"Security"}}',
    "1,2020/01/01 00:00:00,001801000000,TRAFFIC,end,2049,2020/01/01 00:00:00,10.0.0.1,8.8.8.8,,,rule1",
]


@cache
def build(name: str) -> Any:
    options = ParserOptions(tz=timezone(timedelta(hours=-2)), clock=FrozenClock(NOW))
    return default_registry().get("parser", name)(options)


def check(name: str, data: bytes) -> None:
    parser = build(name)
    raw = RawEvent.from_bytes(data, "fuzz.log", NOW, 0)
    try:
        event = parser.parse(raw)
    except ParseError as exc:
        reason = exc.reason
        assert reason, "a ParseError must say why"
        return
    assert isinstance(event, dict)
    assert event["event"]["kind"] in KINDS
    assert isinstance(event["@timestamp"], str) and event["@timestamp"].endswith("Z")
    assert event["event"]["original"] == raw.message


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", PARSERS)
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    check(name, data)


@pytest.mark.parametrize("name", PARSERS)
@FUZZ
@given(sample=st.sampled_from(SAMPLES), cut=st.integers(0, 400), noise=st.text(max_size=8))
def test_truncated_and_mangled_samples(name: str, sample: str, cut: int, noise: str) -> None:
    check(name, (sample[:cut] + noise).encode())


@pytest.mark.parametrize("name", PARSERS)
@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list(" :=|[]()<>%,/\"'-.0123456789aZ{}\\\t")), max_size=200))
def test_structured_noise(name: str, text: str) -> None:
    check(name, text.encode())


# Characters str.isdigit() accepts but int() refuses (superscripts, circled digits), and
# Arabic-Indic digits that int() reads: numeric fields must take or refuse them cleanly.
_ODD_DIGITS = ("\u00b2", "\u2460", "\u0663")


@pytest.mark.parametrize("name", PARSERS)
@pytest.mark.parametrize("digit", _ODD_DIGITS)
def test_unicode_digits_in_numeric_fields(name: str, digit: str) -> None:
    for sample in SAMPLES:
        check(name, "".join(digit if ch.isdecimal() and n % 3 == 0 else ch for n, ch in enumerate(sample)).encode())
        check(name, "".join(digit if ch.isdecimal() else ch for ch in sample).encode())


def test_fortigate_record_with_absent_type_is_a_parse_error() -> None:
    for line in ('date=2020-01-01 time=10:00:00 devid="FG1" type="N/A" srcip=10.0.0.1',
                 'date=N/A time=10:00:00 devid="FG1" type="traffic" srcip=10.0.0.1'):
        check("fortinet.firewall", line.encode())
        with pytest.raises(ParseError):
            build("fortinet.firewall").parse(RawEvent.from_bytes(line.encode(), "f.log", NOW, 0))
