"""HTTP input against a real uvicorn socket: API keys, NDJSON and arrays, gzip, the
size limit, malformed lines (good lines kept) and 503 when the queue is full."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest.queue import DurableQueue
from ingest.receivers.http import HttpReceiver, split_entries
from soc_core.errors import ConfigError
from tests.ingest.receivers.helpers import drain, new_queue

KEY = "k-test-1"
Scenario = Callable[[httpx.AsyncClient], Awaitable[None]]


def serve(queue: DurableQueue, scenario: Scenario, **options: Any) -> None:
    async def main() -> None:
        receiver = HttpReceiver("127.0.0.1", 0, [KEY, "other-key"], parser="ecs.json", **options)
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{receiver.bound_port}", timeout=10) as client:
                await scenario(client)
        finally:
            await receiver.stop()
            await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_ndjson_and_array_bodies_are_queued_before_the_200(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=b'{"a": 1}\n\n{"b": 2}\n', headers={"X-API-Key": KEY})
        assert (r.status_code, r.json()) == (200, {"accepted": 2})
        assert queue.depth == 2  # queued when the answer came
        r = await client.post("/ingest", content=b'[{"c": 3}, {"d": 4}]',
                              headers={"Authorization": f"ApiKey {KEY}"})
        assert (r.status_code, r.json()) == (200, {"accepted": 2})
        body = gzip.compress(b'{"e": 5}\n')
        r = await client.post("/ingest", content=body,
                              headers={"Authorization": "Bearer other-key", "Content-Encoding": "gzip"})
        assert (r.status_code, r.json()) == (200, {"accepted": 1})

    serve(queue, scenario)
    events = drain(queue)
    assert [orjson.loads(e.data) for e in events] == [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}, {"e": 5}]
    assert all(e.source == "http://127.0.0.1" and e.extra["parser"] == "ecs.json" for e in events)
    queue.close()


def test_wrong_or_missing_key_is_401_and_queues_nothing(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    async def scenario(client: httpx.AsyncClient) -> None:
        for headers in ({}, {"X-API-Key": "nope"}, {"Authorization": "ApiKey wrong"}, {"Authorization": KEY}):
            r = await client.post("/ingest", content=b'{"a": 1}', headers=headers)
            assert r.status_code == 401

    serve(queue, scenario)
    assert queue.depth == 0
    queue.close()


def test_malformed_lines_are_400_with_line_numbers_and_good_lines_kept(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    async def scenario(client: httpx.AsyncClient) -> None:
        body = b'{"ok": 1}\n{broken\n{"ok": 2}\n[1, 2]\n"text"\n{"ok": 3}'
        r = await client.post("/ingest", content=body, headers={"X-API-Key": KEY})
        assert r.status_code == 400
        answer = r.json()
        assert answer["accepted"] == 3 and answer["error_count"] == 3
        assert [e["line"] for e in answer["errors"]] == [2, 4, 5]
        r = await client.post("/ingest", content=b'[{"x": 1}, {"y": ', headers={"X-API-Key": KEY})
        assert r.status_code == 400 and r.json()["accepted"] == 0

    serve(queue, scenario)
    assert [orjson.loads(e.data) for e in drain(queue)] == [{"ok": 1}, {"ok": 2}, {"ok": 3}]
    queue.close()


def test_size_limits_are_413_for_the_body_and_for_a_gzip_bomb(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)

    async def scenario(client: httpx.AsyncClient) -> None:
        big = b'{"a": "' + b"x" * 5000 + b'"}\n'
        r = await client.post("/ingest", content=big, headers={"X-API-Key": KEY})
        assert r.status_code == 413

        async def chunked() -> object:  # no Content-Length: the limit applies while reading
            for _ in range(10):
                yield b'{"a": "' + b"y" * 900 + b'"}\n'

        r = await client.post("/ingest", content=chunked(), headers={"X-API-Key": KEY})  # type: ignore[arg-type]
        assert r.status_code == 413
        bomb = gzip.compress(b'{"a": "' + b"z" * 200_000 + b'"}\n')
        assert len(bomb) < 4096
        r = await client.post("/ingest", content=bomb, headers={"X-API-Key": KEY, "Content-Encoding": "gzip"})
        assert r.status_code == 413
        r = await client.post("/ingest", content=b"\x1f\x8bnot gzip", headers={"X-API-Key": KEY,
                                                                             "Content-Encoding": "gzip"})
        assert r.status_code == 400

    serve(queue, scenario, max_body_bytes=4096, max_decompressed_bytes=100_000)
    assert queue.depth == 0
    queue.close()


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    queue = new_queue(tmp_path, max_events=2)

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=b'{"a": 1}\n{"a": 2}\n', headers={"X-API-Key": KEY})
        assert r.status_code == 200
        r = await client.post("/ingest", content=b'{"a": 3}\n', headers={"X-API-Key": KEY})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        batch = queue.read(10)
        assert batch is not None
        queue.ack(batch.last_seq)
        r = await client.post("/ingest", content=b'{"a": 3}\n', headers={"X-API-Key": KEY})
        assert r.status_code == 200

    serve(queue, scenario, queue_wait_secs=0.2)
    assert [orjson.loads(e.data) for e in drain(queue)] == [{"a": 3}]
    queue.close()


def test_no_api_key_configured_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="API key"):
        HttpReceiver("127.0.0.1", 0, [])


def test_re_serialised_entries_are_stable_across_whitespace() -> None:
    a, _ = split_entries(b'{"k": 1,   "v": "x"}\n')
    b, _ = split_entries(b'[ {"k":1,"v":"x"} ]')
    assert a == b == [b'{"k":1,"v":"x"}']
