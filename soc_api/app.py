"""The SOC API served by ``soc run --api``: ``/health`` and ``/metrics``, and everything under ``/api/v1``.

``/health`` (for load balancers) and ``/metrics`` (Prometheus; put it on an admin address) stay open
as before and out of the OpenAPI schema's versioned routes; every other route needs a bearer token,
an API key or one of the service's ``--api-key`` keys, and the permission that
:mod:`soc_api.permissions` gives it. Routes live in :mod:`soc_api.api` (one module per resource);
the API reads and writes through its own store object (opened by the same factory as the worker's).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse

from ingest.receivers.http import QuietServer
from ingest.service import Service
from playbooks.config import ResponseConfig
from soc_api.accounts import Accounts
from soc_api.api import accounts, actions, audit, incidents, search, stream
from soc_api.api.errors import ERROR_RESPONSES, install_error_handlers
from soc_api.auth import TOKEN_TTL, Authenticator, LoginThrottle, TokenSigner, token_secret
from soc_api.commands._incidents import incident_service
from soc_api.middleware import ApiMiddleware
from soc_api.permissions import authorize
from soc_core.audit import AUDIT_KIND, AuditLog
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Store
from soc_core.errors import ConfigError, ReceiverError

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class ApiSettings:
    """How the API is secured: the token secret (None: kept in the store), ``dev`` mode (a fixed
    public secret, for a laptop only), allowed CORS origins (none by default), body size limit."""

    secret: str | None = None
    dev: bool = False
    cors_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 1 << 20
    token_ttl: timedelta = TOKEN_TTL
    tls: bool = False
    response_config: str | None = None
    password_hasher: PasswordHasher | None = None
    clock: Clock = field(default_factory=SystemClock)


def build_app(service: Service, store: Store, api_keys: list[str], settings: ApiSettings | None = None) -> FastAPI:
    """The FastAPI application over a running service and a store."""
    settings = settings or ApiSettings()
    if "*" in settings.cors_origins:
        raise ConfigError("CORS origin '*' is refused: name the console's origins")
    app = FastAPI(title="SOC API", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(authorize)], responses=ERROR_RESPONSES)
    app.state.store = store
    app.state.clock = settings.clock
    app.state.login_throttle = LoginThrottle(settings.clock)
    # The same incident service (and playbook observers) as the pipeline and the CLI.
    app.state.incidents = incident_service(store, settings.clock)
    app.state.response_config = ResponseConfig.from_file(settings.response_config)
    signer = TokenSigner(token_secret(store, settings.secret, settings.dev), settings.clock, settings.token_ttl)
    app.state.authenticator = Authenticator(Accounts(store, settings.clock, settings.password_hasher), signer, api_keys)
    install_error_handlers(app)
    # Search last: its {collection} prefix would otherwise catch /api/v1/incidents/search and the like.
    for module in (accounts, incidents, actions, audit, stream, search):
        app.include_router(module.router)
    app.include_router(search.legacy)

    @app.get("/health", tags=["service"])
    def health() -> JSONResponse:
        """200 ``ok`` while the pipeline progresses; 503 ``degraded`` with the reasons
        when the store is unreachable or failing, the queue is stuck, or a background
        task is failing or dead (a load balancer or monitor reads the status code)."""
        checked = store.healthcheck()
        reasons = ([] if checked.ok else [f"store unreachable: {checked.detail}"]) + service.problems()
        body = {"status": "degraded" if reasons else "ok", "reasons": reasons, "store": checked.detail,
                "queue_depth": service.queue.depth}
        return JSONResponse(body, status_code=503 if reasons else 200)

    @app.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.render(), media_type=PROMETHEUS_TYPE)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> dict[str, Any]:
        """The OpenAPI schema, for any logged-in account."""
        return app.openapi()

    app.add_middleware(ApiMiddleware, audit=lambda: AuditLog(store.records(AUDIT_KIND), settings.clock),
                       max_body_bytes=settings.max_body_bytes, hsts=settings.tls)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"])
    return app


async def serve_api(service: Service, host: str, port: int, api_keys: list[str],
                    store_factory: Callable[[], Store], settings: ApiSettings | None = None,
                    tls_cert: str | None = None, tls_key: str | None = None,
                    ) -> tuple[uvicorn.Server, int, asyncio.Task[None]]:
    """Start the API on ``host:port`` in the running loop: (server, bound port, task).

    With ``tls_cert`` and ``tls_key`` (PEM files) the listener speaks HTTPS only."""
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("API TLS needs both a certificate and its key")
    settings = settings or ApiSettings()
    settings.tls = bool(tls_cert)
    store = await asyncio.to_thread(store_factory)
    try:
        app = build_app(service, store, api_keys, settings)
    except Exception:
        store.close()
        raise
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
    server = QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                        ssl_certfile=tls_cert, ssl_keyfile=tls_key))
    if tls_cert:
        try:
            server.config.load()  # builds the TLS context now: a bad certificate fails the start
        except OSError as exc:  # ssl.SSLError included
            sock.close()
            store.close()
            raise ConfigError(f"API TLS: cannot use {tls_cert} / {tls_key}: {exc}") from None

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            store.close()

    return server, sock.getsockname()[1], asyncio.create_task(run(), name="api")


__all__ = ["ApiSettings", "build_app", "serve_api"]
