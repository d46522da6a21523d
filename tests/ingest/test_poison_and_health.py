"""Issue #21: a document a store refuses costs only itself (items 1), background tasks
survive their errors (item 7), and ``/health`` tells the truth (item 15).

``RefusingStore`` wraps a real :class:`SqliteStore` and raises on batches that hold a
chosen document: a fault injected around the real store (as ``fault_proxy`` does for
Elasticsearch), because a store that raises on one document is exactly the bug being
guarded against and no store here does it on purpose any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.health import ServiceHealth
from ingest.metrics import parse_text
from ingest.pipeline import Pipeline
from ingest.queue import DurableQueue
from ingest.receivers.http import HttpReceiver
from ingest.receivers.syslog_tcp import SyslogTcpReceiver
from ingest.service import METRICS_FILE, Service, ServiceOptions
from parsers.base import BaseParser
from soc_api.app import build_app
from soc_api.commands._common import make_parser
from soc_api.commands.status import summarise
from soc_core.clock import FrozenClock
from soc_core.contracts import WriteResult
from soc_core.errors import StoreError
from soc_core.event import Event, RawEvent
from soc_core.query import MatchAll, parse_query
from soc_store.sqlite import SqliteStore
from tests.ingest.receivers.helpers import wait_until
from tests.ingest.test_service import send

POISON = b'{"winlog":{"event_id":4624,"channel":"Security"},"source":{"ip":18446744073709551615}}'


class RefusingStore(SqliteStore):
    """A real SQLite store that raises ``error`` on any batch holding a document whose
    message contains ``marker`` (see the module docstring); ``calls`` counts writes."""

    def __init__(self, path: Path, error: type[Exception], marker: str = "poison", everything: bool = False) -> None:
        super().__init__(path)
        self.error, self.marker, self.everything = error, marker, everything
        self.calls = 0

    def write(self, events: Sequence[Event]) -> WriteResult:
        self.calls += 1
        if self.everything or any(self.marker in str(e.get("message", "")) for e in events):
            raise self.error("refused: Python int too large to convert to SQLite INTEGER")
        return super().write(events)


class MessageParser(BaseParser):
    id = "test.message"

    def parse(self, raw: RawEvent) -> Event:
        event = self.new_event(raw)
        event["message"] = raw.message
        return event


def _raws(lines: list[str], clock: FrozenClock) -> list[RawEvent]:
    return [RawEvent.from_bytes(line.encode(), "/t/p.log", clock.now(), offset=i * 10) for i, line in enumerate(lines)]


def _lines(count: int, poison_at: Sequence[int]) -> list[str]:
    return [f"poison {i}" if i in poison_at else f"good {i}" for i in range(count)]


def test_a_document_that_makes_the_store_raise_costs_only_itself(tmp_path: Path, clock: FrozenClock) -> None:
    store = RefusingStore(tmp_path / "s.db", OverflowError)
    pipeline = Pipeline(MessageParser(), store, clock=clock, batch_size=64)
    stats = pipeline.run(_raws(_lines(100, (3, 70)), clock))
    assert store.count("events", MatchAll()) == 98
    letters = store.search("dead_letters", MatchAll(), limit=10).events
    assert sorted(d["event"]["original"] for d in letters) == ["poison 3", "poison 70"]
    assert all(d["error"]["message"].startswith("store refused the document: OverflowError: refused")
               for d in letters)
    assert stats.stored == 100 and stats.store_failures == 2
    store.close()


def test_a_store_error_propagates_until_the_caller_asks_to_isolate(tmp_path: Path, clock: FrozenClock) -> None:
    store = RefusingStore(tmp_path / "s.db", StoreError)
    pipeline = Pipeline(MessageParser(), store, clock=clock)
    documents = pipeline.process_batch(_raws(_lines(40, (17,)), clock))
    with pytest.raises(StoreError):
        pipeline.write(documents)  # possibly transient: the worker retries with back-off
    assert store.count("events", MatchAll()) == 0
    pipeline.write(documents, isolate=True)
    assert store.count("events", MatchAll()) == 39
    assert [d["event"]["original"] for d in store.search("dead_letters", MatchAll()).events] == ["poison 17"]
    store.close()


def test_isolation_under_a_total_outage_gives_up_after_a_few_writes(tmp_path: Path, clock: FrozenClock) -> None:
    store = RefusingStore(tmp_path / "s.db", StoreError, everything=True)
    pipeline = Pipeline(MessageParser(), store, clock=clock)
    documents = pipeline.process_batch(_raws(_lines(2000, ()), clock))
    with pytest.raises(StoreError, match="dead letters could not be stored"):
        pipeline.write(documents, isolate=True)
    # Depth-first bisection: one failed write per level, then the lone document's dead
    # letter fails too, and the outage is reported instead of 2,000 dead letters.
    assert store.calls <= 13
    store.close()


def _service(tmp_path: Path, store_factory: Any, receiver: SyslogTcpReceiver, **options: Any) -> Service:
    return Service([receiver], DurableQueue(tmp_path / "q.db"), store_factory, make_parser, data_dir=tmp_path,
                   options=ServiceOptions(batch_size=50, metrics_interval_secs=0.05, **options))


def test_the_poison_line_over_tcp_is_stored_and_the_pipeline_goes_on(tmp_path: Path) -> None:
    """The issue's line: today the embedded store raises OverflowError on every retry of
    its batch, and nothing is ever stored again."""
    receiver = SyslogTcpReceiver("127.0.0.1", 0)
    store_path = tmp_path / "store.db"
    service = _service(tmp_path, lambda: SqliteStore(store_path), receiver)
    reader = SqliteStore(store_path)
    good = [f'{{"winlog":{{"event_id":4625,"channel":"Security"}},"source":{{"ip":"10.0.0.{i}"}}}}'.encode()
            for i in range(20)]

    async def scenario() -> None:
        await service.start()
        assert receiver.bound_port
        await send(receiver.bound_port, b"\n".join([*good[:10], POISON, *good[10:]]) + b"\n")
        await wait_until(lambda: reader.count("events", MatchAll()) + reader.count("dead_letters", MatchAll()) == 21)
        await send(receiver.bound_port, b"after the poison\n")
        await wait_until(lambda: reader.count("dead_letters", MatchAll()) + reader.count("events", MatchAll()) == 22)
        assert service.problems() == []
        await service.stop()

    asyncio.run(scenario())
    hit = reader.search("events", parse_query("source.ip:18446744073709551615")).events
    assert len(hit) == 1 and hit[0]["soc"]["sanitized"] == ["source.ip"]
    assert service.metrics.value("soc_worker_store_errors_total") == 0
    reader.close()


def test_the_poison_line_over_http_is_stored_and_the_pipeline_goes_on(tmp_path: Path) -> None:
    """The same line over HTTP was answered 200 and then stalled the worker for good."""
    receiver = HttpReceiver("127.0.0.1", 0, ["k"])
    store_path = tmp_path / "store.db"
    service = Service([receiver], DurableQueue(tmp_path / "q.db"), lambda: SqliteStore(store_path), make_parser,
                      options=ServiceOptions(batch_size=50))
    reader = SqliteStore(store_path)

    async def scenario() -> None:
        await service.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{receiver.bound_port}", timeout=10) as client:
            for body in (POISON + b"\n" + b'{"message": "next"}\n', b'{"message": "after"}\n'):
                response = await client.post("/ingest", content=body, headers={"X-API-Key": "k"})
                assert response.status_code == 200
        await wait_until(lambda: reader.count("events", MatchAll()) + reader.count("dead_letters", MatchAll()) == 3)
        await service.stop()

    asyncio.run(scenario())
    assert reader.count("events", parse_query("source.ip:18446744073709551615")) == 1
    reader.close()


def test_a_batch_the_store_keeps_refusing_is_isolated_after_bounded_retries(tmp_path: Path) -> None:
    receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="system.syslog")
    store_path = tmp_path / "store.db"
    service = _service(tmp_path, lambda: RefusingStore(store_path, StoreError), receiver,
                       store_attempts_before_isolating=2)
    reader = SqliteStore(store_path)
    lines = [f"<38>Nov 22 12:00:01 web1 app[1]: {'poison' if i == 7 else 'fine'} line {i}".encode()
             for i in range(30)]
    seen_degraded: list[str] = []

    async def scenario() -> None:
        await service.start()
        assert receiver.bound_port
        await send(receiver.bound_port, b"\n".join(lines) + b"\n")

        def settled() -> bool:
            seen_degraded.extend(service.problems())
            return reader.count("dead_letters", MatchAll()) == 1 and reader.count("events", MatchAll()) == 29
        await wait_until(settled, timeout_secs=30)
        await wait_until(lambda: service.problems() == [])
        await service.stop()

    asyncio.run(scenario())
    assert any(p.startswith("storage failing: ") for p in seen_degraded)
    letter = reader.search("dead_letters", MatchAll()).events[0]
    assert "poison line 7" in letter["event"]["original"]
    assert "StoreError: refused" in letter["error"]["message"]
    assert service.metrics.value("soc_worker_store_errors_total") == 2
    assert service.queue.depth == 0
    reader.close()


def test_the_metrics_file_writer_survives_a_failed_write_and_health_says_so(tmp_path: Path) -> None:
    """Item 7: today one failed write ends the task and the file stays stale for good."""
    receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="system.syslog")
    store_path = tmp_path / "store.db"
    service = _service(tmp_path, lambda: SqliteStore(store_path), receiver)
    blocker = tmp_path / "metrics.tmp"
    reader = SqliteStore(store_path)

    async def scenario() -> None:
        await service.start()
        assert receiver.bound_port
        await wait_until(lambda: (tmp_path / METRICS_FILE).exists())
        blocker.mkdir()  # the writer's temporary file cannot be created now
        await wait_until(lambda: any("metrics_file" in p for p in service.problems()))
        await send(receiver.bound_port, b"<38>Nov 22 12:00:01 web1 app[1]: one\n")
        await wait_until(lambda: reader.count("events", MatchAll()) == 1)
        blocker.rmdir()

        def updated() -> bool:
            text = (tmp_path / METRICS_FILE).read_text()
            return parse_text(text)["soc_pipeline_events_total"].get((("outcome", "stored"),)) == 1
        await wait_until(updated)
        await wait_until(lambda: service.problems() == [])
        await service.stop()

    asyncio.run(scenario())
    assert service.metrics.value("soc_background_errors_total", task="metrics_file") >= 1
    reader.close()


def test_health_is_503_with_the_reason_while_the_store_fails(tmp_path: Path) -> None:
    store_path = tmp_path / "store.db"
    failing = RefusingStore(store_path, StoreError, everything=True)
    receiver = SyslogTcpReceiver("127.0.0.1", 0, parser="system.syslog")
    service = _service(tmp_path, lambda: failing, receiver)
    api_store = SqliteStore(store_path)
    app = build_app(service, api_store, ["k"])

    async def scenario() -> httpx.Response:
        await service.start()
        assert receiver.bound_port
        healthy = await get_health()
        assert (healthy.status_code, healthy.json()["status"]) == (200, "ok")
        await send(receiver.bound_port, b"<38>Nov 22 12:00:01 web1 app[1]: one\n")
        await wait_until(lambda: bool(service.problems()))
        # The metrics file carries the reasons too, for soc status without the API.
        await wait_until(lambda: "storage failing" in (tmp_path / METRICS_FILE).read_text())
        shown = summarise((tmp_path / METRICS_FILE).read_text())
        assert "health: suy giảm / degraded" in shown
        assert any(line.startswith("  storage failing: ") for line in shown)
        try:
            return await get_health()
        finally:
            await service.stop()

    async def get_health() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get("/health")

    response = asyncio.run(scenario())
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert any(r.startswith("storage failing: ") and "StoreError" in r for r in body["reasons"])
    api_store.close()


def test_health_reports_a_stuck_queue_and_recovery() -> None:
    now = [1000.0]
    health = ServiceHealth(stuck_after_secs=60, monotonic=lambda: now[0])
    assert health.problems(queue_depth=5) == []
    now[0] += 61
    assert health.problems(queue_depth=0) == []
    assert health.problems(queue_depth=5) == ["queue stuck: 5 events waiting, nothing stored for 61 s"]
    health.progressed()
    assert health.problems(queue_depth=5) == []
    health.task_failed("retention", "OSError: disk")
    health.task_failed("retention", "OSError: disk")
    assert health.problems(queue_depth=0) == ["background task retention failing (2 times since 0 s): OSError: disk"]
    health.task_ok("retention")
    assert health.problems(queue_depth=0) == []
