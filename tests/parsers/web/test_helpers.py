"""Unit tests of the web parsers' helpers and of behaviour no golden file covers."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.files import read_file_events
from parsers.base import ParserOptions
from parsers.web import ecs
from parsers.web.apache import ApacheAccessParser, ApacheErrorParser, split_client
from parsers.web.haproxy import HaproxyParser
from parsers.web.iis import W3C_FRAMER, IisAccessParser
from parsers.web.nginx import NginxErrorParser, pick_client
from parsers.web.timestamps import TimestampError, ctime_date, http_date, slash_date, syslog_date
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError
from soc_core.event import RawEvent, get_field
from tests.conftest import FROZEN_AT

MINUS2 = timezone(timedelta(hours=-2))


def _raw(text: str) -> RawEvent:
    return RawEvent.from_bytes(text.encode(), "test", FROZEN_AT)


def _options(tz: timezone = UTC) -> ParserOptions:
    return ParserOptions(tz=tz, clock=FrozenClock(FROZEN_AT))


@pytest.mark.parametrize(("original", "expected"), [
    ("/favicon.ico", {"path": "/favicon.ico", "extension": "ico"}),
    ("/a%20b/c.tar.gz?x=%7B1%7D#frag", {"path": "/a b/c.tar.gz", "extension": "gz", "query": "x={1}",
                                       "fragment": "frag"}),
    ("https://u:p@example.com:8443/p?q", {"scheme": "https", "domain": "example.com", "port": 8443,
                                          "path": "/p", "query": "q", "user_info": "u:p",
                                          "username": "u", "password": "p"}),
    ("./././../", {"path": "./././../", "extension": "/"}),
    ("/..\\pixfir~1\\how_to_login.html", {}),  # a backslash is not valid in a URI
    ("/bad%zzescape", {}),
    ("/with space", {}),
])
def test_split_url_like_uri_parts(original: str, expected: dict[str, object]) -> None:
    assert ecs.split_url(original) == expected


def test_user_agent_fields() -> None:
    event: dict[str, object] = {}
    ecs.set_user_agent(event, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                              "Chrome/85.0.4183.121 Safari/537.36")
    assert get_field(event, "user_agent.name") == "Chrome"
    assert get_field(event, "user_agent.version") == "85.0.4183.121"
    assert get_field(event, "user_agent.os.full") == "Windows 10"
    assert get_field(event, "user_agent.device.name") == "Other"


def test_timestamps_cut_to_milliseconds_and_use_zone() -> None:
    assert ctime_date("Mon Dec 26 16:15:55.103922 2016", MINUS2) == datetime(
        2016, 12, 26, 18, 15, 55, 103000, tzinfo=UTC)
    assert http_date("26/Dec/2016:16:16:29 +0200", UTC) == datetime(2016, 12, 26, 14, 16, 29, tzinfo=UTC)
    assert http_date("10/Dec/2018:12:01:46.395", MINUS2).microsecond == 395000
    assert slash_date("2016/10/25 14:49:34", MINUS2) == datetime(2016, 10, 25, 16, 49, 34, tzinfo=UTC)
    with pytest.raises(TimestampError):
        http_date("26/Foo/2016:16:16:29 +0200", UTC)
    with pytest.raises(TimestampError):
        slash_date("2016/13/45 14:49:34", UTC)


def test_syslog_date_never_in_the_future() -> None:
    clock = FrozenClock(datetime(2026, 1, 2, 0, 0, tzinfo=UTC))
    assert syslog_date("Dec 31 23:00:00", UTC, clock).year == 2025
    assert syslog_date("Jan  1 23:00:00", UTC, clock).year == 2026
    assert syslog_date("Feb 29 10:00:00", UTC, clock).year == 2024  # the last leap year


def test_client_split_and_proxy_chain() -> None:
    assert split_client("::1:37752") == ("::1", 37752)
    assert split_client("::1") == ("::1", None)
    assert split_client("10.0.0.1:80") == ("10.0.0.1", 80)
    assert pick_client(["10.0.0.2", "10.0.0.1", "81.2.69.143"]) == "81.2.69.143"
    assert pick_client(["10.0.0.2", "127.0.0.1"]) == "10.0.0.2"
    assert pick_client(["localhost"]) == "localhost"


def test_apache_vhost_with_port_and_syslog_error_line() -> None:
    event = ApacheAccessParser(_options()).parse(_raw(
        'website.com:443 1.2.3.4 - - [25/Oct/2021:11:05:52 +0200] "GET /web/.well-known HTTP/1.1" 403 6963 '
        '"abc.com" "User-agent-string"'))
    assert get_field(event, "destination.domain") == "website.com"
    assert get_field(event, "destination.port") == 443
    assert get_field(event, "url.domain") == "website.com"
    assert event["@timestamp"] == "2021-10-25T09:05:52.000Z"
    error = ApacheErrorParser(_options()).parse(_raw("[error] [client 66.31.142.16] File does not exist: /x.ida"))
    assert get_field(error, "file.path") == "/x.ida"
    assert error["@timestamp"] == "2026-11-22T12:00:00.000Z"  # no date: time of reception


def test_nginx_error_context_and_modsecurity() -> None:
    line = ('2021/11/18 08:34:27 [info] 86596#86596: *1083 ModSecurity: Warning. Matched "Operator `Rx\' '
            'with parameter `x\' against variable `REQUEST_URI\' (Value: `/?a\' ) [file "/crs/REQUEST-930.conf"] '
            '[line "51"] [id "930110"] [rev ""] [msg "Path Traversal Attack (/../)"] [severity "2"] '
            '[ver "OWASP_CRS/3.2.0"] [tag "attack-lfi"] [hostname "10.0.1.61"] [uri "/"] [unique_id "1637.05"], '
            'client: 82.64.145.141, server: foobar.com, request: "GET /?foo=../../etc/passwd HTTP/1.1", '
            'host: "foobar.com"')
    event = NginxErrorParser(_options()).parse(_raw(line))
    assert get_field(event, "rule.id") == "930110"
    assert get_field(event, "source.ip") == "82.64.145.141"
    assert get_field(event, "url.path") == "/"
    assert get_field(event, "url.query") == "foo=../../etc/passwd"
    assert get_field(event, "destination.domain") == "foobar.com"
    assert get_field(event, "event.severity") == 2
    assert "rev" not in event["modsec"]  # empty items are left out


def test_iis_is_utc_and_skips_directives() -> None:
    text = (b"#Software: IIS\n#Fields: date time\n"
            b"2018-01-01 08:09:10 127.0.0.1 GET / - 80 - 1.2.3.4 curl/7 - 200 0 0 5\n")
    frames = list(W3C_FRAMER.frames(io.BytesIO(text)))
    assert [offset for offset, _ in frames] == [text.index(b"2018")]
    event = IisAccessParser(_options(MINUS2)).parse(_raw(frames[0][1].decode()))
    assert event["@timestamp"] == "2018-01-01T08:09:10.000Z"
    assert get_field(event, "event.duration") == 5_000_000
    with pytest.raises(ParseError):
        IisAccessParser(_options()).parse(_raw("#Fields: date time"))


def test_haproxy_year_comes_from_request_date_or_clock() -> None:
    parser = HaproxyParser(_options())
    tcp = parser.parse(_raw("Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] "
                            "main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0"))
    assert tcp["@timestamp"] == "2018-09-20T15:44:23.285Z"
    connect = parser.parse(_raw("Sep 20 15:42:59 1.128.3.4 haproxy[24551]: Connect from 1.128.3.4:40780 to "
                                "1.128.3.4:5000 (main/HTTP)"))
    assert connect["@timestamp"] == "2026-09-20T15:42:59.000Z"
    assert get_field(connect, "destination.port") == 5000
    other = parser.parse(_raw("Sep 20 15:42:59 host haproxy[1]: Server be/web1 is DOWN, reason: Layer4 timeout"))
    assert other["message"] == "Server be/web1 is DOWN, reason: Layer4 timeout"
    assert get_field(other, "process.pid") == 1 and "source" not in other
    with pytest.raises(ParseError):
        parser.parse(_raw("Sep 20 15:42:59 host haproxy[1]:"))
    with pytest.raises(ParseError):  # a truncated traffic line is an error, not a message
        parser.parse(_raw("Sep 20 15:44:23 h haproxy[2]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] main app/<NOSRV>"))


@pytest.mark.parametrize(("line", "dataset"), [
    ('::1 - - [26/Dec/2016:16:16:48 +0200] "-" 408 -', "apache.access"),
    ('10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "-"',
     "nginx.access"),
    ("[Mon Dec 26 16:22:08 2016] [error] [client 192.168.33.1] File does not exist: /var/www/favicon.ico",
     "apache.error"),
    ('2016/10/25 14:50:44 [error] 54053#0: *3 open() "/x" failed (2: No such file or directory)', "nginx.error"),
    ("2018-01-01 08:09:10 127.0.0.1 GET / q=100 80 - 81.2.69.143 Mozilla/5.0+(X11) - 200 0 0 123", "iis.access"),
    ("2018-05-05 05:05:55 81.2.69.145 12345 192.168.101.101 443 HTTP/1.1 GET /x 400 - URL -", "iis.error"),
    ("Sep 20 15:42:59 1.128.3.4 haproxy[24551]: Connect from 1.128.3.4:40780 to 1.128.3.4:5000 (main/HTTP)",
     "haproxy.log"),
])
def test_auto_routes_web_lines(line: str, dataset: str) -> None:
    auto = make_parser("auto", UTC, FrozenClock(FROZEN_AT))
    assert auto.parse(_raw(line))["event"]["dataset"] == dataset


def test_iis_custom_field_order_uses_fields_header(tmp_path: Path) -> None:
    log = tmp_path / "u_ex210304.log"
    log.write_text(
        "#Software: Microsoft Internet Information Services 10.0\n"
        "#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken cs(User-Agent) cs-uri-query\n"
        "2021-03-04 05:06:07 203.0.113.9 GET /a.aspx 500 15 curl/7.1 id=7+x\n"
        "#Fields: date time s-ip c-ip sc-status\n"
        "2021-03-04 05:06:08 10.0.0.1 203.0.113.10 404\n"
        "2021-03-04 05:06:09 10.0.0.1 203.0.113.10\n"
    )
    parser = make_parser("iis.access", UTC, FrozenClock(FROZEN_AT))
    raws = list(read_file_events(str(log), parser, FROZEN_AT))
    assert [raw.offset for raw in raws] == [log.read_text().index("2021-03-04 05:06:0" + n) for n in "789"]
    first, second = (parser.parse(raw) for raw in raws[:2])
    assert first["@timestamp"] == "2021-03-04T05:06:07.000Z"
    assert get_field(first, "source.ip") == "203.0.113.9"
    assert get_field(first, "url.path") == "/a.aspx"
    assert get_field(first, "url.query") == "id=7 x"
    assert get_field(first, "http.response.status_code") == 500
    assert get_field(first, "event.duration") == 15_000_000
    assert get_field(first, "user_agent.name") == "curl"
    assert get_field(second, "destination.ip") == "10.0.0.1"
    assert get_field(second, "event.outcome") == "failure"
    with pytest.raises(ParseError):
        parser.parse(raws[2])  # fewer values than the header names
