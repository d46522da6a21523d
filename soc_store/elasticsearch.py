"""The Elasticsearch/OpenSearch store, behind the same Store contract as the embedded one.

Layout: one dated index per collection and UTC day, ``<prefix>-<collection>-YYYY.MM.DD``
(the day of ``@timestamp``), all created from one index template per collection
(:mod:`soc_store.ecs_mapping`). Retention deletes whole old indices plus the older part
of the boundary day (:meth:`ElasticsearchStore.purge_older_than`); when asked, an ILM
(Elasticsearch) or ISM (OpenSearch) delete policy is also installed where the server has
one.

Writes: bulk ``create`` with ``event.id`` as ``_id``, so a re-sent event is reported as a
duplicate (409) and never stored twice (the same event always has the same
``@timestamp``, hence the same index). Per-document failures are returned, never a whole
batch lost; requests failing with 429/5xx or a connection error are retried with
exponential back-off, and so are the documents a bulk answers with 429.

Compatibility: the official client sends ``application/vnd.elasticsearch+json;
compatible-with=N``, which OpenSearch and osmem-server refuse (406). :class:`PlainJsonNode`
sends plain ``application/json``, which Elasticsearch accepts as well.
"""

from __future__ import annotations

import base64
import builtins
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from elastic_transport import ApiResponse, HttpHeaders, NodeConfig, Urllib3HttpNode
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout as TransportTimeout
from elastic_transport._node._base import NodeApiResponse  # not re-exported by the package
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import ApiError, Elasticsearch

from soc_core.contracts import (
    ALL_TIME,
    COLLECTIONS,
    Bucket,
    Collection,
    Health,
    Order,
    Page,
    RawHit,
    Record,
    TimeRange,
    WriteResult,
    collection_of,
)
from soc_core.errors import InvalidParameter, NotFound, SearchTimeout, StoreError, VersionConflict
from soc_core.event import (
    INT64_MAX,
    INT64_MIN,
    Event,
    format_timestamp,
    get_field,
    parse_timestamp,
    store_document,
)
from soc_core.query.ast import Node
from soc_core.query.text import searchable_words
from soc_core.record_terms import filter_terms, record_terms
from soc_store import es_query
from soc_store.ecs_mapping import KEYWORD_LIMIT, RECORDS_MAPPINGS, UNINDEXED_FIELD, index_template

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_COMPOSITE_PAGE = 5000


class PlainJsonNode(Urllib3HttpNode):
    """An HTTP node that sends plain JSON media types (see the module docstring)."""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: HttpHeaders | None = None,
                        request_timeout: DefaultType | float | None = DEFAULT) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and "vnd.elasticsearch+" in value:
                    headers[name] = "application/" + value.split("+", 1)[1].split(";", 1)[0].strip()
        return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)



