"""Pins of the web parsers' hot-path shortcuts to the generic code they replace.

The busiest parsers read regex groups by position and build nested objects directly
(``parsers.web.common``); these tests hold those shortcuts to the slower, obvious
definitions: ``soc_core.event.new_event``, ``GrokPattern.match``, the escaped-string
regex nginx's error context used to be written with, nginx's error-context reader and
ModSecurity's message summary as they were written before their fast paths (kept here
as references, run over random texts built from the fragments those paths special-case).
"""

from __future__ import annotations

import copy
import random
import re
from functools import _lru_cache_wrapper
from pathlib import Path
from typing import Any

import pytest

from parsers.web import apache, common, ecs, haproxy, iis, modsec_message, nginx, timestamps
from parsers.web.apache import ApacheAccessParser
from parsers.web.common import capture_groups, captures, layout_reader, web_pattern
from parsers.web.iis import IisAccessParser
from parsers.web.modsec_message import message_summary, parse_items
from parsers.web.nginx import _CONTEXT, NginxAccessParser, apply_error_context
from soc_core.event import Event, RawEvent, new_event
from tests.conftest import FROZEN_AT, corpus_path

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
    for module in (apache, common, ecs, haproxy, iis, modsec_message, nginx, timestamps):
        for name, value in vars(module).items():
            if isinstance(value, _lru_cache_wrapper):
                assert value.cache_parameters()["maxsize"] is not None, f"{module.__name__}.{name} is unbounded"


_ACTION = re.compile(
    r"(?:.*?ModSecurity: )?(?P<action>[A-Z][A-Za-z ]*?(?: with code \d+)?(?: \(phase \d+\))?)\.(?:\s+|$)(?P<detail>.*)",
    re.S,
)
_SUMMARY_KEYS = ("id", "msg", "file", "line", "data", "severity", "ver", "rev", "maturity",
                 "accuracy", "hostname", "uri", "unique_id", "ref")


def _reference_summary(text: str) -> dict[str, Any]:
    """``message_summary`` as written before its layout fast path: one regex per item."""
    items = parse_items(text)
    first_item = text.find(" [")
    head = text[:first_item] if first_item != -1 else text
    out: dict[str, Any] = {}
    action = _ACTION.match(head)
    if action:
        out["action"] = action.group("action").strip()
        detail = action.group("detail").strip()
    else:
        detail = head.split("ModSecurity: ", 1)[-1].strip()
    score = modsec_message.anomaly_score(text) if "Score: " in text else None
    return {**out, **({"matched": detail} if detail else {}),
            **{key: items[key] for key in _SUMMARY_KEYS if items.get(key)},
            **({"tags": items["tag"]} if "tag" in items else {}),
            **({"anomaly_score": score} if score is not None else {})}


def _random_modsec_message(rng: random.Random) -> str:
    heads = ["ModSecurity: Warning. ", "ModSecurity: Access denied with code 403 (phase 2). ",
             "[client 1.2.3.4] ModSecurity: ", "ModSecurity: Warning.", "Pattern match ", "", "x [y] ",
             '[id "9"] ModSecurity: Warning. ', "ModSecurity: warning. "]
    keys = [*_SUMMARY_KEYS, "tag", "tag", "tag", "id", "x_1"]
    value_bits = ["a", "", " ", ".", "[", "]", '\\"', "\\", "\n", "\\\n", "] [", '"', "Score: 5"]
    text = rng.choice(heads) + "".join(rng.choice(["detail", " ", ".", "[", '"']) for _ in range(rng.randint(0, 3)))
    for _ in range(rng.randint(0, 8)):
        value = "".join(rng.choice(value_bits) for _ in range(rng.randint(0, 4)))
        text += rng.choice([" ", " ", " ", "  ", "", " junk "]) + f'[{rng.choice(keys)} "{value}"]'
    return text + rng.choice(["", "", " [hostname", ' trailing "x"', " (Total Score: 7)", "]"])


def test_modsec_summary_fast_path_equals_the_regex_reading() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        text = _random_modsec_message(rng)
        ours = message_summary(text)
        assert list(ours.items()) == list(_reference_summary(text).items()), text


def test_modsec_summary_of_real_crs_lines_equals_the_regex_reading() -> None:
    files = sorted(corpus_path("crowdsec_hub_tests").glob("modsecurity*/*.log"))
    assert files, "the corpus has no CrowdSec ModSecurity logs"
    texts = [line for f in files for line in f.read_text(errors="replace").splitlines() if "ModSecurity" in line]
    assert len(texts) > 20
    for text in texts:
        assert list(message_summary(text).items()) == list(_reference_summary(text).items()), text


_HOST = re.compile(r', host: "(?P<host>[^"]*)"')
_REFERRER = re.compile(r', referrer: "(?P<referrer>[^"]*)"')


def _reference_context(event: Event, message: str) -> None:
    """``nginx.apply_error_context`` as written before it searched from the first key."""
    context = _CONTEXT.search(message)
    if context is None:
        return
    client, server, request = context.group("client", "server", "request")
    ecs.set_endpoint(event, "source", client)
    if request:
        method, _, rest = request.partition(" ")
        target, _, version = rest.rpartition(" ")
        if method and target and version.startswith("HTTP/"):
            http: dict[str, Any] = event.setdefault("http", {})
            http.setdefault("request", {})["method"] = method
            http["version"] = version[5:]
            ecs.set_url(event, target)
    host = _HOST.search(message)
    name = host.group("host").rsplit(":", 1)[0] if host else server
    if name:
        event.setdefault("destination", {})["domain"] = name
        event.setdefault("url", {})["domain"] = name
    referrer = _REFERRER.search(message)
    if referrer:
        event.setdefault("http", {}).setdefault("request", {})["referrer"] = referrer.group("referrer")


def test_nginx_error_context_equals_the_three_searches() -> None:
    rng = random.Random(5)
    bits = [", client: 1.2.3.4", ", client: ", ", server: example.com", ", server: ",
            ', request: "GET /a?b=1 HTTP/1.1"',
            ', request: "x', ', host: "h.example:8080"', ', host: "', ', referrer: "https://r.example/"',
            ', referrer: ', ', upstream: "http://10.0.0.1/"', "text", '"', ",", " "]
    for _ in range(20_000):
        message = "".join(rng.choice(bits) for _ in range(rng.randint(0, 9)))
        starts: list[Event] = [{}, {"source": {"address": "9.9.9.9"}, "url": {"original": "/x"}}]
        for start in starts:
            ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
            apply_error_context(ours, message)
            _reference_context(theirs, message)
            assert ours == theirs, message
