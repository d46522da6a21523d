"""``soc run --api`` (health, metrics, search, count) and ``soc status``.

(These test soc_api/app.py and soc_api/commands/{run,status}.py, owned by the ingest
work; they live here until the lead moves them under tests/soc_api.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from ingest.metrics import Metrics
from ingest.queue import DurableQueue
from ingest.service import METRICS_FILE, Service
from soc_api.app import build_app
from soc_api.commands._common import make_parser
from soc_api.commands.run import split_address
from soc_api.commands.status import command as status_command
from soc_api.commands.status import summarise
from soc_store.sqlite import SqliteStore
from tests.soc_store.sample import sample_events

KEY = "api-key-1"


def call(app: Any, method: str, url: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.request(method, url, **kw)

    return asyncio.run(go())


@pytest.fixture
def app(tmp_path: Path) -> Any:
    store = SqliteStore(tmp_path / "store.db")
    store.write(sample_events())
    service = Service([], DurableQueue(tmp_path / "q.db"), lambda: store, make_parser)
    yield build_app(service, store, [KEY])
    store.close()


def test_health_and_metrics_are_open(app: Any) -> None:
    r = call(app, "GET", "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["queue_depth"] == 0
    r = call(app, "GET", "/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "soc_queue_depth 0" in r.text


def test_search_and_count_need_a_key(app: Any) -> None:
    assert call(app, "GET", "/api/v1/events/search").status_code == 401
    assert call(app, "GET", "/api/v1/events/count", headers={"X-API-Key": "wrong"}).status_code == 401
    r = call(app, "GET", "/api/v1/events/search", params={"q": "user.name:alice", "limit": 2},
             headers={"X-API-Key": KEY})
    assert r.status_code == 200
    assert [e["user"]["name"] for e in r.json()["documents"]] == ["alice", "alice"]
    assert r.json()["cursor"] is not None
    want = sum(1 for e in sample_events() if e.get("user", {}).get("name") == "alice" and e["event"]["kind"] == "event")
    r = call(app, "GET", "/api/v1/events/count", params={"q": "user.name:alice"},
             headers={"Authorization": f"Bearer {KEY}"})
    assert r.json() == {"count": want}


def test_a_bad_query_is_400_with_the_column(app: Any) -> None:
    r = call(app, "GET", "/api/v1/events/search", params={"q": "user.name:(alice"}, headers={"X-API-Key": KEY})
    assert r.status_code == 400 and r.json()["error"]["details"]["column"] >= 1


def test_status_summarises_the_metrics_file(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.declare("soc_receiver_received_total", "counter", "x")
    metrics.declare("soc_receiver_dropped_total", "counter", "x")
    metrics.declare("soc_queue_depth", "gauge", "x", lambda: {(): 12.0})
    metrics.inc("soc_receiver_received_total", 10, receiver="syslog+udp://0.0.0.0:514")
    metrics.inc("soc_receiver_dropped_total", 4, receiver="syslog+udp://0.0.0.0:514", reason="queue_full")
    (tmp_path / METRICS_FILE).write_text(metrics.render())
    lines = summarise(metrics.render())
    assert lines[0] == "queue: depth=12 lag=0.0s"
    assert "receiver syslog+udp://0.0.0.0:514: received=10 queued=0 dropped=4" in lines[1]
    result = CliRunner().invoke(status_command, ["--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "dropped=4" in result.output
    result = CliRunner().invoke(status_command, ["--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no " in result.output


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:5514", ("127.0.0.1", 5514, None)),
    (":514=fortinet.firewall", ("0.0.0.0", 514, "fortinet.firewall")),
    ("[::1]:6514=system.syslog", ("::1", 6514, "system.syslog")),
])
def test_addresses_name_host_port_and_parser(text: str, expected: tuple[str, int, str | None]) -> None:
    assert split_address(text) == expected


@pytest.mark.parametrize("text", ["localhost", "127.0.0.1:http", "127.0.0.1:70000"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter):
        split_address(text)
