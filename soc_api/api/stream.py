"""Live updates as server-sent events: new alerts and incident changes.

The stream polls the store (every ``poll_secs``), so it works the same over the embedded and the
Elasticsearch store and across processes (the pipeline writes, the API reads). Each event is
``event: alert`` with the alert document, or ``event: incident`` with the incident's id, version,
status, severity, assignee and title. A connection lasts at most ``max_secs`` (clients reconnect,
as EventSource does by itself); a comment line is sent on every poll so proxies keep it open.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from soc_api.api.common import StoreDep
from soc_core.contracts import Store
from soc_core.query import parse_query

router = APIRouter(prefix="/api/v1", tags=["live"])
# Alerts and incident versions already sent (or present at connection time), bounded per stream.
_REMEMBER = 10_000
_PAGE = 100
_INCIDENT_FIELDS = ("id", "version", "status", "severity", "assignee", "title", "updated")


class _Seen:
    """A bounded set of keys, forgetting the oldest first."""

    def __init__(self) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True when ``key`` is new."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > _REMEMBER:
            self._keys.popitem(last=False)
        return True


def _poll(store: Store, alerts_seen: _Seen, incidents_seen: _Seen) -> list[tuple[str, Any]]:
    """What changed since the last poll: (event name, data), oldest first."""
    found: list[tuple[str, Any]] = []
    page = store.search("alerts", parse_query("*"), limit=_PAGE, order="desc")
    found += [("alert", a) for a in reversed(page.events) if alerts_seen.add(str(a.get("event", {}).get("id")))]
    for record in reversed(store.records("incidents").list(_PAGE)):
        if incidents_seen.add(f"{record['id']}@{record['version']}"):
            found.append(("incident", {name: record.get(name) for name in _INCIDENT_FIELDS}))
    return found


def _frame(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}})
async def stream(request: Request, store: StoreDep,
                 poll_secs: Annotated[float, Query(ge=0.1, le=60)] = 2.0,
                 max_secs: Annotated[float, Query(ge=1, le=86_400)] = 3600.0) -> StreamingResponse:
    """New alerts (``event: alert``) and incident changes (``event: incident``) from now on."""
    alerts_seen, incidents_seen = _Seen(), _Seen()
    # What exists when the client connects is not news.
    await asyncio.to_thread(_poll, store, alerts_seen, incidents_seen)

    async def events() -> AsyncIterator[bytes]:
        deadline = time.monotonic() + max_secs
        yield b": connected\n\n"
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(poll_secs)
            for name, data in await asyncio.to_thread(_poll, store, alerts_seen, incidents_seen):
                yield _frame(name, data)
            yield b": poll\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})
