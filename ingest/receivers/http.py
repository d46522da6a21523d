"""HTTP input: ``POST /ingest`` with NDJSON or a JSON array, gzip accepted.

Contract with the sender:

* authenticated by API key (``Authorization: ApiKey <key>``, ``Bearer <key>`` or
  ``X-API-Key``), compared in constant time; no key configured means no start;
* ``200`` only after the whole batch is durably queued: a 200 is the acknowledgement;
* ``400`` names the line (NDJSON) of each malformed entry (bad JSON, not an object,
  nested deeper than can be re-serialised, over ``max_entry_bytes``); the good lines of
  that batch are queued all the same, and ``accepted`` says how many;
* ``413``, with nothing queued, over ``max_body_bytes`` (as sent),
  ``max_decompressed_bytes``, ``max_entries`` lines, or ``max_array_bytes`` for a body that
  is one JSON array (larger batches go as NDJSON, which is streamed);
* gzip bodies may hold several members (``cat a.gz b.gz``), all decoded; a broken or
  truncated gzip body is a ``400`` with nothing queued;
* entries are queued in batches of at most ``QUEUE_BATCH_ENTRIES`` entries or
  ``QUEUE_BATCH_BYTES`` bytes, so memory does not grow with the request;
* ``503`` with ``Retry-After`` when the queue stayed full for ``queue_wait_secs`` (the
  request waits in the queue's fair line meanwhile, next to the other receivers);
  ``accepted`` says how many entries of the body were queued before: re-sending the
  whole body is safe, as the queued ones are stored once (see event identity);
* ``503`` with ``Retry-After`` also when the request bodies being received or processed
  at once would pass ``max_inflight_body_bytes`` (each body is bounded, their sum too);
* ``408`` when the body does not arrive within ``body_timeout_secs`` (a lying
  ``Content-Length``); a connection that does not complete its request headers within
  ``header_timeout_secs`` is closed; connections are capped per receiver and per client
  address (over the cap a connection is closed at once and counted).
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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from ingest.metrics import Metrics
from ingest.receivers._base import (
    BACKPRESSURE,
    DROPPED,
    ERRORS,
    QUEUED,
    RECEIVED,
    REFUSED,
    TIMEOUTS,
    ConnectionGuard,
    declare_receiver_metrics,
    parser_extra,
    put_fairly,
)
from ingest.receivers.es_bulk import BulkEndpoint
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import EventSink
from soc_core.errors import ConfigError, QueueFull, ReceiverError
from soc_core.event import RawEvent, dumps

MAX_REPORTED_ERRORS = 100
RETRY_AFTER_SECS = 1
QUEUE_BATCH_ENTRIES = 1000
QUEUE_BATCH_BYTES = 1 << 20
_DECODE_CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class _TooLarge(Exception):
    """The body is over a size limit (internal to this module)."""


class _Busy(Exception):
    """Too many body bytes in flight on this receiver (internal to this module)."""


class _BadBody(Exception):
    """The body cannot be decoded (broken gzip; internal to this module)."""


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class _GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the receiver's connection caps and a deadline
    for the request headers (slowloris, idle connections). Bound to one receiver by
    :func:`_guarded_protocol`."""

    receiver: HttpReceiver

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else "unknown"
        refused = self.receiver.guard.admit(self._address)
        self._admitted = refused is None
        self._header_timer: asyncio.TimerHandle | None = None
        if refused is not None:
            self.receiver.metrics.inc(REFUSED, receiver=self.receiver.name, reason=refused)
            transport.abort()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._admitted:
            self._admitted = False
            self.receiver.guard.release(self._address)
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_header_timer()  # headers complete: the body has its own timeout

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()  # the next request's headers get the same deadline

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.receiver.header_timeout_secs, self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.receiver.metrics.inc(TIMEOUTS, receiver=self.receiver.name, reason="request_headers")
            self.transport.abort()


def _guarded_protocol(receiver: HttpReceiver) -> type[_GuardedH11]:
    return type("GuardedH11", (_GuardedH11,), {"receiver": receiver})


