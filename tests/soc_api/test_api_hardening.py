"""Hardening of the API: security headers, no CORS unless origins are named, request size limit,
and HTTPS on a real listener (uvicorn on 127.0.0.1) when a certificate is given."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ingest.queue import DurableQueue
from ingest.service import Service
from soc_api.accounts import Accounts
from soc_api.app import ApiSettings, build_app, serve_api
from soc_api.commands._common import make_parser
from soc_api.middleware import SECURITY_HEADERS
from soc_core.errors import ConfigError
from soc_store.sqlite import SqliteStore
from tests.ingest.receivers.certs import make_pki
from tests.soc_api.api_helpers import FAST_HASHER, PASSWORD, Api, make_api

ORIGIN = "https://console.soc.example"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return make_api(tmp_path, events=False, settings=ApiSettings(max_body_bytes=4096))


def test_security_headers_on_answers_and_errors(api: Api) -> None:
    for answer in (api.call("GET", "/health"), api.call("GET", "/api/v1/auth/me"),
                   api.call("GET", "/api/v1/auth/me", "analyst"), api.call("GET", "/no/such/route")):
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
    assert "strict-transport-security" not in api.call("GET", "/health").headers


def test_no_cors_by_default(api: Api) -> None:
    preflight = api.call("OPTIONS", "/api/v1/auth/me", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    plain = api.call("GET", "/api/v1/auth/me", "analyst", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in plain.headers


def test_cors_for_named_origins_only(tmp_path: Path) -> None:
    api = make_api(tmp_path, events=False, settings=ApiSettings(cors_origins=[ORIGIN]))
    ok = api.call("OPTIONS", "/api/v1/auth/me", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    other = api.call("GET", "/api/v1/auth/me", "analyst", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    with pytest.raises(ConfigError, match="refused"):
        make_api(tmp_path / "star", events=False, settings=ApiSettings(cors_origins=["*"]))


def test_request_bodies_over_the_limit_are_413(api: Api) -> None:
    big = {"name": "x" * 5000, "role": "analyst"}
    declared = api.call("POST", "/api/v1/keys", "admin", json=big)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'", "role": "analyst"}'

    streamed = api.call("POST", "/api/v1/keys", "admin", content=chunks(),
                        headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "too_large"
    assert api.call("GET", "/api/v1/keys", "admin").json() == []


def test_the_api_speaks_https_when_given_a_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    store = SqliteStore(tmp_path / "store.db")
    Accounts(store, hasher=FAST_HASHER).add_user("analyst", "analyst", PASSWORD, "test")
    store.close()
    service = Service([], DurableQueue(tmp_path / "q.db"), lambda: SqliteStore(tmp_path / "store.db"), make_parser)

    async def scenario() -> tuple[int, str, str]:
        server, port, task = await serve_api(
            service, "127.0.0.1", 0, [], lambda: SqliteStore(tmp_path / "store.db"),
            ApiSettings(password_hasher=FAST_HASHER), str(pki.server_cert), str(pki.server_key))
        try:
            context = ssl.create_default_context(cafile=str(pki.ca))
            async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=context, timeout=10) as c:
                for _ in range(100):  # bounded wait for the listener
                    if server.started:
                        break
                    await asyncio.sleep(0.05)
                token = (await c.post("/api/v1/auth/login", json={"username": "analyst", "password": PASSWORD}))
                me = await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as plain:
                try:
                    await plain.get("/health")
                    refused = "answered over plain HTTP"
                except httpx.HTTPError as exc:
                    refused = type(exc).__name__
            return me.status_code, me.headers.get("strict-transport-security", ""), refused
        finally:
            server.should_exit = True
            await asyncio.wait([task], timeout=10)

    status, hsts, refused = asyncio.run(scenario())
    assert status == 200 and hsts.startswith("max-age=")
    assert refused != "answered over plain HTTP"


def test_tls_needs_both_files(tmp_path: Path) -> None:
    service = Service([], DurableQueue(tmp_path / "q.db"), lambda: SqliteStore(tmp_path / "s.db"), make_parser)
    with pytest.raises(ConfigError, match="both"):
        asyncio.run(serve_api(service, "127.0.0.1", 0, [], lambda: SqliteStore(tmp_path / "s.db"),
                              tls_cert=str(tmp_path / "cert.pem")))


def test_build_app_without_settings_keeps_a_secret_in_the_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    service = Service([], DurableQueue(tmp_path / "q.db"), lambda: store, make_parser)
    build_app(service, store, [])
    assert len(store.records("api_settings").get("token_secret")["hex"]) == 64
