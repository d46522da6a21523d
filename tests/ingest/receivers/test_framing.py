"""Syslog stream framing: newline and RFC 6587 octet counting, split anywhere."""

from __future__ import annotations

import pytest

from ingest.receivers.framing import Frame, SyslogFramer

MSG = b"<34>1 2026-11-22T12:00:00Z host app - - - hello"


def octet(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


def frames_of(stream: bytes, chunk: int, max_frame: int = 1 << 20) -> list[Frame]:
    framer = SyslogFramer(max_frame)
    out: list[Frame] = []
    for i in range(0, len(stream), chunk):
        out += framer.feed(stream[i : i + chunk])
    return out + framer.finish()


STREAM = (b"<13>Nov 22 12:00:00 h a: one\n" + octet(MSG) + octet(b"<13>multi\nline") + b"<13>two\r\n\n"
          + b"123 not counted, no PRI after the length\n" + octet(MSG + b" again") + b"<13>last, no newline")
EXPECTED = [b"<13>Nov 22 12:00:00 h a: one", MSG, b"<13>multi\nline", b"<13>two",
            b"123 not counted, no PRI after the length", MSG + b" again", b"<13>last, no newline"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
def test_mixed_framing_split_at_every_size(chunk: int) -> None:
    assert [f.data for f in frames_of(STREAM, chunk)] == EXPECTED


def test_over_long_frames_are_cut_and_the_stream_resynchronises() -> None:
    long_line = b"<13>" + b"x" * 100
    long_counted = octet(b"<13>" + b"y" * 100)
    stream = long_line + b"\n" + long_counted + b"<13>after\n"
    for chunk in (1, 5, 1000):
        got = frames_of(stream, chunk, max_frame=20)
        assert [f.data for f in got] == [long_line[:20], (b"<13>" + b"y" * 100)[:20], b"<13>after"]
        # A newline-framed line is cut as soon as it passes the limit, so its full length
        # is known only when it arrived in one piece; a counted frame's always is.
        cut_at = got[0].truncated_from
        assert cut_at is not None
        assert cut_at == len(long_line) if chunk == 1000 else 20 < cut_at <= 20 + chunk
        assert [f.truncated_from for f in got[1:]] == [104, None]
