"""``http.raw``: raw HTTP/1.x request streams framed by RFC 9112 (CRLF or LF, Content-Length,
chunked bodies, obs-fold), each request one ECS event; junk between requests is a dead
letter, not skipped."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

from parsers.base import frame_file
from parsers.web.http_raw import HttpRawParser, HttpRequestFramer, decode_chunked
from soc_core.errors import ParseError
from soc_core.event import RawEvent
from tests.conftest import corpus_path

RECEIVED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def frames(data: bytes) -> list[tuple[int, bytes]]:
    return list(HttpRequestFramer().frames(io.BytesIO(data)))


def parse(data: bytes) -> dict:
    return HttpRawParser().parse(RawEvent.from_bytes(data, "/x", RECEIVED, 0))


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_requests_are_framed_by_content_length_whatever_the_line_ends(eol: bytes) -> None:
    body = b"a=1&b=x%20y"
    stream = (b"GET /one?x=1 HTTP/1.1" + eol + b"Host: h:8080" + eol + eol + eol
              + b"POST /two HTTP/1.1" + eol + b"Host: h:8080" + eol
              + b"Content-Type: application/x-www-form-urlencoded" + eol
              + b"Content-Length: " + str(len(body)).encode() + eol + eol + body + eol + eol
              + b"GET /three HTTP/1.0" + eol + eol)
    found = frames(stream)
    assert [f[1].split(b" ", 2)[1] for f in found] == [b"/one?x=1", b"/two", b"/three"]
    assert found[0][0] == 0
    assert stream[found[1][0]:].startswith(b"POST /two")
    assert found[1][1].endswith(body)
    post = parse(found[1][1])
    assert post["http"]["request"]["method"] == "POST"
    assert post["http"]["request"]["body"] == {"bytes": len(body), "content": "a=1&b=x%20y"}
    assert post["http"]["request"]["mime_type"] == "application/x-www-form-urlencoded"
    assert post["url"]["domain"] == "h" and post["url"]["port"] == 8080 and post["url"]["path"] == "/two"
    assert post["url"]["original"] == "/two"  # origin-form target kept as received


def test_a_body_holding_a_request_line_stays_in_its_request() -> None:
    body = b"GET /not-a-request HTTP/1.1\r\n"
    stream = b"POST /p HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s\r\nGET /next HTTP/1.1\r\n\r\n" % (len(body), body)
    found = frames(stream)
    assert len(found) == 2
    assert parse(found[0][1])["http"]["request"]["body"]["content"] == body.decode()


def test_chunked_body_is_read_to_the_last_chunk_and_decoded() -> None:
    stream = (b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
    found = frames(stream)
    assert len(found) == 2
    event = parse(found[0][1])
    assert event["http"]["request"]["body"]["content"] == "hello world"
    assert decode_chunked(b"3\r\nabc\r\n0\r\n\r\n") == b"abc"


def test_absolute_form_headers_user_agent_and_obs_fold() -> None:
    event = parse(b"GET http://shop.example:8080/a/b.jsp?q=1 HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux)\r\n"
                  b"X-Long: one\r\n  two\r\nReferer: http://r/\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n")
    assert event["url"]["domain"] == "shop.example" and event["url"]["query"] == "q=1"
    assert event["url"]["extension"] == "jsp"
    headers = event["http"]["request"]["headers"]
    assert headers["x-long"] == "one two"
    assert headers["cookie"] == "a=1, b=2"
    assert event["http"]["request"]["referrer"] == "http://r/"
    assert event["user_agent"]["original"] == "Mozilla/5.0 (X11; Linux)"
    assert event["http"]["version"] == "1.1"
    assert event["event"]["dataset"] == "http.raw" and event["@timestamp"] == "2026-11-22T12:00:00.000Z"


def test_junk_between_requests_becomes_its_own_frame_and_a_parse_error() -> None:
    found = frames(b"GET /a HTTP/1.1\r\n\r\nthis is not http\r\nGET /b HTTP/1.1\r\n\r\n")
    assert [f[1] for f in found][1] == b"this is not http"
    with pytest.raises(ParseError, match="request line"):
        parse(found[1][1])
    with pytest.raises(ParseError, match="header field"):
        parse(b"GET / HTTP/1.1\r\nBad Header : x\r\n\r\n")


def test_csic_files_frame_into_their_published_request_counts(tmp_path: Path) -> None:
    """The three CSIC 2010 files hold 36,000, 36,000 and 25,065 requests (corpus README);
    the first thousand of the training file are checked field by field."""
    path = corpus_path("labelled", "csic_2010", "anomalousTrafficTest.txt.gz")
    with gzip.open(path, "rb") as stream:
        count = sum(1 for _ in HttpRequestFramer().frames(stream))  # type: ignore[arg-type]
    assert count == 25_065
    parser = HttpRawParser()
    training = corpus_path("labelled", "csic_2010", "normalTrafficTraining.txt.gz")
    methods = set()
    for raw in islice(frame_file(str(training), parser.framer, RECEIVED), 1000):
        event = parser.parse(raw)
        request = event["http"]["request"]
        methods.add(request["method"])
        if request["method"] == "POST":
            assert request["body"]["bytes"] == int(request["headers"]["content-length"])
        assert event["url"]["domain"] == "localhost" and event["url"]["path"].startswith("/")
    assert methods == {"GET", "POST"}
