"""Random and truncated input never escapes a web parser as anything but ParseError.

Every parser of the ``parsers.web`` catalogue is fed random text, random bytes and every
truncation / corruption of real lines of each format; each call must return an ECS event
(a dict with ``event.kind``) or raise :class:`ParseError`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.web import PARSERS
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.contracts import Parser
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import FROZEN_AT
from tests.parsers.web.test_modsecurity import JSON_V3

SAMPLES = [
    '192.168.33.1 - - [26/Dec/2016:16:22:13 +0000] "GET /hello?x=1 HTTP/1.1" 404 499 "-" "Mozilla/5.0 (X11)"',
    '192.168.64.1 - - [07/Feb/2020:11:48:51 +0000] "POST /products HTTP/1.1" 200 59 "-" "curl/7.54.0" 89 0.001 '
    "[default-web-8080] [] [2a02:cf40::7]:5000, 172.17.0.5:8080 59, 0 0.000, 0.001 502, 200 529a0079",
    "[10/Aug/2018:09:45:56 +0200] 172.30.0.119 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 \"GET /a.php HTTP/1.1\" 1375",
    "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 89.160.20.112:80] "
    "ModSecurity: Warning. [id \"1\"] [msg \"m\"] [tag \"t\"] [uri \"/x\"]",
    '2016/10/25 14:49:34 [error] 54053#0: *1 open() failed, client: 127.0.0.1, server: localhost, '
    'request: "GET /favicon.ico HTTP/1.1", host: "localhost:8080"',
    "2018-01-01 10:11:12 W3SVC1 MACHINE-NAME ::1%0 GET / - 80 - ::1%0 HTTP/1.1 Mozilla/5.0+(X11) - - example.com "
    "200 0 0 123 456 789",
    "2018-05-05 05:05:55 81.2.69.145 12345 192.168.101.101 443 HTTP/1.1 GET /x 400 - URL -",
    'Dec 10 15:48:56 voyager haproxy[7873]: 127.0.0.1:44542 [10/Dec/2018:15:48:56.017] fe be/<NOSRV> '
    '0/-1/-1/-1/0 503 213 - - SC-- 1/1/0/0/0 0/0 {localhost:8888||} {|} "GET /foo HTTP/1.1"',
    "--c7036611-A--\n[09/Jan/2008:12:27:56 +0000] OSD4 209.90.77.54 64995 80.68.80.233 80\n--c7036611-B--\n"
    "GET / HTTP/1.1\nHost: x\n--c7036611-F--\nHTTP/1.1 200 OK\n--c7036611-H--\nMessage: Warning. [id \"9\"]\n"
    "--c7036611-Z--",
    orjson.dumps({"transaction": {"client_ip": "1.2.3.4", "time_stamp": "Thu Nov 18 08:34:27 2021",
                                  "request": {"method": "GET", "uri": "/", "headers": {"Host": "h"}},
                                  "response": {"http_code": 200}, "messages": [{"details": {"ruleId": "1"}}]}}
                 ).decode(),
]


def _parsers() -> list[Parser]:
    clock = FrozenClock(FROZEN_AT)
    return [make_parser(name, UTC, clock) for name in sorted(PARSERS)]


PARSER_LIST = _parsers()


def _check(data: bytes) -> None:
    raw = RawEvent.from_bytes(data, "fuzz", FROZEN_AT)
    for parser in PARSER_LIST:
        failed_as: str | None = None
        try:
            event = parser.parse(raw)
        except ParseError as exc:
            failed_as = exc.parser_id
        else:
            assert isinstance(event, dict) and event["event"]["kind"] == "event"
            assert event["@timestamp"].endswith("Z")
        assert failed_as in (None, parser.id)


def test_every_truncation_of_every_sample() -> None:
    for sample in SAMPLES:
        data = sample.encode()
        for cut in range(len(data) + 1):
            _check(data[:cut])
            _check(data[cut:])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(data)


def test_digit_lookalikes_are_not_numbers() -> None:
    # "²" passes str.isdigit() but int() refuses it: such text must end in ParseError.
    for sample in SAMPLES:
        for digit in "0123456789":
            _check(sample.replace(digit, "²").encode())
            _check(sample.replace(digit, "٣").encode())  # an Arabic-Indic digit: int() accepts it


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(min_value=0, max_value=400), st.text(max_size=8))
def test_corrupted_samples(sample: str, position: int, insert: str) -> None:
    position = min(position, len(sample))
    _check((sample[:position] + insert + sample[position:]).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_sample_is_parsed_by_some_parser(sample: str) -> None:
    raw = RawEvent.from_bytes(sample.encode(), "sample", FROZEN_AT)
    parsed = []
    for parser in PARSER_LIST:
        try:
            parsed.append(parser.parse(raw)["event"]["dataset"])
        except ParseError:
            continue
    assert parsed, sample


IIS_HEADER = ("date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status", "time-taken", "cs(User-Agent)")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=" \n"), max_size=12), min_size=8, max_size=8))
def test_iis_header_driven_path(values: list[str]) -> None:
    parser = make_parser("iis.access", UTC, FrozenClock(FROZEN_AT))
    for text in (" ".join(values), "2021-03-04 05:06:07 " + " ".join(values[2:])):
        raw = RawEvent.from_bytes(text.encode("utf-8", "surrogatepass"), "fuzz", FROZEN_AT,
                                  extra={"w3c_fields": IIS_HEADER})
        try:
            event = parser.parse(raw)
        except ParseError as exc:
            assert exc.parser_id == "iis.access"  # noqa: PT017 - the error must name its parser
            continue
        assert event["event"]["dataset"] == "iis.access"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
TX_KEYS = st.sampled_from(["client_ip", "time_stamp", "client_port", "host_ip", "request", "response", "messages",
                           "time", "remote_address", "unique_id", "uri", "method", "headers", "details"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TX_KEYS, JSON_VALUES, max_size=8), st.dictionaries(TX_KEYS, JSON_VALUES, max_size=4))
def test_random_audit_json(transaction: dict[str, object], top: dict[str, object]) -> None:
    _check(orjson.dumps({**top, "transaction": transaction}))


@settings(max_examples=300, deadline=None)
@given(TX_KEYS, JSON_VALUES, st.sampled_from(["request", "response", "messages"]), TX_KEYS, JSON_VALUES)
def test_audit_json_with_one_bad_part(key: str, value: Any, part: str, inner: str, inner_value: Any) -> None:
    """A valid libmodsecurity record with one part replaced by arbitrary JSON."""
    tx: dict[str, Any] = dict(JSON_V3["transaction"])
    nested = tx[part]
    if isinstance(nested, dict):
        tx[part] = {**nested, inner: inner_value}
    else:
        tx[part] = [{**nested[0], inner: inner_value}]
    tx[key] = value
    _check(orjson.dumps({"transaction": tx}))
