"""Events, alerts and dead letters over the API: search with paging and time ranges, count,
top values, counts over time, one document; validation errors in the one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from soc_core.contracts import collection_of
from tests.soc_api.api_helpers import STATIC_KEY, Api, make_api
from tests.soc_store.sample import sample_events


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return make_api(tmp_path_factory.mktemp("search"))


def events_of(kind: str) -> list[dict[str, Any]]:
    return [e for e in sample_events() if e["event"]["kind"] == kind]


def test_search_pages_through_everything_once(api: Api) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.call("GET", "/api/v1/events/search", "analyst", params=params).json()
        seen += [d["event"]["id"] for d in page["documents"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(e["event"]["id"] for e in events_of("event"))


def test_query_and_time_range_narrow_the_search(api: Api) -> None:
    params = {"q": "user.name:alice", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T03:00:00Z",
              "order": "asc"}
    docs = api.call("GET", "/api/v1/events/search", "auditor", params=params).json()["documents"]
    want = [e for e in events_of("event") if e.get("user", {}).get("name") == "alice"
            and "2026-01-01T00:00:00" <= e["@timestamp"] < "2026-01-01T03:00:00"]
    assert [d["event"]["id"] for d in docs] == [e["event"]["id"] for e in sorted(want, key=lambda e: e["@timestamp"])]
    count = api.call("GET", "/api/v1/events/count", "analyst", params=params).json()
    assert count == {"count": len(want)}


def test_top_values_and_counts_over_time(api: Api) -> None:
    buckets = api.call("GET", "/api/v1/events/terms", "analyst", params={"field": "user.name", "size": 2}).json()
    assert len(buckets["buckets"]) == 2 and all(b["count"] >= 1 for b in buckets["buckets"])
    hist = api.call("GET", "/api/v1/events/histogram", "analyst", params={"interval_secs": 3600}).json()["buckets"]
    assert sum(b["count"] for b in hist) == len(events_of("event"))
    assert all(b["key"].endswith("Z") for b in hist)


@pytest.mark.parametrize(("collection", "kind"), [("events", "event"), ("alerts", "alert")])
def test_one_document_by_id(api: Api, collection: str, kind: str) -> None:
    wanted = events_of(kind)[0]
    doc = api.call("GET", f"/api/v1/{collection}/docs/{wanted['event']['id']}", "responder")
    assert doc.status_code == 200 and doc.json()["event"]["id"] == wanted["event"]["id"]
    missing = api.call("GET", f"/api/v1/{collection}/docs/none-such", "responder")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_each_collection_counts_its_own_documents(api: Api) -> None:
    for collection in ("events", "alerts", "dead_letters"):
        answer = api.call("GET", f"/api/v1/{collection}/count", "analyst")
        assert answer.json()["count"] == sum(1 for e in sample_events() if collection_of(e) == collection)


@pytest.mark.parametrize(("url", "params", "code"), [
    ("/api/v1/events/search", {"q": "user.name:(alice"}, "bad_query"),
    ("/api/v1/events/search", {"limit": 0}, "validation_error"),
    ("/api/v1/events/search", {"order": "sideways"}, "validation_error"),
    ("/api/v1/events/search", {"start": "yesterday-ish"}, "bad_time"),
    ("/api/v1/events/count", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "bad_time"),
    ("/api/v1/events/terms", {}, "validation_error"),
    ("/api/v1/events/histogram", {"interval_secs": -5}, "validation_error"),
    ("/api/v1/secrets/count", {}, "validation_error"),
    ("/api/v1/events/search", {"cursor": "garbage"}, "bad_query"),
])
def test_bad_parameters_are_400_with_a_code(api: Api, url: str, params: dict[str, Any], code: str) -> None:
    answer = api.call("GET", url, "analyst", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]


def test_the_schema_documents_models_and_errors(api: Api) -> None:
    schema = api.call("GET", "/api/v1/openapi.json", "analyst").json()
    search = schema["paths"]["/api/v1/{collection}/search"]["get"]
    assert "SearchPage" in str(search["responses"]["200"]) and "ErrorResponse" in str(search["responses"]["403"])


def test_the_first_api_routes_answer_as_before_behind_the_login(api: Api) -> None:
    assert api.call("GET", "/search").status_code == 401
    page = api.call("GET", "/search", "analyst", params={"q": "user.name:alice", "limit": 2}).json()
    assert [e["user"]["name"] for e in page["events"]] == ["alice", "alice"] and page["cursor"]
    counted = api.call("GET", "/count", headers={"X-API-Key": STATIC_KEY}, params={"collection": "alerts"})
    assert counted.json() == {"count": len(events_of("alert"))}
