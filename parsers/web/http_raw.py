"""Raw HTTP/1.x request streams: ``http.raw``, one event per request, framed as RFC 9112 says.

Input is what a capture, a WAF's request dump or the CSIC 2010 data set holds: requests
back to back, each a request line, header fields, an empty line and the message body.
The framing follows RFC 9112 rather than any one file's look:

* empty lines before a request line are ignored (§2.2), and a bare LF is accepted as a
  line terminator (§2.2), so CRLF and LF streams read the same;
* a header line starting with a space or tab continues the previous one (obs-fold, §5.2);
* the body length is decided as §6.3 says for a request: ``Transfer-Encoding: chunked``
  (the chunks are read to the last-chunk and trailer, §7.1), else ``Content-Length``,
  else no body. A line after a request that is not a request line is kept as its own
  event, which the parser then refuses (a dead letter), so nothing is skipped.

The event carries ``http.request.method``, ``http.version``, ``url.*`` (the target URI
rebuilt from an origin-form target and the ``Host`` field as §3.3 does),
``http.request.headers`` (lower-cased names, as Packetbeat writes them),
``user_agent.*``, ``http.request.referrer``, ``http.request.mime_type`` and the body in
``http.request.body.content`` with its size in ``http.request.body.bytes``. Raw requests
carry no time of their own: ``@timestamp`` is the receipt time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

from parsers.base import MAX_EVENT_BYTES, BaseParser
from parsers.web import ecs
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent

# RFC 9110 §5.6.2 token characters for the method; the target is any visible run (§3.2).
_REQUEST_LINE: Final = re.compile(
    rb"^(?P<method>[!#$%&'*+.^_`|~0-9A-Za-z-]+) +(?P<target>\S+) +HTTP/(?P<version>\d\.\d)\s*$")
_CHUNK_SIZE: Final = re.compile(rb"^([0-9A-Fa-f]+)")
MAX_HEADER_LINES: Final = 200  # a header section longer than this is not a request we frame
_COPY_CHUNK: Final = 1 << 16


def _skip(stream: BinaryIO, count: int) -> int:
    """Read and drop ``count`` bytes (a body past the event size limit); returns bytes read."""
    done = 0
    while done < count:
        piece = stream.read(min(_COPY_CHUNK, count - done))
        if not piece:
            break
        done += len(piece)
    return done


def _header_value(lines: list[bytes], name: bytes) -> bytes | None:
    wanted = name.lower()
    for line in lines:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == wanted:
            return value.strip()
    return None


class HttpRequestFramer:
    """Splits a stream of raw HTTP/1.x requests into one frame per request (RFC 9112 §6.3)."""

    def frames(self, stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
        offset = 0
        while True:
            line = stream.readline()
            if not line:
                return
            start = offset
            offset += len(line)
            if not line.strip():
                continue  # §2.2: empty lines before a request line are ignored
            if not _REQUEST_LINE.match(line):
                yield start, line.rstrip(b"\r\n")
                continue
            parts = [line]
            header_lines: list[bytes] = []
            while len(header_lines) < MAX_HEADER_LINES:
                field = stream.readline()
                offset += len(field)
                parts.append(field)
                if not field.strip():
                    break
                header_lines.append(field.rstrip(b"\r\n"))
            body, consumed = self._body(stream, header_lines)
            offset += consumed
            yield start, b"".join(parts) + body

    @staticmethod
    def _body(stream: BinaryIO, header_lines: list[bytes]) -> tuple[bytes, int]:
        encoding = _header_value(header_lines, b"transfer-encoding")
        if encoding is not None and encoding.lower().split(b",")[-1].strip() == b"chunked":
            return HttpRequestFramer._chunked(stream)
        length = _header_value(header_lines, b"content-length")
        if length is None or not length.isdigit():
            return b"", 0
        size = int(length)
        body = stream.read(min(size, MAX_EVENT_BYTES))
        consumed = len(body)
        if size > consumed:
            consumed += _skip(stream, size - consumed)
        return body, consumed

    @staticmethod
    def _chunked(stream: BinaryIO) -> tuple[bytes, int]:
        """The chunked body as received (chunk sizes, data, last-chunk, trailer), §7.1."""
        kept: list[bytes] = []
        consumed = kept_bytes = 0
        while True:
            size_line = stream.readline()
            consumed += len(size_line)
            kept.append(size_line)
            m = _CHUNK_SIZE.match(size_line)
            if not size_line or m is None:
                break
            size = int(m.group(1), 16)
            if size == 0:
                while True:  # trailer fields up to the empty line
                    trailer = stream.readline()
                    consumed += len(trailer)
                    kept.append(trailer)
                    if not trailer.strip():
                        return b"".join(kept), consumed
            room = max(0, MAX_EVENT_BYTES - kept_bytes)
            data = stream.read(min(size, room))
            consumed += len(data)
            kept_bytes += len(data)
            kept.append(data)
            if size > len(data):
                consumed += _skip(stream, size - len(data))
            tail = stream.readline()  # the CRLF after the chunk data
            consumed += len(tail)
            kept.append(tail)
        return b"".join(kept), consumed


def decode_chunked(body: bytes) -> bytes:
    """The payload of a chunked body (RFC 9112 §7.1.3), ignoring extensions and trailers."""
    out: list[bytes] = []
    rest = body
    while rest:
        line, _sep, rest = rest.partition(b"\n")
        m = _CHUNK_SIZE.match(line)
        if m is None:
            break
        size = int(m.group(1), 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size:]
        if rest.startswith(b"\r\n"):
            rest = rest[2:]
        elif rest.startswith(b"\n"):
            rest = rest[1:]
    return b"".join(out)


class HttpRawParser(BaseParser):
    """One raw HTTP/1.x request (request line, header fields, body) to ECS."""

    id = "http.raw"
    # No ``route_signals``: ``auto`` frames files by line, which cannot split requests
    # that span lines; name this parser (``--parser http.raw``) for such streams.
    framer = HttpRequestFramer()

    def accepts(self, raw: RawEvent) -> bool:
        first = raw.data.split(b"\n", 1)[0]
        return _REQUEST_LINE.match(first) is not None

    def parse(self, raw: RawEvent) -> Event:
        data = raw.data
        first, _, rest = data.partition(b"\n")
        m = _REQUEST_LINE.match(first)
        if m is None:
            raise ParseError(self.id, "not an HTTP/1.x request line (METHOD SP TARGET SP HTTP/x.y)")
        head, body = self._split_head(rest)
        headers = self._headers(head)
        # §6.3 for a request: chunked, else Content-Length, else no body at all.
        length = headers.get("content-length", "")
        if headers.get("transfer-encoding", "").lower().endswith("chunked"):
            body = decode_chunked(body)
        elif length.isdigit():
            body = body[:int(length)]
        else:
            body = b""
        event = self.new_event(raw)
        event["event"].update({"category": ["web"], "type": ["access"]})
        method = m.group("method").decode("ascii")
        target = m.group("target").decode("utf-8", errors="replace")
        request: dict[str, object] = {"method": method}
        event["http"] = {"version": m.group("version").decode("ascii"), "request": request}
        host = headers.get("host")
        if target.startswith("/") and host:
            # §3.3: an origin-form target's URI is rebuilt from the Host field.
            ecs.set_url(event, f"http://{host}{target}")
            event["url"]["original"] = target
        else:
            ecs.set_url(event, target)
        if headers:
            request["headers"] = headers
        if "user-agent" in headers:
            ecs.set_user_agent(event, headers["user-agent"])
        if "referer" in headers:
            request["referrer"] = headers["referer"]
        if "content-type" in headers:
            request["mime_type"] = headers["content-type"].split(";", 1)[0].strip().lower()
        if body:
            request["body"] = {"bytes": len(body), "content": body.decode("utf-8", errors="replace")}
        if "url" in event and "domain" in event["url"]:
            event["destination"] = {"domain": event["url"]["domain"]}
            if "port" in event["url"]:
                event["destination"]["port"] = event["url"]["port"]
        return event

    @staticmethod
    def _split_head(rest: bytes) -> tuple[list[bytes], bytes]:
        lines: list[bytes] = []
        position = 0
        while position < len(rest):
            end = rest.find(b"\n", position)
            if end == -1:
                end = len(rest)
            line = rest[position:end].rstrip(b"\r")
            position = end + 1
            if not line.strip():
                return lines, rest[position:]
            if line[:1] in (b" ", b"\t") and lines:
                lines[-1] = lines[-1] + b" " + line.strip()  # §5.2 obs-fold
            else:
                lines.append(line)
        return lines, b""

    def _headers(self, lines: list[bytes]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                # §5.1: no whitespace is allowed between the field name and the colon.
                raise ParseError(self.id, f"malformed header field line: {line[:80]!r}")
            key = name.decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            # §5.3: repeated fields combine into one comma-separated value.
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return headers