class ElasticsearchStore:
    """Events, alerts, dead letters and records in Elasticsearch or OpenSearch."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        index_prefix: str = "soc",
        refresh: bool = True,
        request_timeout_secs: float = 30.0,
        max_attempts: int = 6,
        backoff_start_secs: float = 0.2,
        backoff_max_secs: float = 10.0,
        max_bulk_docs: int = 2000,
        retention_days: int | None = None,
        api_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        ca_certs: str | None = None,
        verify_certs: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if index_prefix != index_prefix.lower() or not index_prefix:
            raise StoreError(f"index prefix must be non-empty lower case: {index_prefix!r}")
        self.url = url
        self.prefix = index_prefix
        # True: a write is searchable when write() returns (read-your-writes, as the
        # embedded store); False trades that for throughput.
        self.refresh = refresh
        self.max_attempts = max_attempts
        self.backoff_start_secs = backoff_start_secs
        self.backoff_max_secs = backoff_max_secs
        self.max_bulk_docs = max_bulk_docs
        self.retention_days = retention_days
        self._sleep = sleep
        options: dict[str, Any] = {}
        if api_key:
            options["api_key"] = api_key
        if basic_auth:
            options["basic_auth"] = basic_auth
        if ca_certs:
            options["ca_certs"] = ca_certs
        self.client = Elasticsearch(
            url, node_class=PlainJsonNode, request_timeout=request_timeout_secs,
            max_retries=0, retry_on_timeout=False, verify_certs=verify_certs, **options,
        )
        self._ready = False
        self.retries = 0  # requests retried after 429/5xx/connection errors (for metrics)

    # -- plumbing ---------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one request, retrying 429/5xx and connection errors with back-off."""
        delay = self.backoff_start_secs
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except ApiError as exc:
                if exc.meta.status not in RETRY_STATUSES or attempt == self.max_attempts:
                    raise StoreError(f"elasticsearch {what}: {exc.meta.status} {_reason(exc.body)}") from exc
            except (TransportConnectionError, TransportTimeout) as exc:
                if attempt == self.max_attempts:
                    raise StoreError(f"elasticsearch {what}: {exc}") from exc
            self.retries += 1
            self._sleep(delay)
            delay = min(delay * 2, self.backoff_max_secs)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _pattern(self, collection: Collection) -> str:
        if collection not in COLLECTIONS:
            raise StoreError(f"unknown collection {collection!r}")
        return f"{self.prefix}-{collection}-*"

    def _index(self, collection: Collection, stamp: datetime) -> str:
        return f"{self.prefix}-{collection}-{stamp:%Y.%m.%d}"

    def ensure_templates(self) -> None:
        """Install the index templates (idempotent) and, if asked, a lifecycle policy."""
        if self._ready:
            return
        for collection in COLLECTIONS:
            name = f"{self.prefix}-{collection}"
            body = index_template(f"{self.prefix}-{collection}-*")
            self._call("put template",
                       lambda n=name, b=body: self.client.indices.put_index_template(name=n, **b))  # type: ignore[misc]
        if self.retention_days:
            self._install_lifecycle()
        self._ready = True

    def _install_lifecycle(self) -> None:
        """An ILM or ISM delete policy where the server has one; purge_older_than
        remains the portable way (osmem-server has neither API)."""
        days = f"{self.retention_days}d"
        attempts = [
            ("PUT", f"/_ilm/policy/{self.prefix}-retention",
             {"policy": {"phases": {"delete": {"min_age": days, "actions": {"delete": {}}}}}}),
            ("PUT", f"/_plugins/_ism/policies/{self.prefix}-retention",
             {"policy": {"description": "soc retention", "default_state": "hot",
                         "states": [{"name": "hot", "actions": [], "transitions": [
                             {"state_name": "delete", "conditions": {"min_index_age": days}}]},
                             {"name": "delete", "actions": [{"delete": {}}], "transitions": []}],
                         "ism_template": [{"index_patterns": [f"{self.prefix}-*"]}]}}),
        ]
        for method, path, body in attempts:
            try:
                self.client.perform_request(method, path, body=body, headers={"content-type": "application/json"})
                log.info("installed lifecycle policy %s", path)
                return
            except ApiError as exc:
                log.info("no lifecycle API at %s (%s); retention by purge_older_than", path, exc.meta.status)

    # -- events -----------------------------------------------------------------------

    def write(self, events: Sequence[Event]) -> WriteResult:
        result = WriteResult()
        pending: list[tuple[Event, str, str, bytes]] = []
        for event in events:
            try:
                pending.append(self._prepare(event))
            except (ValueError, TypeError) as exc:
                result.failed.append((event, f"invalid document: {exc}"))
        if not pending:
            return result
        self.ensure_templates()
        for start in range(0, len(pending), self.max_bulk_docs):
            result.merge(self._bulk(pending[start : start + self.max_bulk_docs]))
        return result

    @staticmethod
    def _doc_bytes(event: Event) -> bytes:
        """The document as indexed: the event plus the hidden search-only ``soc`` fields
        (the folded words of the searchable text: message or event.original; the paths of values too long to index)."""
        original, soc = event, event.get("soc", {})
        if not isinstance(soc, dict):
            return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)
        text_words = searchable_words(event)
        if text_words is not None:
            soc = {**soc, "message_words": text_words}
            event = {**event, "soc": soc}
        doc = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)
        # A document shorter than the limit cannot hold a value longer than it: only the
        # few long documents are walked.
        if len(doc) > KEYWORD_LIMIT:
            unindexed = sorted(set(_long_value_paths(original)))
            if unindexed:
                doc = orjson.dumps({**event, "soc": {**soc, "unindexed": unindexed}},
                                   option=orjson.OPT_NON_STR_KEYS)
        return doc

    def _prepare(self, event: Event) -> tuple[Event, str, str, bytes]:
        event_id = get_field(event, "event.id")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("event.id is missing")
        stamp = event.get("@timestamp")
        if not isinstance(stamp, str):
            raise ValueError("@timestamp is missing")
        index = self._index(collection_of(event), parse_timestamp(stamp))
        # 64-bit integers, no NaN, sane keys: the same rewrite as every store.
        return event, index, event_id, self._doc_bytes(store_document(event)[0])

    def _bulk(self, items: list[tuple[Event, str, str, bytes]]) -> WriteResult:
        result = WriteResult()
        delay = self.backoff_start_secs
        for attempt in range(1, self.max_attempts + 1):
            body = b"".join(
                orjson.dumps({"create": {"_index": index, "_id": doc_id}}) + b"\n" + doc + b"\n"
                for _, index, doc_id, doc in items
            )
            response = self._call("bulk", lambda b=body: self.client.bulk(  # type: ignore[misc]
                operations=b, refresh="true" if self.refresh else "false"))
            retry: list[tuple[Event, str, str, bytes]] = []
            for item, outcome in zip(items, response["items"], strict=True):
                status = outcome["create"].get("status", 500)
                if status in (200, 201):
                    result.written += 1
                elif status == 409:
                    result.duplicates += 1
                elif status in RETRY_STATUSES and attempt < self.max_attempts:
                    retry.append(item)
                else:
                    result.failed.append((item[0], f"{status} {_reason(outcome['create'].get('error'))}"))
            if not retry:
                return result
            items = retry
            self.retries += 1
            self._sleep(delay)
            delay = min(delay * 2, self.backoff_max_secs)
        return result  # pragma: no cover - the last attempt sends nothing to retry

    def get(self, collection: Collection, event_id: str) -> Event | None:
        response = self._call("get", lambda: self.client.search(
            index=self._pattern(collection), query={"ids": {"values": [event_id]}}, size=1))
        hits = response["hits"]["hits"]
        return _source(hits[0]) if hits else None

    def _query(self, collection: Collection, query: Node, time_range: TimeRange) -> dict[str, Any]:
        pattern = self._pattern(collection)
        fields = sorted(set(es_query.leaf_fields(query)))
        return self._within(es_query.compile_query(query, self.field_types(pattern, fields)), time_range)

    @staticmethod
    def _within(query: dict[str, Any], time_range: TimeRange) -> dict[str, Any]:
        """``query`` limited to the time range (start inclusive, end exclusive)."""
        when = es_query.time_filter(
            None if time_range.start is None else format_timestamp(time_range.start),
            None if time_range.end is None else format_timestamp(time_range.end),
        )
        return query if when is None else {"bool": {"filter": [query, when]}}

    def field_types(self, pattern: str, fields: Iterable[str]) -> dict[str, dict[es_query.Family, list[str]]]:
        """The mapped family of each field in each index of ``pattern`` (live mapping)."""
        wanted = list(fields)
        out: dict[str, dict[es_query.Family, list[str]]] = {f: {} for f in wanted}
        if not wanted:
            return out
        response = self._call("field mapping", lambda: self.client.indices.get_field_mapping(
            index=pattern, fields=wanted, allow_no_indices=True, ignore_unavailable=True))
        for index, body in response.body.items():
            for full_name, entry in body.get("mappings", {}).items():
                leaf = full_name.rsplit(".", 1)[-1]
                es_type = entry.get("mapping", {}).get(leaf, {}).get("type")
                if full_name in out and isinstance(es_type, str):
                    out[full_name].setdefault(es_query.family_of(es_type), []).append(index)
        return out

    def search(
        self,
        collection: Collection,
        query: Node,
        time_range: TimeRange = ALL_TIME,
        limit: int = 100,
        cursor: str | None = None,
        order: Order = "desc",
    ) -> Page:
        body: dict[str, Any] = {
            "query": self._query(collection, query, time_range),
            "sort": [{"@timestamp": {"order": order}}, {"event.id": {"order": order}}],
            "size": limit,
            "track_total_hits": False,
        }
        if cursor is not None:
            body["search_after"] = _decode_cursor(cursor)
        response = self._call("search", lambda: self.client.search(
            index=self._pattern(collection), allow_no_indices=True, ignore_unavailable=True, **body))
        hits = response["hits"]["hits"]
        next_cursor = _encode_cursor(hits[-1]["sort"]) if hits and len(hits) == limit else None
        return Page([_source(h) for h in hits], next_cursor)

    def search_raw(
        self,
        collection: Collection,
        query: dict[str, Any],
        limit: int = 1000,
        search_after: list[Any] | None = None,
        timeout_secs: float | None = None,
        indices: Sequence[str] | None = None,
        time_range: TimeRange = ALL_TIME,
    ) -> list[RawHit]:
        """One page of ``collection`` matching a query written in Elasticsearch's query DSL,
        oldest first (``@timestamp``, then ``event.id``); pass the last hit's ``sort`` as
        ``search_after`` for the next page.

        It exists for the retro-hunt (:mod:`rules.hunt.lucene`): Sigma rules converted by
        pySigma are Elasticsearch queries, not our query language, so :meth:`search` cannot
        carry them. Not retried: a refused query raises :class:`StoreError` with the
        server's reason, a query slower than ``timeout_secs`` :class:`SearchTimeout`.
        ``indices`` (from :meth:`indices_holding`) restricts the search to those indices of
        the collection."""
        target = self._pattern(collection)
        if indices is not None:
            foreign = [name for name in indices if not name.startswith(target[:-1])]
            if foreign or not indices:
                raise StoreError(f"not indices of {target}: {foreign or 'none given'}")
            target = ",".join(indices)
        body: dict[str, Any] = {
            "query": self._within(query, time_range),
            "sort": [{"@timestamp": {"order": "asc"}}, {"event.id": {"order": "asc"}}],
            "size": limit,
            "track_total_hits": False,
        }
        if search_after is not None:
            body["search_after"] = search_after
        client = self.client if timeout_secs is None else self.client.options(request_timeout=timeout_secs)
        try:
            response = client.search(index=target, allow_no_indices=True, ignore_unavailable=True, **body)
        except ApiError as exc:
            raise StoreError(f"elasticsearch raw search: {exc.meta.status} {_reason(exc.body)}") from exc
        except TransportTimeout as exc:
            raise SearchTimeout(f"elasticsearch raw search: no answer within {timeout_secs} s") from exc
        except TransportConnectionError as exc:
            raise StoreError(f"elasticsearch raw search: {exc}") from exc
        return [RawHit(_source(hit), list(hit["sort"])) for hit in response["hits"]["hits"]]

    def indices_holding(self, collection: Collection, query: dict[str, Any],
                        time_range: TimeRange = ALL_TIME) -> list[str]:
        """The collection's indices (one per day) holding a document matching ``query``, a
        cheap query-DSL filter, sorted. A search of an expensive query (the regexps and
        wildcards of a Sigma rule) over those indices alone costs what the index layout
        makes it cost per index, not per day ever stored (:meth:`search_raw`)."""
        body: dict[str, Any] = {"query": self._within(query, time_range), "size": 0,
                                "aggs": {"i": {"terms": {"field": "_index", "size": 65536}}}}
        response = self._call("indices holding", lambda: self.client.search(
            index=self._pattern(collection), allow_no_indices=True, ignore_unavailable=True, **body))
        buckets = response.get("aggregations", {}).get("i", {}).get("buckets", [])
        return sorted(str(bucket["key"]) for bucket in buckets)

    def unindexed_filter(self) -> dict[str, Any]:
        """Documents with a value over ``KEYWORD_LIMIT`` characters (see :mod:`soc_store.ecs_mapping`)."""
        return {"exists": {"field": UNINDEXED_FIELD}}

    def count(self, collection: Collection, query: Node, time_range: TimeRange = ALL_TIME) -> int:
        compiled = self._query(collection, query, time_range)
        response = self._call("count", lambda: self.client.count(
            index=self._pattern(collection), query=compiled, allow_no_indices=True, ignore_unavailable=True))
        return int(response["count"])

    def _aggregate(self, collection: Collection, query: Node, time_range: TimeRange,
                   aggs: dict[str, Any]) -> dict[str, Any]:
        compiled = self._query(collection, query, time_range)
        response = self._call("aggregate", lambda: self.client.search(
            index=self._pattern(collection), query=compiled, aggs=aggs, size=0,
            allow_no_indices=True, ignore_unavailable=True))
        result: dict[str, Any] = response.body.get("aggregations") or {}
        return result

    def terms(
        self, collection: Collection, query: Node, field: str, size: int = 10,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]:
        # Ask for more than needed: the server breaks ties by key, we by the key's text.
        aggs = {"t": {"terms": {"field": field, "size": size + 50}}}
        raw = self._aggregate(collection, query, time_range, aggs).get("t", {}).get("buckets", [])
        buckets = [Bucket(_bucket_key(b), int(b["doc_count"])) for b in raw]
        buckets.sort(key=lambda b: (-b.count, str(b.key)))
        return buckets[:size]

    def date_histogram(
        self, collection: Collection, query: Node, interval_seconds: int,
        time_range: TimeRange = ALL_TIME,
    ) -> list[Bucket]:
        if interval_seconds <= 0:
            raise StoreError("interval_seconds must be positive")
        aggs = {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{interval_seconds}s",
                                         "min_doc_count": 1}}}
        raw = self._aggregate(collection, query, time_range, aggs).get("h", {}).get("buckets", [])
        return [Bucket(format_timestamp(datetime.fromtimestamp(b["key"] / 1000, UTC)), int(b["doc_count"]))
                for b in raw if b["doc_count"] > 0]

    def cardinality(
        self, collection: Collection, query: Node, field: str, time_range: TimeRange = ALL_TIME,
    ) -> int:
        # Exact, by paging a composite aggregation: the cardinality aggregation is an
        # estimate, and the embedded store counts exactly.
        total = 0
        after: dict[str, Any] | None = None
        for _ in range(1_000_000):
            composite: dict[str, Any] = {"size": _COMPOSITE_PAGE, "sources": [{"v": {"terms": {"field": field}}}]}
            if after is not None:
                composite["after"] = after
            agg = self._aggregate(collection, query, time_range, {"c": {"composite": composite}}).get("c", {})
            buckets = agg.get("buckets", [])
            total += len(buckets)
            after = agg.get("after_key")
            if len(buckets) < _COMPOSITE_PAGE or after is None:
                break
        return total

    def purge_older_than(self, cutoff: datetime) -> int:
        """Delete every event older than ``cutoff``, then the indices left empty."""
        stamp = format_timestamp(cutoff)
        removed = 0
        for collection in COLLECTIONS:
            pattern = self._pattern(collection)
            response = self._call("delete_by_query", lambda p=pattern: self.client.delete_by_query(  # type: ignore[misc]
                index=p, query={"range": {"@timestamp": {"lt": stamp}}}, refresh=True,
                allow_no_indices=True, ignore_unavailable=True, conflicts="proceed"))
            removed += int(response.get("deleted", 0))
            day = f"{self.prefix}-{collection}-{cutoff.astimezone(UTC):%Y.%m.%d}"
            listing = self._call("cat indices", lambda p=pattern: self.client.cat.indices(  # type: ignore[misc]
                index=p, format="json", expand_wildcards="open"))
            rows: list[dict[str, Any]] = listing.body if isinstance(listing.body, list) else []
            for row in rows:
                name = str(row.get("index", ""))
                if name < day and name.startswith(f"{self.prefix}-{collection}-"):
                    self._call("delete index", lambda n=name: self.client.indices.delete(index=n))  # type: ignore[misc]
        return removed

    # -- records ----------------------------------------------------------------------

    def records(self, kind: str) -> ElasticsearchRecords:
        return ElasticsearchRecords(self, kind)

    def healthcheck(self) -> Health:
        try:
            info = self._call("info", lambda: self.client.info())
        except StoreError as exc:
            return Health(False, str(exc))
        version = info.get("version", {})
        product = f"{version.get('distribution', 'elasticsearch')} {version.get('number', '?')}"
        return Health(True, f"{product} at {self.url}")

    def close(self) -> None:
        self.client.close()


