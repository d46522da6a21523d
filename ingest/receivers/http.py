"""HTTP input: ``POST /ingest`` with NDJSON or a JSON array, gzip accepted.

Contract with the sender:

* authenticated by API key (``Authorization: ApiKey <key>``, ``Bearer <key>`` or
  ``X-API-Key``), compared in constant time; no key configured means no start;
* ``200`` only after the whole batch is durably queued: a 200 is the acknowledgement;
* ``400`` names the line (NDJSON) of each malformed entry; the good lines of that batch
  are queued all the same, and ``accepted`` says how many;
* ``413`` over ``max_body_bytes`` (compressed) or ``max_decompressed_bytes``;
* ``503`` with ``Retry-After`` when the queue is full: nothing of that batch was queued.
* ``dead_letters`` in the answer: how many queued entries the parser refuses (they are
  stored as dead letters, not events), when the receiver is given ``dead_letter_count``.

Event identity: ``source`` is ``http://<peer host>``, ``offset`` None, and the bytes are
the entry re-serialised compactly, so a batch re-sent after a timeout is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.metrics import Metrics
from ingest.receivers._base import DROPPED, ERRORS, QUEUED, RECEIVED, declare_receiver_metrics, parser_extra
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import EventSink
from soc_core.errors import ConfigError, QueueFull, ReceiverError
from soc_core.event import RawEvent, dumps

MAX_REPORTED_ERRORS = 100
_INLINE_SPLIT_BYTES = 64 * 1024
RETRY_AFTER_SECS = 1


class _TooLarge(Exception):
    """The body is over a size limit (internal to this module)."""


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class HttpReceiver:
    """Serves ``POST /ingest`` on ``host:port``."""

    acknowledges = True

    def __init__(
        self,
        host: str,
        port: int,
        api_keys: Iterable[str],
        parser: str | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        max_body_bytes: int = 10 << 20,
        max_decompressed_bytes: int = 100 << 20,
        dead_letter_count: Callable[[Sequence[RawEvent]], int] | None = None,
    ) -> None:
        self.api_keys = [k.encode() for k in api_keys if k]
        if not self.api_keys:
            raise ConfigError("the HTTP receiver needs at least one API key (--api-key or SOC_API_KEYS)")
        self.host = host
        self.port = port
        self.name = name or f"http://{host}:{port}"
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.max_body_bytes = max_body_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self._extra = parser_extra(parser)
        self._dead_letter_count = dead_letter_count
        self._server: QuietServer | None = None
        self._socket: socket.socket | None = None
        self.bound_port: int | None = None
        self.app = Starlette(routes=[Route("/ingest", self._ingest, methods=["POST"])])
        declare_receiver_metrics(self.metrics)

    async def start(self, sink: EventSink) -> None:
        """Bind the socket (``bound_port`` is set once this returns)."""
        self._sink = sink
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ReceiverError(f"{self.name}: cannot listen: {exc}") from exc
        sock.listen(512)
        sock.setblocking(False)
        self._socket = sock
        self.bound_port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=5)
        self._server = QuietServer(config)

    async def run(self, sink: EventSink) -> None:
        if self._server is None:
            await self.start(sink)
        assert self._server is not None and self._socket is not None  # set by start()
        await self._server.serve(sockets=[self._socket])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    # -- the endpoint ------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("x-api-key", "")
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("apikey", "bearer"):
            given = value.strip()
        candidate = given.encode()
        # Compare with every key (no early exit) so timing says nothing about which failed.
        found = False
        for key in self.api_keys:
            found |= hmac.compare_digest(candidate, key)
        return found and bool(given)

    async def _ingest(self, request: Request) -> Response:
        if not self._authorised(request):
            self.metrics.inc(ERRORS, receiver=self.name, reason="unauthorised")
            return JSONResponse({"error": "missing or wrong API key"}, status_code=401,
                                headers={"WWW-Authenticate": "ApiKey"})
        try:
            body = await self._read_body(request)
        except _TooLarge as exc:
            self.metrics.inc(ERRORS, receiver=self.name, reason="too_large")
            return JSONResponse({"error": str(exc)}, status_code=413)
        except (zlib.error, EOFError) as exc:
            self.metrics.inc(ERRORS, receiver=self.name, reason="bad_gzip")
            return JSONResponse({"error": f"bad gzip body: {exc}"}, status_code=400)
        except ClientDisconnect:
            return Response(status_code=400)
        # A large body takes a while to split: not on the event loop, which serves the rest.
        entries, errors = (await asyncio.to_thread(split_entries, body) if len(body) > _INLINE_SPLIT_BYTES
                           else split_entries(body))
        peer = request.client.host if request.client else "unknown"
        peer_text = f"{peer}:{request.client.port}" if request.client else peer
        received = self.clock.now()
        batch = [
            RawEvent.from_bytes(data, f"http://{peer}", received, None, peer=peer_text,
                                receiver=self.name, extra=self._extra)
            for data in entries
        ]
        self.metrics.inc(RECEIVED, len(batch) + len(errors), receiver=self.name)
        if errors:
            self.metrics.inc(ERRORS, len(errors), receiver=self.name, reason="malformed_json")
        try:
            await self._sink.put(batch)
        except QueueFull:
            self.metrics.inc(DROPPED, len(batch), receiver=self.name, reason="queue_full_refused")
            return JSONResponse({"error": "queue full, retry later"}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_SECS)})
        self.metrics.inc(QUEUED, len(batch), receiver=self.name)
        answer: dict[str, Any] = {"accepted": len(batch)}
        if self._dead_letter_count is not None:
            answer["dead_letters"] = await asyncio.to_thread(self._dead_letter_count, batch)
        if errors:
            return JSONResponse({**answer, "errors": errors[:MAX_REPORTED_ERRORS],
                                 "error_count": len(errors)}, status_code=400)
        return JSONResponse(answer)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _TooLarge(f"body over {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge(f"body over {self.max_body_bytes} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        if request.headers.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
            body = await asyncio.to_thread(gunzip_limited, body, self.max_decompressed_bytes)
        return body


def gunzip_limited(data: bytes, limit: int) -> bytes:
    """Decompress gzip without ever holding more than ``limit`` bytes (gzip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise _TooLarge(f"decompressed body over {limit} bytes")
    if not inflater.eof:
        raise EOFError("truncated gzip stream")
    return out


def split_entries(body: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Split a body into compact JSON objects and per-line errors.

    A body starting with ``[`` is one JSON array (all or nothing: a broken array has no
    trustworthy element boundaries); anything else is NDJSON, one object per line.
    """
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            return [], [{"line": exc.lineno + body[: len(body) - len(stripped)].count(b"\n"),
                         "error": f"malformed JSON array: {exc.msg}"}]
        good: list[bytes] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                good.append(dumps(item))
            else:
                errors.append({"index": index, "error": "not a JSON object"})
        return good, errors
    good, errors = [], []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            errors.append({"line": number, "error": f"malformed JSON: {exc.msg}"})
            continue
        if isinstance(item, dict):
            good.append(dumps(item))
        else:
            errors.append({"line": number, "error": "not a JSON object"})
    return good, errors
