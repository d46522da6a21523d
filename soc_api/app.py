"""A minimal HTTP API of ``soc run --api``: health, Prometheus metrics, search and count.

``/health`` and ``/metrics`` are open (put them on an admin address); ``/search`` and
``/count`` need one of the service's API keys, and are disabled when none is configured.
The API reads through its own store object (opened by the same factory as the worker's).
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from collections.abc import Callable
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from ingest.receivers.http import QuietServer
from ingest.service import Service
from soc_core.contracts import ALL_TIME, Store, TimeRange
from soc_core.errors import QuerySyntaxError, ReceiverError, StoreError
from soc_core.event import parse_timestamp
from soc_core.query import parse_query

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CollectionName = Literal["events", "alerts", "dead_letters"]


def build_app(service: Service, store: Store, api_keys: list[str]) -> FastAPI:
    """The FastAPI application over a running service and a store."""
    app = FastAPI(title="soc", docs_url=None, redoc_url=None)
    keys = [k.encode() for k in api_keys if k]

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A malformed parameter is the caller's mistake: 400 with what was wrong (FastAPI
        # would say 422), as for a malformed query.
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return JSONResponse({"detail": {"error": "; ".join(problems)[:500]}}, status_code=400)

    def check_key(x_api_key: str | None, authorization: str | None) -> None:
        if not keys:
            raise HTTPException(403, "search is disabled: no API key configured (--api-key)")
        given = x_api_key or ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() in ("apikey", "bearer"):
                given = value.strip()
        found = False
        for key in keys:
            found |= hmac.compare_digest(given.encode(), key)
        if not (found and given):
            raise HTTPException(401, "missing or wrong API key")

    def time_range(start: str | None, end: str | None) -> TimeRange:
        try:
            return TimeRange(None if start is None else parse_timestamp(start),
                             None if end is None else parse_timestamp(end))
        except ValueError as exc:
            raise HTTPException(400, f"bad time: {exc}") from None

    def query_node(q: str) -> Any:
        try:
            return parse_query(q)
        except QuerySyntaxError as exc:
            raise HTTPException(400, {"error": exc.reason, "column": exc.column}) from None

    @app.get("/health")
    def health() -> JSONResponse:
        """200 ``ok`` while the pipeline progresses; 503 ``degraded`` with the reasons
        when the store is unreachable or failing, the queue is stuck, or a background
        task is failing or dead (a load balancer or monitor reads the status code)."""
        checked = store.healthcheck()
        reasons = ([] if checked.ok else [f"store unreachable: {checked.detail}"]) + service.problems()
        body = {"status": "degraded" if reasons else "ok", "reasons": reasons, "store": checked.detail,
                "queue_depth": service.queue.depth}
        return JSONResponse(body, status_code=503 if reasons else 200)

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.render(), media_type=PROMETHEUS_TYPE)

    @app.get("/search")
    def search(
        q: str = "*",
        collection: CollectionName = "events",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        cursor: str | None = None,
        order: Literal["asc", "desc"] = "desc",
        start: str | None = None,
        end: str | None = None,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        check_key(x_api_key, authorization)
        try:
            page = store.search(collection, query_node(q), time_range(start, end), limit, cursor, order)
        except QuerySyntaxError as exc:  # a malformed cursor
            raise HTTPException(400, {"error": exc.reason, "column": exc.column}) from None
        except StoreError as exc:
            raise HTTPException(502, str(exc)) from None
        return {"events": page.events, "cursor": page.cursor}

    @app.get("/count")
    def count(
        q: str = "*",
        collection: CollectionName = "events",
        start: str | None = None,
        end: str | None = None,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        check_key(x_api_key, authorization)
        window = time_range(start, end) if (start or end) else ALL_TIME
        try:
            return {"count": store.count(collection, query_node(q), window)}
        except StoreError as exc:
            raise HTTPException(502, str(exc)) from None

    return app


async def serve_api(service: Service, host: str, port: int, api_keys: list[str],
                    store_factory: Callable[[], Store]) -> tuple[uvicorn.Server, int, asyncio.Task[None]]:
    """Start the API on ``host:port`` in the running loop: (server, bound port, task)."""
    store = await asyncio.to_thread(store_factory)
    app = build_app(service, store, api_keys)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        store.close()
        raise ReceiverError(
            f"API {host}:{port}: cannot listen: {exc.strerror or exc} "
            "(is another process using this port? choose another --api address)"
        ) from None
    sock.setblocking(False)
    server = QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            store.close()

    return server, sock.getsockname()[1], asyncio.create_task(run(), name="api")


__all__ = ["build_app", "serve_api"]
