"""An Elasticsearch-compatible ``POST /_bulk`` and ``/<index>/_bulk`` on the HTTP receiver.

Filebeat, Winlogbeat, Fluent Bit, Vector and Logstash pointed at an "Elasticsearch
output" deliver here unchanged. The request is Elasticsearch's bulk format (NDJSON
action/metadata lines, each ``index`` or ``create`` followed by its document; gzip
accepted) and the answer is Elasticsearch's: ``{"took", "errors", "items"}`` with one
result per action in order, so a shipper retries only what failed:

* ``201 created`` once the document is durably queued (``_id`` is the event id the
  store will use, or the one the action named);
* ``429 es_rejected_execution_exception`` for the documents the queue could not take
  (the shipper retries those, and only those);
* ``400`` for what a retry cannot fix: ``update`` and ``delete`` (this endpoint only
  appends events), and a document that is not a JSON object, which is nevertheless
  queued and kept as a dead letter with its bytes (nothing is lost);
* a malformed action line makes the whole request a ``400`` with nothing queued, as
  Elasticsearch does.

Documents are parsed by ``ecs.document`` (shipper ECS kept, raw ``message`` parsed).
``GET /`` answers the cluster-info document the Beats and Logstash check at start-up;
responses carry ``X-Elastic-Product: Elasticsearch``, which the official clients require.
Authentication is the receiver's API key, also accepted as Elasticsearch's
``ApiKey base64(id:key)`` and as the password of HTTP Basic (the shippers' usual settings).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ingest.receivers._base import ERRORS, RECEIVED
from soc_core.event import RawEvent, compute_event_id, dumps

if TYPE_CHECKING:
    from ingest.receivers.http import HttpReceiver

PARSER: Final = "ecs.document"
QUEUE_BATCH_ENTRIES: Final = 1000
DEFAULT_INDEX: Final = "soc"
# The Elasticsearch version the cluster-info document reports: 8.x is what current
# shippers (Beats 8/9, Logstash 8, Fluent Bit, Vector) speak over the bulk API.
COMPATIBLE_VERSION: Final = "8.17.0"
PRODUCT_HEADERS: Final = {"X-Elastic-Product": "Elasticsearch"}
_APPEND: Final = ("index", "create")
_ACTIONS: Final = (*_APPEND, "update", "delete")


@dataclass
class _Item:
    """One action of a bulk request and, once known, its result."""

    action: str
    index: str
    doc_id: str | None
    data: bytes | None = None  # the document, compact (None for delete/update)
    status: int = 0
    error: dict[str, Any] | None = None


class BulkRequestError(ValueError):
    """A request Elasticsearch refuses whole (a malformed action line)."""


def es_json(body: Any, status: int = 200) -> Response:
    """A JSON response as Elasticsearch sends it (with the product header)."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=PRODUCT_HEADERS)


def es_error(status: int, kind: str, reason: str) -> Response:
    return es_json({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
                    "status": status}, status)


