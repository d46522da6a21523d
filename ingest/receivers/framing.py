"""Splitting a syslog byte stream into messages: newline framing and RFC 6587 octet counting.

Each frame is detected on its own, as rsyslog and syslog-ng do: a frame starting with
``<digits> <`` (a length, a space, then a PRI) is octet-counted (RFC 6587 3.4.1, RFC 5425);
anything else runs to the next ``\\n`` (non-transparent framing, RFC 6587 3.4.2), with a
trailing ``\\r`` and NUL removed. A frame longer than ``max_frame_bytes`` is cut and the
rest of it skipped, so one bad sender cannot exhaust memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OCTET_HEADER = re.compile(rb"([1-9][0-9]{0,8}) ")
_MAX_HEADER = 10  # nine digits and the space


@dataclass(frozen=True, slots=True)
class Frame:
    """One message; ``truncated_from`` is its real length when it was cut."""

    data: bytes
    truncated_from: int | None = None


class SyslogFramer:
    """Incremental framer: ``feed`` bytes as they arrive, ``finish`` at end of stream."""

    def __init__(self, max_frame_bytes: int = 1 << 20) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._skip = 0  # bytes still to discard of an over-long octet-counted frame
        self._skip_to_newline = False  # discarding the rest of an over-long line

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by ``data``."""
        self._buf += data
        out: list[Frame] = []
        while self._buf:
            if self._skip:
                n = min(self._skip, len(self._buf))
                del self._buf[:n]
                self._skip -= n
                continue
            if self._skip_to_newline:
                nl = self._buf.find(b"\n")
                if nl < 0:
                    self._buf.clear()
                    break
                del self._buf[: nl + 1]
                self._skip_to_newline = False
                continue
            if self._buf[0:1].isdigit():
                m = _OCTET_HEADER.match(self._buf, 0, _MAX_HEADER)
                if m is None and len(self._buf) < _MAX_HEADER and self._buf.isdigit():
                    break  # the length header itself is incomplete
                following = self._buf[m.end() : m.end() + 1] if m is not None else b"-"
                if m is not None and following == b"":
                    break  # cannot tell the framing before the byte after the length
                if m is not None and following == b"<":
                    if not self._take_counted(m, out):
                        break
                    continue
            if not self._take_line(out):
                break
        return out

    def finish(self) -> list[Frame]:
        """The last, unterminated frame at end of stream (if any)."""
        rest = bytes(self._buf).rstrip(b"\r\n\x00")
        self._buf.clear()
        if self._skip or self._skip_to_newline or not rest.strip():
            return []
        return [self._cut(rest)]

    def _take_counted(self, m: re.Match[bytes], out: list[Frame]) -> bool:
        length = int(m.group(1))
        start = m.end()
        if length > self.max_frame_bytes:
            if len(self._buf) < start + self.max_frame_bytes:
                return False
            out.append(Frame(bytes(self._buf[start : start + self.max_frame_bytes]), length))
            taken = min(len(self._buf), start + length)
            self._skip = start + length - taken
            del self._buf[:taken]
            return True
        if len(self._buf) < start + length:
            return False
        body = bytes(self._buf[start : start + length]).rstrip(b"\r\n\x00")
        del self._buf[: start + length]
        if body.strip():
            out.append(Frame(body))
        return True

    def _take_line(self, out: list[Frame]) -> bool:
        nl = self._buf.find(b"\n")
        if nl < 0:
            if len(self._buf) > self.max_frame_bytes:
                out.append(Frame(bytes(self._buf[: self.max_frame_bytes]), len(self._buf)))
                self._buf.clear()
                self._skip_to_newline = True
            return False
        line = bytes(self._buf[:nl]).rstrip(b"\r\x00")
        del self._buf[: nl + 1]
        if line.strip():
            out.append(self._cut(line))
        return True

    def _cut(self, data: bytes) -> Frame:
        if len(data) > self.max_frame_bytes:
            return Frame(data[: self.max_frame_bytes], len(data))
        return Frame(data)
