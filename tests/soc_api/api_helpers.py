"""Shared by the API tests: an app over a real SQLite store with one user per role, and a client.

Requests go through ``httpx.AsyncClient(transport=ASGITransport(app))`` (Starlette's TestClient
warns under ``-W error``); the clock is frozen so token expiry and lockout are deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from ingest.queue import DurableQueue
from ingest.service import Service
from soc_api.accounts import ROLES, Accounts
from soc_api.app import ApiSettings, build_app
from soc_api.commands._common import make_parser
from soc_core.clock import FrozenClock
from soc_store.sqlite import SqliteStore
from tests.soc_store.sample import sample_events

NOW = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
STATIC_KEY = "static-service-key-1"
T = TypeVar("T")
# Still argon2id, at a cost that keeps the suite fast (production uses the library's defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Api:
    """An app, its store and clock, and a bearer token per role (user NAME = role name)."""

    app: FastAPI
    store: SqliteStore
    clock: FrozenClock
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, method: str, url: str, role: str | None = None, **kw: Any) -> httpx.Response:
        headers = {**(self.auth(role) if role else {}), **kw.pop("headers", {})}
        return run(lambda c: c.request(method, url, headers=headers, **kw), self.app)


def run(scenario: Callable[[httpx.AsyncClient], Awaitable[T]], app: FastAPI) -> T:
    """Run one async scenario with a client of ``app``."""
    async def go() -> T:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await scenario(client)

    return asyncio.run(go())


def make_api(tmp_path: Path, settings: ApiSettings | None = None, events: bool = True) -> Api:
    """A fresh app with sample events and one user per role, each already logged in."""
    clock = FrozenClock(NOW)
    store = SqliteStore(tmp_path / "store.db")
    if events:
        store.write(sample_events())
    accounts = Accounts(store, clock, FAST_HASHER)
    for role in ROLES:
        accounts.add_user(role, role, PASSWORD, "test:setup")
    service = Service([], DurableQueue(tmp_path / "queue.db"), lambda: store, make_parser)
    settings = settings or ApiSettings()
    settings.clock = clock
    settings.password_hasher = FAST_HASHER
    app = build_app(service, store, [STATIC_KEY], settings)
    tokens = {}
    for role in ROLES:
        answer = run(lambda c, r=role: c.post("/api/v1/auth/login", json={"username": r, "password": PASSWORD}),
                     app)
        assert answer.status_code == 200, answer.text
        tokens[role] = answer.json()["token"]
    return Api(app, store, clock, tokens)
