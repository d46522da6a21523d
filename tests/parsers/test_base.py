"""File framing bounds (issue 21, item 10): a huge single line or an endless stream is
read in pieces, cut at the event limit, and marked with its real length."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from parsers.base import LINE_FRAMER, MAX_EVENT_BYTES, CutLine, MultilineFramer, frame_file
from parsers.linux.system import SystemSyslogParser

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class ZeroStream(io.RawIOBase):
    """``size`` zero bytes and then one newline, produced on demand (like /dev/zero,
    but with an end); records the largest piece handed out."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.largest = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.left < 0:
            return 0
        n = min(len(buffer), self.left) if self.left else 1
        buffer[:n] = b"\x00" * n if self.left else b"\n"
        self.left = self.left - n if self.left else -1
        return n

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line


def test_an_endless_line_is_read_in_bounded_pieces_and_cut() -> None:
    stream = ZeroStream(50 * MAX_EVENT_BYTES)
    frames = list(LINE_FRAMER.frames(io.BufferedReader(stream)))  # type: ignore[arg-type]
    assert len(frames) == 1
    offset, data = frames[0]
    assert offset == 0 and len(data) == MAX_EVENT_BYTES
    assert isinstance(data, CutLine) and data.original_length == 50 * MAX_EVENT_BYTES


def test_a_huge_line_in_a_file_is_cut_marked_and_the_next_offsets_stay_right(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    head = "<13>Nov 22 12:00:00 host app: đ".encode()
    huge = head + "đ".encode() * (3 * MAX_EVENT_BYTES)
    first = b"<13>Nov 22 12:00:00 host app: before\n"
    path.write_bytes(first + huge + b"\r\n<13>Nov 22 12:00:01 host app: after\n")
    raws = list(frame_file(str(path), LINE_FRAMER, NOW))
    assert [r.extra.get("truncated_from") for r in raws] == [None, len(huge), None]
    assert type(raws[1].data) is bytes and len(raws[1].data) <= MAX_EVENT_BYTES
    assert raws[1].decode_error is None  # cut between characters, not inside one
    assert raws[2].offset == len(first) + len(huge) + 2
    event = SystemSyslogParser().parse(raws[1])
    assert event["log"]["flags"] == ["truncated"] and event["log"]["original_length"] == len(huge)


def test_multiline_events_keep_offsets_past_a_cut_line() -> None:
    framer = MultilineFramer(r"^START")
    text = b"START a\n" + b"x" * (MAX_EVENT_BYTES + 5) + b"\nSTART b\n"
    frames = list(framer.frames(io.BytesIO(text)))
    assert [offset for offset, _ in frames] == [0, 8 + MAX_EVENT_BYTES + 6]


def test_the_auto_parsers_file_reader_cuts_huge_lines_too(tmp_path: Path) -> None:
    """``soc ingest`` with the default parser frames through ``auto``: same bound."""
    from parsers.auto import AutoParser

    path = tmp_path / "mixed.log"
    huge = b"<13>Nov 22 12:00:00 host app: " + b"q" * (2 * MAX_EVENT_BYTES)
    first = b"<13>Nov 22 12:00:00 host app: before\n"
    path.write_bytes(first + huge + b"\n  indented after\n")
    raws = list(AutoParser().read_file(str(path), NOW))
    assert [r.extra.get("truncated_from") for r in raws] == [None, len(huge), None]
    assert len(raws[1].data) == MAX_EVENT_BYTES and raws[2].offset == len(first) + len(huge) + 1