class HttpReceiver:
    """Serves ``POST /ingest`` on ``host:port``."""

    acknowledges = True

    def __init__(
        self,
        host: str,
        port: int,
        api_keys: Iterable[str],
        parser: str | None = None,
        encoding: str | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        max_body_bytes: int = 10 << 20,
        max_decompressed_bytes: int = 100 << 20,
        max_entries: int = 100_000,
        max_entry_bytes: int = 1 << 20,
        max_array_bytes: int = 4 << 20,
        max_connections: int = 1024,
        max_connections_per_address: int = 256,
        header_timeout_secs: float = 10.0,
        body_timeout_secs: float = 30.0,
        queue_wait_secs: float = 5.0,
        max_inflight_body_bytes: int = 128 << 20,
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
        self.max_entries = max_entries
        self.max_entry_bytes = max_entry_bytes
        self.max_array_bytes = max_array_bytes
        self.guard = ConnectionGuard(max_connections, max_connections_per_address)
        self.header_timeout_secs = header_timeout_secs
        self.body_timeout_secs = body_timeout_secs
        self.queue_wait_secs = queue_wait_secs
        self.max_inflight_body_bytes = max_inflight_body_bytes
        self._inflight_bytes = 0
        self._extra = parser_extra(parser, encoding)
        self._dead_letter_count = dead_letter_count
        self._server: QuietServer | None = None
        self._socket: socket.socket | None = None
        self.bound_port: int | None = None
        # Elasticsearch's bulk API next to /ingest, for shippers with an Elasticsearch output.
        self.app = Starlette(routes=[Route("/ingest", self._ingest, methods=["POST"]), *BulkEndpoint(self).routes()])
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
        # log_config=None: uvicorn's records go to the service's handlers, which rate-limit
        # them (a flood of bad requests would otherwise be one warning each).
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=5, http=_guarded_protocol(self), log_config=None)
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

    def _refuse(self, status: int, reason: str, message: str, **extra: Any) -> Response:
        self.metrics.inc(ERRORS, receiver=self.name, reason=reason)
        return JSONResponse({"error": message, **extra}, status_code=status)

    async def _ingest(self, request: Request) -> Response:
        if not self._authorised(request):
            self.metrics.inc(ERRORS, receiver=self.name, reason="unauthorised")
            return JSONResponse({"error": "missing or wrong API key"}, status_code=401,
                                headers={"WWW-Authenticate": "ApiKey"})
        gzipped = request.headers.get("content-encoding", "").lower() in ("gzip", "x-gzip")
        reserved = [0]  # body bytes this request holds against the receiver's budget
        try:
            return await self._handle(request, gzipped, reserved)
        finally:
            self._inflight_bytes -= reserved[0]

    async def _handle(self, request: Request, gzipped: bool, reserved: list[int]) -> Response:
        try:
            body = await self._read_body(request, reserved)
            # Check the whole body before queueing anything: a refusal then costs nothing.
            array = await asyncio.to_thread(self._check_body, body, gzipped)
        except _Busy as exc:
            self.metrics.inc(ERRORS, receiver=self.name, reason="bodies_in_flight")
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECS)})
        except _TooLarge as exc:
            return self._refuse(413, "too_large", str(exc))
        except _BadBody as exc:
            return self._refuse(400, "bad_gzip", f"bad gzip body: {exc}")
        except TimeoutError:
            self.metrics.inc(TIMEOUTS, receiver=self.name, reason="request_body")
            return self._refuse(408, "body_timeout", f"body not received within {self.body_timeout_secs:g} s")
        except ClientDisconnect:
            return Response(status_code=400)
        peer = request.client.host if request.client else "unknown"
        peer_text = f"{peer}:{request.client.port}" if request.client else peer
        return await self._queue_entries(body, gzipped, array, peer, peer_text)

    async def _queue_entries(self, body: bytes, gzipped: bool, array: bool, peer: str, peer_text: str) -> Response:
        """Split, re-serialise and queue the body in bounded batches (see the module doc)."""
        received = self.clock.now()
        source = f"http://{peer}"
        accepted = dead = 0
        errors: list[dict[str, Any]] = []
        error_count = 0
        deadline = asyncio.get_running_loop().time() + self.queue_wait_secs
        pieces = _array_pieces(body, gzipped) if array else _ndjson_pieces(body, gzipped)
        splitter = _split_array if array else NdjsonSplitter(self.max_entry_bytes).split
        batch: list[RawEvent] = []
        batch_bytes = 0
        async for piece in pieces:
            entries, piece_errors = (await asyncio.to_thread(splitter, piece) if len(piece) > 64 << 10
                                     else splitter(piece))
            error_count += len(piece_errors)
            errors.extend(piece_errors[: MAX_REPORTED_ERRORS - len(errors)])
            self.metrics.inc(RECEIVED, len(entries) + len(piece_errors), receiver=self.name)
            for data in entries:
                batch.append(RawEvent.from_bytes(data, source, received, None, peer=peer_text,
                                                 receiver=self.name, extra=self._extra))
                batch_bytes += len(data)
                if len(batch) >= QUEUE_BATCH_ENTRIES or batch_bytes >= QUEUE_BATCH_BYTES:
                    if not await self._put(batch, deadline):
                        return self._queue_full(accepted)
                    accepted += len(batch)
                    dead += await self._dead_letters(batch)
                    batch, batch_bytes = [], 0
        if batch:
            if not await self._put(batch, deadline):
                return self._queue_full(accepted)
            accepted += len(batch)
            dead += await self._dead_letters(batch)
        answer: dict[str, Any] = {"accepted": accepted}
        if self._dead_letter_count is not None:
            answer["dead_letters"] = dead
        if error_count:
            self.metrics.inc(ERRORS, error_count, receiver=self.name, reason="malformed_json")
            return JSONResponse({**answer, "errors": errors, "error_count": error_count}, status_code=400)
        return JSONResponse(answer)

    async def _dead_letters(self, batch: list[RawEvent]) -> int:
        """How many of a queued batch the parser refuses (0 when not asked to count)."""
        if self._dead_letter_count is None:
            return 0
        return await asyncio.to_thread(self._dead_letter_count, batch)

    async def _put(self, batch: list[RawEvent], deadline: float) -> bool:
        wait = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            if await put_fairly(self._sink, batch, wait):
                self.metrics.inc(BACKPRESSURE, receiver=self.name)
        except QueueFull:
            self.metrics.inc(DROPPED, len(batch), receiver=self.name, reason="queue_full_refused")
            return False
        self.metrics.inc(QUEUED, len(batch), receiver=self.name)
        return True

    def _queue_full(self, accepted: int) -> Response:
        return JSONResponse({"error": "queue full, retry later", "accepted": accepted}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECS)})

    async def _read_body(self, request: Request, reserved: list[int]) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _TooLarge(f"body over {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_secs
        stream = request.stream()
        while True:
            # One deadline for the whole body: a sender trickling bytes cannot hold the
            # connection longer than a silent one.
            try:
                chunk = await asyncio.wait_for(anext(stream), max(0.0, deadline - loop.time()))
            except StopAsyncIteration:
                break
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge(f"body over {self.max_body_bytes} bytes")
            # Many large bodies at once must not add up past the budget (each is bounded).
            if self._inflight_bytes + len(chunk) > self.max_inflight_body_bytes:
                raise _Busy(f"over {self.max_inflight_body_bytes} bytes of request bodies in flight, retry later")
            self._inflight_bytes += len(chunk)
            reserved[0] += len(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_body(self, body: bytes, gzipped: bool) -> bool:
        """Decode the whole body once, keeping nothing, to refuse it before queueing
        anything; True when the body is one JSON array."""
        size = lines = 0
        first = b""
        for piece in iter_decoded(body, gzipped):
            size += len(piece)
            if size > self.max_decompressed_bytes:
                raise _TooLarge(f"decompressed body over {self.max_decompressed_bytes} bytes")
            lines += piece.count(b"\n")
            if not first:
                first = piece.lstrip()[:1]
        if first == b"[":
            if size > self.max_array_bytes:
                raise _TooLarge(f"JSON array body over {self.max_array_bytes} bytes: send NDJSON for larger batches")
            return True
        if lines > self.max_entries:
            raise _TooLarge(f"more than {self.max_entries} lines in one request")
        return False


def iter_decoded(body: bytes, gzipped: bool, chunk_bytes: int = _DECODE_CHUNK_BYTES) -> Iterator[bytes]:
    """The body's bytes in pieces of at most ``chunk_bytes``, gzip decoded when asked.

    Every gzip member is decoded (RFC 1952 allows several, and ``cat a.gz b.gz`` makes
    them); zero padding after the last member is ignored, as gzip(1) does; anything else
    after a member, or a member cut short, raises ``_BadBody``."""
    if not gzipped:
        for start in range(0, len(body), chunk_bytes):
            yield body[start : start + chunk_bytes]
        return
    data = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        try:
            while pending and not inflater.eof:
                out = inflater.decompress(pending, chunk_bytes)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
            while not inflater.eof:
                out = inflater.decompress(b"", chunk_bytes)
                if not out:
                    break
                yield out
        except zlib.error as exc:
            raise _BadBody(str(exc)) from None
        if not inflater.eof:
            raise _BadBody("truncated gzip stream")
        data = inflater.unused_data
        if not data.strip(b"\x00"):
            return
        if not data.startswith(_GZIP_MAGIC):
            raise _BadBody("data after the last gzip member is not gzip")


async def _ndjson_pieces(body: bytes, gzipped: bool) -> AsyncIterator[bytes]:
    # Decoding a piece is fast C code (1 MiB at most): done inline between the awaits.
    for piece in iter_decoded(body, gzipped):
        yield piece
        await asyncio.sleep(0)
    yield b""  # the end: flushes a last line without a newline


async def _array_pieces(body: bytes, gzipped: bool) -> AsyncIterator[bytes]:
    yield b"".join(iter_decoded(body, gzipped))  # bounded by max_array_bytes


def _entry(item: Any) -> bytes | str:
    """The compact bytes of one entry, or why it cannot be one."""
    if not isinstance(item, dict):
        return "not a JSON object"
    try:
        return dumps(item)
    except (TypeError, RecursionError):  # orjson re-serialises at most 254 levels of nesting
        return "nested too deeply (more than 254 levels)"


def _split_array(body: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
    """A body that is one JSON array: all or nothing, as a broken array has no
    trustworthy element boundaries."""
    stripped = body.lstrip()
    try:
        items = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        return [], [{"line": exc.lineno + body[: len(body) - len(stripped)].count(b"\n"),
                     "error": f"malformed JSON array: {exc.msg}"}]
    good: list[bytes] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items if isinstance(items, list) else [items]):
        entry = _entry(item)
        if isinstance(entry, bytes):
            good.append(entry)
        else:
            errors.append({"index": index, "error": entry})
    return good, errors


class NdjsonSplitter:
    """NDJSON split piece by piece: complete lines become entries or numbered errors;
    an unfinished line waits for the next piece (an empty piece means the end)."""

    def __init__(self, max_entry_bytes: int) -> None:
        self.max_entry_bytes = max_entry_bytes
        self._rest = b""
        self._line = 0
        self._rest_too_long = False

    def split(self, piece: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
        final = not piece
        lines = (self._rest + piece).split(b"\n")
        self._rest = b"" if final else lines.pop()
        good: list[bytes] = []
        errors: list[dict[str, Any]] = []
        for line in lines:
            self._line += 1
            too_long = self._rest_too_long or len(line) > self.max_entry_bytes
            self._rest_too_long = False
            if too_long:
                errors.append({"line": self._line, "error": f"entry over {self.max_entry_bytes} bytes"})
                continue
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                errors.append({"line": self._line, "error": f"malformed JSON: {exc.msg}"})
                continue
            entry = _entry(item)
            if isinstance(entry, bytes):
                good.append(entry)
            else:
                errors.append({"line": self._line, "error": entry})
        if len(self._rest) > self.max_entry_bytes:
            # Keep only a marker of an over-long unfinished line, not its bytes.
            self._rest, self._rest_too_long = b"", True
        return good, errors


def split_entries(body: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Split a whole (decoded) body into compact JSON objects and per-line errors.

    A body starting with ``[`` is one JSON array; anything else is NDJSON, one object
    per line."""
    if body.lstrip().startswith(b"["):
        return _split_array(body)
    splitter = NdjsonSplitter(max_entry_bytes=len(body) + 1)
    good, errors = splitter.split(body)
    more_good, more_errors = splitter.split(b"")
    return good + more_good, errors + more_errors
