"""Pins of the web parsers' hot-path shortcuts to the generic code they replace.

The busiest parsers read regex groups by position and build nested objects directly
(``parsers.web.common``); these tests hold those shortcuts to the slower, obvious
definitions: ``soc_core.event.new_event``, ``GrokPattern.match`` and the escaped-string
regex nginx's error context used to be written with.
"""

from __future__ import annotations

import random
import re
from functools import _lru_cache_wrapper
from pathlib import Path

import pytest

from parsers.web import apache, common, ecs, haproxy, iis, nginx, timestamps
from parsers.web.apache import ApacheAccessParser
from parsers.web.common import capture_groups, captures, layout_reader, web_pattern
from parsers.web.iis import IisAccessParser
from parsers.web.nginx import _CONTEXT, NginxAccessParser
from soc_core.event import RawEvent, new_event
from tests.conftest import FROZEN_AT

LINES = [
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "-" "curl/8.0"',
    'vhost:8080 ::1 - - [10/Oct/2000:13:55:36 +0000] "-" 408 -',
    '[10/Aug/2018:09:45:56 +0200] 172.30.0.119 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 "GET / HTTP/1.1" 1846',
]


@pytest.mark.parametrize("offset", [None, 42])
@pytest.mark.parametrize("peer", [None, "10.1.1.1"])
def test_skeleton_is_new_event_without_the_receipt_time(offset: int | None, peer: str | None) -> None:
    raw = RawEvent.from_bytes(b"x y z", "/var/log/x.log", FROZEN_AT, offset, peer=peer)
    fast = ApacheAccessParser().new_event(raw)
    slow = new_event(raw, "apache.access")
    assert fast.pop("@timestamp") is None
    slow.pop("@timestamp")
    assert fast == slow
    assert list(fast) == list(slow)


@pytest.mark.parametrize("text", LINES)
def test_captures_from_groups_equal_grok_match(text: str) -> None:
    pattern = web_pattern("APACHE_ACCESS_LINE")
    m = pattern.regex.fullmatch(text)
    assert m is not None
    assert captures(pattern, m.groups()) == pattern.match(text)


def test_layout_reader_reads_the_layout_it_is_given() -> None:
    pattern = web_pattern("APACHE_ACCESS_LINE")
    ssl = layout_reader(pattern, ("_time", "_client", "_ssl_protocol"), start=capture_groups(pattern)["_time"][1])
    m = pattern.regex.fullmatch(LINES[2])
    assert m is not None
    assert ssl(m.groups()) == ("10/Aug/2018:09:45:56 +0200", "172.30.0.119", "TLSv1.2")
    with pytest.raises(ValueError, match="two paths"):
        layout_reader(pattern, ("_time",))
    with pytest.raises(ValueError, match="no capture of _ssl_protocol"):  # not in the combined layout
        layout_reader(pattern, ("_time", "_ssl_protocol"), end=capture_groups(pattern)["_time"][1])


def test_a_line_without_a_date_keeps_the_receipt_time() -> None:
    raw = RawEvent.from_bytes(b"[error] [client 1.2.3.4] oops", "t", FROZEN_AT)
    event = apache.ApacheErrorParser().parse(raw)
    assert event["@timestamp"] == new_event(raw)["@timestamp"]


def test_iis_header_lines_take_the_same_fill() -> None:
    # A #Fields layout none of Filebeat's patterns knows: the header path, then fill().
    path = Path(__file__).parent / "_fields.log"
    try:
        path.write_text("#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken\n"
                        "2024-01-02 03:04:05 8.8.8.8 GET /a/b.aspx 404 15\n")
        (raw,) = list(IisAccessParser().read_file(str(path), FROZEN_AT))
    finally:
        path.unlink()
    event = IisAccessParser().parse(raw)
    assert event["source"] == {"address": "8.8.8.8", "ip": "8.8.8.8"}
    assert event["url"] == {"original": "/a/b.aspx", "path": "/a/b.aspx", "extension": "aspx"}
    assert event["http"] == {"request": {"method": "GET"}, "response": {"status_code": 404}}
    assert event["event"]["duration"] == 15_000_000
    assert event["event"]["outcome"] == "failure"


def test_nginx_proxy_chain_picks_the_first_public_address() -> None:
    line = ('example.com 10.0.0.2, 81.2.69.143, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] '
            '"GET /ocelot HTTP/1.1" 200 571 "-" "-"')
    parser = NginxAccessParser()
    for _ in range(2):  # the second time from the cache: the event gets its own list
        event = parser.parse(RawEvent.from_bytes(line.encode(), "t", FROZEN_AT))
        assert event["nginx"]["access"]["remote_ip_list"] == ["10.0.0.2", "81.2.69.143", "127.0.0.1"]
        event["nginx"]["access"]["remote_ip_list"].append("mutated")
    assert event["source"] == {"address": "81.2.69.143", "ip": "81.2.69.143"}


def test_unrolled_request_regex_matches_like_the_escaped_char_alternation() -> None:
    reference = re.compile(
        r', client: (?P<client>[^,\s]+), server: (?P<server>[^,]*)(?:, request: "(?P<request>(?:[^"\\]|\\.)*)")?'
    )
    rng = random.Random(7)
    alphabet = ["a", " ", '"', "\\", ",", ", client: ", "1.2.3.4", ", server: ", ', request: "', "GET / HTTP/1.1"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        ours, theirs = _CONTEXT.search(text), reference.search(text)
        assert (ours and (ours.span(), ours.groups())) == (theirs and (theirs.span(), theirs.groups())), text


def test_every_cache_is_bounded() -> None:
    for module in (apache, common, ecs, haproxy, iis, nginx, timestamps):
        for name, value in vars(module).items():
            if isinstance(value, _lru_cache_wrapper):
                assert value.cache_parameters()["maxsize"] is not None, f"{module.__name__}.{name} is unbounded"
