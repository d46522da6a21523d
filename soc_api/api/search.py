"""Events, alerts and dead letters: search, count, top values, counts over time, one document.

One set of routes serves the three collections (``/api/v1/{collection}/...``); queries use the
analyst query language of :mod:`soc_core.query`, and lists page with the store's opaque cursor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from soc_api.api.common import End, Limit, Q, Start, StoreDep, jsonable, query_node, time_range
from soc_api.api.errors import ApiError

router = APIRouter(prefix="/api/v1/{collection}", tags=["events"])
CollectionName = Literal["events", "alerts", "dead_letters"]


class SearchPage(BaseModel):
    """One page of documents, newest first unless ``order=asc``; ``cursor`` asks for the next."""

    documents: list[dict[str, Any]]
    cursor: str | None


class CountAnswer(BaseModel):
    count: int


class BucketOut(BaseModel):
    key: Any
    count: int


class Buckets(BaseModel):
    buckets: list[BucketOut]


@router.get("/search", response_model=SearchPage)
def search(store: StoreDep, collection: CollectionName, q: Q = "*", start: Start = None, end: End = None,
           limit: Limit = 100, cursor: str | None = None,
           order: Literal["asc", "desc"] = "desc") -> SearchPage:
    """Documents matching ``q`` in the time range, a page at a time."""
    page = store.search(collection, query_node(q), time_range(start, end), limit, cursor, order)
    return SearchPage(documents=page.events, cursor=page.cursor)


@router.get("/count", response_model=CountAnswer)
def count(store: StoreDep, collection: CollectionName, q: Q = "*", start: Start = None,
          end: End = None) -> CountAnswer:
    """How many documents match ``q`` in the time range."""
    return CountAnswer(count=store.count(collection, query_node(q), time_range(start, end)))


@router.get("/terms", response_model=Buckets)
def terms(store: StoreDep, collection: CollectionName, field: Annotated[str, Query(min_length=1, max_length=200)],
          q: Q = "*", size: Annotated[int, Query(ge=1, le=1000)] = 10, start: Start = None,
          end: End = None) -> Buckets:
    """The most frequent values of ``field`` among matching documents."""
    found = store.terms(collection, query_node(q), field, size, time_range(start, end))
    return Buckets(buckets=[BucketOut(key=jsonable(b.key), count=b.count) for b in found])


@router.get("/histogram", response_model=Buckets)
def histogram(store: StoreDep, collection: CollectionName,
              interval_secs: Annotated[int, Query(ge=1, le=366 * 86400)] = 3600, q: Q = "*",
              start: Start = None, end: End = None) -> Buckets:
    """Counts of matching documents per time bucket of ``interval_secs``."""
    found = store.date_histogram(collection, query_node(q), interval_secs, time_range(start, end))
    return Buckets(buckets=[BucketOut(key=jsonable(b.key), count=b.count) for b in found])


@router.get("/docs/{doc_id}", response_model=dict[str, Any])
def document(store: StoreDep, collection: CollectionName,
             doc_id: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
    """One document by its id (``event.id``)."""
    found = store.get(collection, doc_id)
    if found is None:
        raise ApiError(404, "not_found", f"no {collection} document {doc_id!r}")
    return found


# The routes of the first API (``soc run --api``), kept for the scripts that use them; they answer
# as before ({"events", "cursor"} and {"count"}) under the same login and permission as the above.
legacy = APIRouter(tags=["events"], deprecated=True)


@legacy.get("/search", response_model=dict[str, Any])
def legacy_search(store: StoreDep, q: Q = "*", collection: CollectionName = "events", start: Start = None,
                  end: End = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 100, cursor: str | None = None,
                  order: Literal["asc", "desc"] = "desc") -> dict[str, Any]:
    """Deprecated: ``/api/v1/{collection}/search``."""
    page = store.search(collection, query_node(q), time_range(start, end), limit, cursor, order)
    return {"events": page.events, "cursor": page.cursor}


@legacy.get("/count", response_model=CountAnswer)
def legacy_count(store: StoreDep, q: Q = "*", collection: CollectionName = "events", start: Start = None,
                 end: End = None) -> CountAnswer:
    """Deprecated: ``/api/v1/{collection}/count``."""
    return count(store, collection, q, start, end)
