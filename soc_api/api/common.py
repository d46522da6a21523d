"""What the route modules share: the app's store and clock, time ranges, query parsing, paging."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from soc_api.accounts import Principal
from soc_api.api.errors import ApiError
from soc_core.clock import Clock
from soc_core.contracts import Store, TimeRange
from soc_core.errors import QuerySyntaxError
from soc_core.event import parse_timestamp
from soc_core.query import parse_query
from soc_core.query.ast import Node


def store_of(request: Request) -> Store:
    """The store the app serves."""
    store: Store = request.app.state.store
    return store


def clock_of(request: Request) -> Clock:
    """The app's clock (frozen in tests)."""
    clock: Clock = request.app.state.clock
    return clock


def principal_of(request: Request) -> Principal:
    """The authenticated caller (set by the permission check, which runs first)."""
    principal: Principal = request.state.principal
    return principal


StoreDep = Annotated[Store, Depends(store_of)]
ClockDep = Annotated[Clock, Depends(clock_of)]
PrincipalDep = Annotated[Principal, Depends(principal_of)]
Start = Annotated[str | None, Query(description="Start of the time range (ISO-8601, inclusive).")]
End = Annotated[str | None, Query(description="End of the time range (ISO-8601, exclusive).")]
Q = Annotated[str, Query(description="Analyst query language, e.g. user.name:alice")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def time_range(start: str | None, end: str | None) -> TimeRange:
    """A time range from optional ISO-8601 bounds (400 when one is not a time)."""
    try:
        window = TimeRange(None if start is None else parse_timestamp(start),
                           None if end is None else parse_timestamp(end))
    except ValueError as exc:
        raise ApiError(400, "bad_time", f"not a time: {exc}") from None
    if window.start and window.end and window.start >= window.end:
        raise ApiError(400, "bad_time", "the time range ends before it starts")
    return window


def query_node(q: str) -> Node:
    """The parsed query (QuerySyntaxError answers 400 with the column)."""
    try:
        return parse_query(q)
    except QuerySyntaxError:
        raise
    except RecursionError:
        raise ApiError(400, "bad_query", "query nested too deeply") from None


def offset_cursor(cursor: str | None) -> int:
    """The offset in an opaque record-list cursor (400 when it is not one of ours)."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        kind, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_cursor", "invalid cursor") from None
    if kind != "o" or not 0 <= offset <= 10_000_000:
        raise ApiError(400, "bad_cursor", "invalid cursor")
    return offset


def next_offset_cursor(offset: int, got: int, limit: int) -> str | None:
    """The cursor after a page of ``got`` records (None when the page was the last)."""
    return base64.urlsafe_b64encode(f"o:{offset + got}".encode()).decode() if got >= limit else None


def jsonable(value: Any) -> Any:
    """Bucket keys and the like as JSON (times as ISO-8601 UTC)."""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value