def split_bulk(body: bytes, default_index: str) -> list[_Item]:
    """The actions of a bulk body, each with its document; ``BulkRequestError`` for a
    malformed action line (the whole request is refused, as Elasticsearch does)."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    items: list[_Item] = []
    position = 0
    while position < len(lines):
        number = position + 1
        try:
            action_line = orjson.loads(lines[position])
        except orjson.JSONDecodeError as exc:
            raise BulkRequestError(f"Malformed action/metadata line [{number}]: {exc.msg}") from None
        if not isinstance(action_line, dict) or len(action_line) != 1:
            raise BulkRequestError(f"Malformed action/metadata line [{number}], expected one action object")
        action, meta = next(iter(action_line.items()))
        if action not in _ACTIONS or not isinstance(meta, dict):
            raise BulkRequestError(f"Malformed action/metadata line [{number}], unknown action [{action}]")
        item = _Item(action, str(meta.get("_index") or default_index),
                     str(meta["_id"]) if meta.get("_id") is not None else None)
        position += 1
        if action != "delete":
            if position >= len(lines):
                raise BulkRequestError(f"The bulk request must be terminated by a newline [{number}]: no source")
            item.data = lines[position].strip()
            position += 1
        items.append(item)
    return items


def _authorised(receiver: HttpReceiver, request: Request) -> bool:
    if receiver._authorised(request):
        return True
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme not in ("basic", "apikey"):
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Basic "user:key" and Elasticsearch's ApiKey base64("id:key"): the key is after the colon.
    candidate = decoded.partition(":")[2].encode()
    found = False
    for key in receiver.api_keys:  # every key compared: timing tells nothing
        found |= hmac.compare_digest(candidate, key)
    return found and bool(candidate)


class BulkEndpoint:
    """The bulk routes of one :class:`~ingest.receivers.http.HttpReceiver`."""

    def __init__(self, receiver: HttpReceiver) -> None:
        self.receiver = receiver

    def routes(self) -> list[Route]:
        return [
            Route("/", self.info, methods=["GET", "HEAD"]),
            Route("/_bulk", self.bulk, methods=["POST", "PUT"]),
            Route("/{index}/_bulk", self.bulk, methods=["POST", "PUT"]),
        ]

    async def info(self, request: Request) -> Response:
        if not _authorised(self.receiver, request):
            return es_error(401, "security_exception", "missing or wrong API key")
        return es_json({"name": self.receiver.name, "cluster_name": "soc", "tagline": "You Know, for Search",
                        "version": {"number": COMPATIBLE_VERSION, "build_flavor": "default",
                                    "minimum_wire_compatibility_version": "7.17.0",
                                    "minimum_index_compatibility_version": "7.0.0"}})

    async def bulk(self, request: Request) -> Response:
        receiver = self.receiver
        started = time.monotonic()
        if not _authorised(receiver, request):
            receiver.metrics.inc(ERRORS, receiver=receiver.name, reason="unauthorised")
            return es_error(401, "security_exception", "missing or wrong API key")
        reserved = [0]  # body bytes this request holds against the receiver's in-flight budget
        try:
            return await self._bulk(request, started, reserved)
        finally:
            receiver._inflight_bytes -= reserved[0]

    async def _bulk(self, request: Request, started: float, reserved: list[int]) -> Response:
        from ingest.receivers.http import _BadBody, _Busy, _TooLarge, iter_decoded

        receiver = self.receiver
        gzipped = request.headers.get("content-encoding", "").lower() in ("gzip", "x-gzip")
        try:
            raw_body = await receiver._read_body(request, reserved)
            await asyncio.to_thread(receiver._check_body, raw_body, gzipped)
            body = b"".join(iter_decoded(raw_body, gzipped))
            items = split_bulk(body, request.path_params.get("index") or DEFAULT_INDEX)
        except _Busy as exc:  # too many bodies in flight: Elasticsearch's "retry later"
            receiver.metrics.inc(ERRORS, receiver=receiver.name, reason="bodies_in_flight")
            return es_error(429, "es_rejected_execution_exception", str(exc))
        except _TooLarge as exc:
            return es_error(413, "request_entity_too_large", str(exc))
        except _BadBody as exc:
            return es_error(400, "parse_exception", f"bad gzip body: {exc}")
        except BulkRequestError as exc:
            receiver.metrics.inc(ERRORS, receiver=receiver.name, reason="malformed_bulk")
            return es_error(400, "illegal_argument_exception", str(exc))
        except TimeoutError:
            return es_error(408, "timeout_exception", f"body not received within {receiver.body_timeout_secs:g} s")
        except ClientDisconnect:
            return Response(status_code=400)
        receiver.metrics.inc(RECEIVED, len(items), receiver=receiver.name)
        await self._queue(items, request)
        return es_json({"took": int((time.monotonic() - started) * 1000),
                        "errors": any(item.status >= 300 for item in items),
                        "items": [self._result(item, seq) for seq, item in enumerate(items)]})

    async def _queue(self, items: list[_Item], request: Request) -> None:
        """Queue the documents in batches; set each item's status (see the module doc)."""
        receiver = self.receiver
        peer = request.client.host if request.client else "unknown"
        peer_text = f"{peer}:{request.client.port}" if request.client else peer
        source, received = f"http://{peer}", receiver.clock.now()
        extra = {"parser": PARSER, "es_index": None}
        deadline = asyncio.get_running_loop().time() + receiver.queue_wait_secs
        batch: list[tuple[_Item, RawEvent]] = []
        for item in items:
            if item.action not in _APPEND or item.data is None:
                item.status = 400
                item.error = {"type": "illegal_argument_exception",
                              "reason": f"{item.action} is not supported: this endpoint only appends events"}
                continue
            data = item.data
            try:
                valid = isinstance(orjson.loads(data), dict)
            except orjson.JSONDecodeError:
                valid = False
            if valid:
                data = dumps(orjson.loads(data))
            else:
                # Kept all the same: the pipeline makes it a dead letter with its bytes.
                item.error = {"type": "document_parsing_exception",
                              "reason": "the document is not a JSON object (kept as a dead letter)"}
            if item.doc_id is None:
                item.doc_id = compute_event_id(source, None, data)
            event = RawEvent.from_bytes(data, source, received, None, peer=peer_text, receiver=receiver.name,
                                        extra={**extra, "es_index": item.index})
            batch.append((item, event))
            if len(batch) >= QUEUE_BATCH_ENTRIES:
                await self._put(batch, deadline)
                batch = []
        if batch:
            await self._put(batch, deadline)

    async def _put(self, batch: list[tuple[_Item, RawEvent]], deadline: float) -> None:
        """Queue one batch; its items become 201 (or their 400), or 429 when the queue is full."""
        queued = await self.receiver._put([event for _, event in batch], deadline)
        for item, _ in batch:
            if not queued:
                item.status = 429
                item.error = {"type": "es_rejected_execution_exception", "reason": "queue full, retry later"}
            else:
                item.status = 400 if item.error else 201

    @staticmethod
    def _result(item: _Item, seq: int) -> dict[str, Any]:
        result: dict[str, Any] = {"_index": item.index, "_id": item.doc_id, "status": item.status}
        if item.error is not None:
            result["error"] = item.error
        else:
            result.update(_version=1, result="created", _seq_no=seq, _primary_term=1,
                          _shards={"total": 1, "successful": 1, "failed": 0})
        return {item.action: result}
