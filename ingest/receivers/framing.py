"""Splitting a syslog byte stream into messages: newline framing and RFC 6587 octet counting.

Each frame is detected on its own, as rsyslog and syslog-ng do: a frame starting with
``<digits> <`` (a length, a space, then a PRI) is octet-counted (RFC 6587 3.4.1, RFC 5425);
anything else runs to the next ``\\n`` (non-transparent framing, RFC 6587 3.4.2), with a
trailing ``\\r`` and NUL removed.

Bounds, so one bad sender cannot exhaust memory or swallow other messages:

* a line longer than ``max_frame_bytes`` keeps its first ``max_frame_bytes`` (cut at a
  UTF-8 character boundary) and the rest is skipped up to the newline; the frame reports
  its real length in ``truncated_from`` (memory held: one frame, whatever the line);
* an octet count over ``max_frame_bytes`` is not trusted (``999999999 <13>...`` would
  otherwise swallow everything that follows): as rsyslog does ("frame too large, change
  to octet stuffing"), that frame is read up to the next newline instead, without the
  bogus count, and counted in ``oversize_counts``. The stream is in step again at the
  next line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from soc_core.event import utf8_cut

_OCTET_HEADER = re.compile(rb"([1-9][0-9]{0,8}) ")
_MAX_HEADER = 10  # nine digits and the space


@dataclass(frozen=True, slots=True)
class Frame:
    """One message; ``truncated_from`` is its real length when it was cut."""

    data: bytes
    truncated_from: int | None = None


class SyslogFramer:
    """Incremental framer: ``feed`` bytes as they arrive, ``finish`` at end of stream.

    ``oversize_counts`` and ``discarded_bytes`` count the untrusted octet counts and the
    bytes skipped after cuts since the last :meth:`take_counts`."""

    def __init__(self, max_frame_bytes: int = 1 << 20) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._head: bytes | None = None  # first bytes of an over-long line being skipped
        self._line_length = 0  # its length so far
        self.oversize_counts = 0
        self.discarded_bytes = 0

    def take_counts(self) -> tuple[int, int]:
        """(untrusted octet counts, bytes discarded) since the last call; resets them."""
        counts = (self.oversize_counts, self.discarded_bytes)
        self.oversize_counts = self.discarded_bytes = 0
        return counts

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by ``data``."""
        self._buf += data
        out: list[Frame] = []
        while self._buf:
            if self._head is not None:
                if not self._skip_rest_of_line(out):
                    break
                continue
            if self._buf[0:1].isdigit():
                m = _OCTET_HEADER.match(self._buf, 0, _MAX_HEADER)
                if m is None and len(self._buf) < _MAX_HEADER and self._buf.isdigit():
                    break  # the length header itself is incomplete
                following = self._buf[m.end() : m.end() + 1] if m is not None else b"-"
                if m is not None and following == b"":
                    break  # cannot tell the framing before the byte after the length
                if m is not None and following == b"<":
                    if int(m.group(1)) > self.max_frame_bytes:
                        # Not trusted: this frame runs to the next newline instead.
                        self.oversize_counts += 1
                        del self._buf[: m.end()]
                    elif not self._take_counted(m, out):
                        break
                    else:
                        continue
            if not self._take_line(out):
                break
        return out

    def finish(self) -> list[Frame]:
        """The last, unterminated frame at end of stream (if any)."""
        if self._head is not None:
            self._buf += b"\n"
            out: list[Frame] = []
            self._skip_rest_of_line(out)
            return out
        rest = bytes(self._buf).rstrip(b"\r\n\x00")
        self._buf.clear()
        if not rest.strip():
            return []
        return [self._cut(rest)]

    def _take_counted(self, m: re.Match[bytes], out: list[Frame]) -> bool:
        length = int(m.group(1))
        start = m.end()
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
                # Keep the head only; the rest of the line is counted, not held.
                self._head = utf8_cut(self._buf, self.max_frame_bytes)
                self._line_length = len(self._buf)
                self.discarded_bytes += len(self._buf) - len(self._head)
                self._buf.clear()
            return False
        line = bytes(self._buf[:nl]).rstrip(b"\r\x00")
        del self._buf[: nl + 1]
        if line.strip():
            out.append(self._cut(line))
        return True

    def _skip_rest_of_line(self, out: list[Frame]) -> bool:
        assert self._head is not None  # only called while skipping a line
        nl = self._buf.find(b"\n")
        taken = len(self._buf) if nl < 0 else nl
        self._line_length += taken
        self.discarded_bytes += taken
        if nl < 0:
            self._buf.clear()
            return False
        del self._buf[: nl + 1]
        out.append(Frame(self._head, self._line_length))
        self._head = None
        return True

    def _cut(self, data: bytes) -> Frame:
        if len(data) > self.max_frame_bytes:
            head = utf8_cut(data, self.max_frame_bytes)
            self.discarded_bytes += len(data) - len(head)
            return Frame(head, len(data))
        return Frame(data)