class ElasticsearchRecords:
    """Mutable records of one kind, versioned optimistically with ``if_seq_no``."""

    def __init__(self, store: ElasticsearchStore, kind: str) -> None:
        self._store = store
        self._kind = kind
        self._index = f"{store.prefix}-records"
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        client = self._store.client
        exists = self._store._call("exists", lambda: client.indices.exists(index=self._index))
        if not exists:
            try:
                client.indices.create(index=self._index, mappings=RECORDS_MAPPINGS)
            except ApiError as exc:
                if exc.meta.status != 400 or "already_exists" not in str(exc.body):
                    raise StoreError(f"elasticsearch create records index: {_reason(exc.body)}") from exc
        self._ready = True

    def _doc_id(self, record_id: str) -> str:
        return f"{self._kind}:{record_id}"

    def _fetch(self, record_id: str) -> ApiResponse[Any] | None:
        client = self._store.client

        def get() -> ApiResponse[Any] | None:
            try:
                return client.get(index=self._index, id=self._doc_id(record_id))
            except ApiError as exc:
                if exc.meta.status == 404:
                    return None
                raise

        return self._store._call("get record", get)

    def get(self, record_id: str) -> Record:
        self._ensure()
        found = self._fetch(record_id)
        if found is None:
            raise NotFound(f"{self._kind} {record_id!r} not found")
        return _record(found["_source"])

    def put(self, record: Record, expected_version: int | None) -> Record:
        record_id = record.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise StoreError("a record needs a string id")
        self._ensure()
        current = self._fetch(record_id)
        actual = 0 if current is None else int(current["_source"]["version"])
        if (expected_version or 0) != actual:
            if expected_version is not None and current is None:
                raise NotFound(f"{self._kind} {record_id!r} not found")
            raise VersionConflict(record_id, expected_version or 0, actual)
        stored = {**record, "version": actual + 1}
        body = {"kind": self._kind, "rid": record_id, "version": actual + 1,
                "updated": time.time_ns() // 1000, "terms": sorted(record_terms(stored)),
                "doc": orjson.dumps(stored).decode()}
        client = self._store.client
        guard: dict[str, Any] = (
            {"op_type": "create"} if current is None
            else {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
        )
        try:
            self._store._call("put record", lambda: client.index(
                index=self._index, id=self._doc_id(record_id), document=body, refresh="true", **guard))
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiError) and cause.meta.status == 409:
                # Lost a race with another writer between our read and our write.
                raise VersionConflict(record_id, expected_version or 0, actual + 1) from exc
            raise
        return stored

    def list(self, limit: int = 100, offset: int = 0) -> list[Record]:
        self._ensure()
        client = self._store.client
        response = self._store._call("list records", lambda: client.search(
            index=self._index, query={"term": {"kind": self._kind}}, from_=offset, size=limit,
            sort=[{"updated": {"order": "desc"}}, {"rid": {"order": "asc"}}]))
        return [_record(h["_source"]) for h in response["hits"]["hits"]]

    def find(
        self, filters: Mapping[str, str], limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        self._ensure()
        client = self._store.client
        must: list[dict[str, Any]] = [{"term": {"kind": self._kind}}]
        must += [{"term": {"terms": t}} for t in filter_terms(filters)]
        response = self._store._call("find records", lambda: client.search(
            index=self._index, query={"bool": {"filter": must}}, from_=offset, size=limit,
            sort=[{"updated": {"order": "desc"}}, {"rid": {"order": "asc"}}]))
        return [_record(h["_source"]) for h in response["hits"]["hits"]]


def _record(source: dict[str, Any]) -> Record:
    record: Record = orjson.loads(source["doc"])
    record["version"] = int(source["version"])
    return record


def _source(hit: dict[str, Any]) -> Event:
    """The stored event as written: without the search-only hidden fields."""
    event: Event = hit["_source"]
    soc = event.get("soc")
    if isinstance(soc, dict) and ("message_words" in soc or "unindexed" in soc):
        soc.pop("message_words", None)
        soc.pop("unindexed", None)
        if not soc:
            event.pop("soc")
    return event


def _long_value_paths(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of the strings (alone or in lists) longer than the keyword limit."""
    if isinstance(value, str):
        if len(value) > KEYWORD_LIMIT:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _long_value_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _long_value_paths(item, path)


def _bucket_key(bucket: dict[str, Any]) -> Any:
    key = bucket["key"]
    if bucket.get("key_as_string") in ("true", "false") and key in (0, 1):
        return bucket["key_as_string"] == "true"
    if isinstance(key, float) and key.is_integer():
        return int(key)  # a whole number in a double field: shown as the embedded store does
    return key


def _encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(sort_values)).decode("ascii")


def _decode_cursor(cursor: str) -> list[Any]:
    """The sort values of the last hit (``@timestamp`` in epoch milliseconds, ``event.id``)
    as :func:`_encode_cursor` wrote them; anything else is the caller's mistake."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii"))) if len(cursor) <= 1024 else None
    except (ValueError, orjson.JSONDecodeError):
        values = None
    if not (isinstance(values, list) and len(values) == 2 and type(values[0]) is int
            and INT64_MIN <= values[0] <= INT64_MAX and isinstance(values[1], str) and len(values[1]) <= 256):
        raise InvalidParameter("cursor", "not a cursor of this store", cursor)
    return values


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            return f"{inner.get('type', 'error')}: {inner.get('reason', '')}"
        return str(inner)
    return str(error)
