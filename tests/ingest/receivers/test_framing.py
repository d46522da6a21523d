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


def test_over_long_lines_are_cut_with_their_real_length_and_the_stream_resynchronises() -> None:
    long_line = b"<13>" + b"x" * 100
    stream = long_line + b"\n" + octet(b"<13>" + b"y" * 16) + b"<13>after\n" + long_line
    for chunk in (1, 5, 1000):
        framer = SyslogFramer(20)
        got = [f for i in range(0, len(stream), chunk) for f in framer.feed(stream[i : i + chunk])]
        got += framer.finish()
        assert [(f.data, f.truncated_from) for f in got] == [
            (long_line[:20], 104), (b"<13>" + b"y" * 16, None), (b"<13>after", None), (long_line[:20], 104)]
        assert framer.take_counts() == (0, 168)


def test_a_huge_octet_count_is_not_trusted_and_swallows_nothing() -> None:
    """Issue 21 item 11: ``999999999 <13>...`` used to take the next 100 lines with it."""
    lines = [b"<13>Nov 22 12:00:00 h app: line %d" % i for i in range(100)]
    stream = b"999999999 <13>Nov 22 12:00:00 h app: bogus count\n" + b"\n".join(lines) + b"\n"
    for chunk in (3, 1 << 16):
        framer = SyslogFramer(1 << 20)
        got = [f for i in range(0, len(stream), chunk) for f in framer.feed(stream[i : i + chunk])]
        got += framer.finish()
        assert [f.data for f in got] == [b"<13>Nov 22 12:00:00 h app: bogus count", *lines]
        assert framer.take_counts() == (1, 0)


def test_an_endless_line_holds_one_frame_of_memory() -> None:
    framer = SyslogFramer(1000)
    for _ in range(1000):  # 64 MB of zeros, no newline (like /dev/zero)
        assert framer.feed(b"\x00" * 65536) == []
        assert len(framer._buf) <= 65536
    got = framer.finish()
    assert [(len(f.data), f.truncated_from) for f in got] == [(1000, 65536 * 1000)]


def test_cuts_keep_utf8_characters_whole() -> None:
    text = ("đ" * 30).encode()  # two bytes per character
    got = frames_of(b"<13>" + text + b"\n", 1 << 16, max_frame=21)
    assert got[0].data == b"<13>" + ("đ" * 8).encode() and got[0].truncated_from == 64
    got[0].data.decode("utf-8")
