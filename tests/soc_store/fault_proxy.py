"""A real HTTP proxy in front of osmem-server that answers chosen requests with errors
(429, 5xx), to test retries without mocking the client.

A fault ``("_bulk", ITEM_429)`` rejects only the first document of the next bulk: the
proxy forwards the others and answers that one with a per-item 429, as a busy cluster
does."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import orjson

ITEM_429 = -429


class FaultProxy(ThreadingHTTPServer):
    """A real HTTP proxy to osmem that answers the first matching requests with errors."""

    def __init__(self, upstream: str, faults: list[tuple[str, int]]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = urlsplit(upstream)
        self.faults = faults  # (path substring, status), consumed in order
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FaultProxy

    def log_message(self, format: str, *args: object) -> None:
        return

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            fault = next((f for f in self.server.faults if f[0] in self.path), None)
            if fault is not None:
                self.server.faults.remove(fault)
        rejected: bytes | None = None
        if fault is not None and fault[1] == ITEM_429:
            lines = body.split(b"\n")
            rejected, body = lines[0], b"\n".join(lines[2:])
            fault = None
        if fault is not None:
            self.server.seen.append((self.path, fault[1]))
            payload = b'{"error": {"type": "injected", "reason": "test"}, "status": %d}' % fault[1]
            self.send_response(fault[1])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = self.server.upstream
        conn = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if rejected is not None:
            answer = orjson.loads(data)
            action = orjson.loads(rejected)
            op, meta = next(iter(action.items()))
            answer["items"].insert(0, {op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429,
                                            "error": {"type": "es_rejected_execution_exception",
                                                      "reason": "injected"}}})
            answer["errors"] = True
            data = orjson.dumps(answer)
            self.server.seen.append((self.path, ITEM_429))
        self.server.seen.append((self.path, response.status))
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running proxy on 127.0.0.1 (its URL: ``proxy.url``)."""
    server = FaultProxy(upstream, [])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
