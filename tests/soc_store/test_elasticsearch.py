"""The Elasticsearch store beyond the shared contract, against a real osmem-server:
plain JSON media types, retries on 429/5xx through a real fault-injecting proxy,
per-document failures, the generated mappings, mixed field types, text search."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from elasticsearch import ApiError, Elasticsearch

from ingest.pipeline import Pipeline
from soc_core.contracts import ALL_TIME
from soc_core.event import Event
from soc_core.query import matches, parse_query
from soc_store.elasticsearch import ElasticsearchStore, PlainJsonNode
from tests.soc_store.fault_proxy import ITEM_429, FaultProxy, fault_proxy
from tests.soc_store.osmem import osmem_server  # noqa: F401 - a session fixture, used by name

_prefixes = itertools.count()


@pytest.fixture
def es_url(osmem_server: str) -> str:  # noqa: F811 - the fixture imported above
    return osmem_server


@pytest.fixture
def store(es_url: str) -> Iterator[ElasticsearchStore]:
    s = ElasticsearchStore(es_url, index_prefix=f"soc-es-{next(_prefixes)}", backoff_start_secs=0.01)
    yield s
    s.close()


def event(i: int, ts: str = "2026-01-01T00:00:00Z", **fields: object) -> Event:
    return {"@timestamp": ts, "event": {"id": f"e-{i}", "kind": "event"}, **fields}


def test_the_stock_client_is_refused_and_plain_json_is_not(es_url: str) -> None:
    stock = Elasticsearch(es_url, request_timeout=10, max_retries=0)
    with pytest.raises(ApiError) as refused:
        stock.count(query={"match_all": {}})  # a request with a body has a Content-Type
    assert refused.value.meta.status == 406
    stock.close()
    plain = Elasticsearch(es_url, node_class=PlainJsonNode, request_timeout=10, max_retries=0)
    assert plain.count(query={"match_all": {}})["count"] >= 0
    assert plain.info()["version"]["distribution"] == "opensearch"
    plain.close()


@pytest.fixture
def proxy(es_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(es_url) as server:
        yield server


def test_429_and_5xx_are_retried_with_growing_back_off(proxy: FaultProxy) -> None:
    delays: list[float] = []
    proxy.faults += [("_bulk", 429), ("_bulk", 503), ("_count", 502)]
    store = ElasticsearchStore(proxy.url, index_prefix=f"soc-es-{next(_prefixes)}",
                               backoff_start_secs=0.05, sleep=delays.append)
    result = store.write([event(i) for i in range(5)])
    assert (result.written, result.duplicates, result.failed) == (5, 0, [])
    assert store.count("events", parse_query("*")) == 5
    assert [status for path, status in proxy.seen if "_bulk" in path] == [429, 503, 200]
    assert delays == [0.05, 0.1, 0.05]  # doubling per request, reset for the next one
    assert store.retries == 3
    store.close()


def test_a_document_answered_429_in_a_bulk_is_sent_again_alone(proxy: FaultProxy) -> None:
    delays: list[float] = []
    proxy.faults.append(("_bulk", ITEM_429))
    store = ElasticsearchStore(proxy.url, index_prefix=f"soc-es-{next(_prefixes)}", backoff_start_secs=0.05,
                               sleep=delays.append)
    docs = [event(i) for i in range(5)]
    result = store.write(docs)
    assert (result.written, result.duplicates, result.failed) == (5, 0, [])
    assert [s for p, s in proxy.seen if "_bulk" in p] == [ITEM_429, 200, 200]
    assert delays == [0.05]
    assert {e["event"]["id"] for e in store.search("events", parse_query("*")).events} == {f"e-{i}" for i in range(5)}
    store.close()


def test_retries_give_up_with_a_store_error(proxy: FaultProxy) -> None:
    from soc_core.errors import StoreError

    proxy.faults += [("_count", 503)] * 3
    store = ElasticsearchStore(proxy.url, index_prefix=f"soc-es-{next(_prefixes)}",
                               max_attempts=3, sleep=lambda _: None)
    with pytest.raises(StoreError, match="503"):
        store.count("events", parse_query("*"))
    store.close()


def test_a_document_the_mapping_refuses_fails_alone_and_becomes_a_dead_letter(store: ElasticsearchStore) -> None:
    good = [event(1, source={"ip": "10.0.0.1"}), event(2, message="fine")]
    bad = event(3, source="not an object")  # source is an object in the ECS mapping
    result = store.write([good[0], bad, good[1]])
    assert result.written == 2 and [doc for doc, _ in result.failed] == [bad]
    assert "mapper" in result.failed[0][1] or "pars" in result.failed[0][1]

    from soc_api.commands._common import make_parser

    pipeline = Pipeline(make_parser("system.syslog"), store)
    pipeline.write([event(4, source="again not an object")])
    letter = store.get("dead_letters", "e-4")
    assert letter is not None and letter["error"]["type"] == "store"
    assert pipeline.stats.store_failures == 1


def test_generated_mappings_follow_the_ecs_types(store: ElasticsearchStore) -> None:
    store.write([event(1, source={"ip": "10.0.0.1", "port": 22}, message="x")])
    mapping = store.client.indices.get_mapping(index=f"{store.prefix}-events-*").body
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date_nanos"
    assert props["source"]["properties"]["ip"] == {"type": "keyword", "ignore_above": 8191,
                                                   "fields": {"net": {"type": "ip", "ignore_malformed": True}}}
    assert props["source"]["properties"]["port"]["type"] == "long"
    assert props["event"]["properties"]["created"]["fields"]["date"]["type"] == "date"
    assert list(mapping) == [f"{store.prefix}-events-2026.01.01"]


def test_a_field_mapped_differently_per_index_answers_as_the_reference(store: ElasticsearchStore) -> None:
    docs = [event(1, "2026-01-01T00:00:00Z", x=5), event(2, "2026-01-02T00:00:00Z", x="5"),
            event(3, "2026-01-02T00:00:00Z", x="abc"), event(4, "2026-01-01T00:00:00Z", x=7.5)]
    assert store.write(docs).written == 4
    for text in ("x:5", "x:abc", "x >= 3", "x:[a TO b]", "x:a*", "NOT x:5", "_exists_:x", "x:7.5", "x:{5 TO *]",
                 "x:[5 TO abd]", "x:?b*", "x:10.0.0.0/8"):
        node = parse_query(text)
        want = {d["event"]["id"] for d in docs if matches(node, d)}
        got = {e["event"]["id"] for e in store.search("events", node, ALL_TIME, limit=100).events}
        assert got == want, text


def test_text_search_folds_case_and_accents_and_get_returns_the_original(store: ElasticsearchStore) -> None:
    docs = [event(1, message="Đăng nhập thất bại cho user.name=root"),
            event(2, message="Login FAILED for admin"), event(3, message="nhà")]
    store.write(docs)
    for text, want in (('"dang nhap"', {"e-1"}), ("that bai", {"e-1"}), ("failed", {"e-2"}),
                       ("nha*", {"e-1", "e-3"}), ('"user name"', {"e-1"}), ('"nhap dang"', set())):
        node = parse_query(text)
        assert {d["event"]["id"] for d in docs if matches(node, d)} == want, text
        assert {e["event"]["id"] for e in store.search("events", node).events} == want, text
    assert store.get("events", "e-1") == docs[0]  # the search-only word field is not returned


def test_retention_drops_old_indices(store: ElasticsearchStore) -> None:
    from datetime import UTC, datetime

    store.write([event(1, "2026-01-01T10:00:00Z"), event(2, "2026-01-02T10:00:00Z"), event(3, "2026-01-03T10:00:00Z")])
    assert store.purge_older_than(datetime(2026, 1, 2, 12, tzinfo=UTC)) == 2
    rows: list[dict[str, str]] = store.client.cat.indices(index=f"{store.prefix}-*", format="json").body  # type: ignore[assignment]
    names = sorted(r["index"] for r in rows)
    assert names == [f"{store.prefix}-events-2026.01.02", f"{store.prefix}-events-2026.01.03"]
    assert store.count("events", parse_query("*")) == 1


def test_a_lifecycle_request_the_server_lacks_is_not_fatal(es_url: str) -> None:
    store = ElasticsearchStore(es_url, index_prefix=f"soc-es-{next(_prefixes)}", retention_days=30)
    assert store.write([event(1)]).written == 1
    store.close()


def test_documents_with_values_too_long_to_index_are_marked_not_changed(store: ElasticsearchStore) -> None:
    from soc_store.ecs_mapping import KEYWORD_LIMIT

    long_value = "A" * (KEYWORD_LIMIT + 1) + "needle"
    store.write([event(1, winlog={"event_data": {"AttributeValue": long_value}}),
                 event(2, winlog={"event_data": {"AttributeValue": "short"}}),
                 event(3, tags=["x", long_value])])
    # No query sees the long value itself...
    assert store.count("events", parse_query("winlog.event_data.AttributeValue:*needle")) == 0
    # ... but the documents holding one can be found, and read back exactly as written.
    hits = store.search_raw("events", store.unindexed_filter())
    assert sorted(h.event["event"]["id"] for h in hits) == ["e-1", "e-3"]
    assert store.get("events", "e-1") == event(1, winlog={"event_data": {"AttributeValue": long_value}})
    assert "soc" not in hits[0].event
