"""Hostile HTTP input (issue 21, items 2, 3, 4, 9, 14) against a real uvicorn socket and
a real durable queue: entry bombs, deep nesting, multi-member gzip, connection caps,
slow or lying requests, and the fair line when the queue is full."""

from __future__ import annotations

import asyncio
import gzip
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from ingest.receivers._base import deliver_waiting
from ingest.receivers.http import HttpReceiver, iter_decoded
from soc_core.event import RawEvent
from tests.ingest.receivers.helpers import drain, new_queue, wait_until
from tests.ingest.receivers.test_http import KEY, Scenario, serve


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_a_small_gzip_holding_too_many_entries_is_413_with_nothing_queued(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    bomb = gzip.compress(b"{}\n" * 300_000)  # ~1 KB on the wire

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=bomb, headers={"X-API-Key": KEY, "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "lines" in r.json()["error"]

    serve(queue, scenario, max_entries=100_000)
    assert queue.depth == 0
    queue.close()


def test_entries_are_queued_in_bounded_batches_within_the_queue_limit(tmp_path: Path) -> None:
    """Old code queued all 20,000 entries in one batch, far past the queue's limit."""
    queue = new_queue(tmp_path, max_events=3000)
    body = gzip.compress(b"".join(b'{"n":%d}\n' % i for i in range(20_000)))

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=body, headers={"X-API-Key": KEY, "Content-Encoding": "gzip"})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        accepted = r.json()["accepted"]
        assert 3000 <= accepted <= 4000 and accepted % 1000 == 0
        assert queue.depth == accepted  # the queue stopped at its limit (plus one batch)

    serve(queue, scenario, queue_wait_secs=0.3)
    assert [orjson.loads(e.data)["n"] for e in drain(queue)][:3] == [0, 1, 2]
    queue.close()


def test_deep_nesting_is_a_line_error_and_the_good_lines_are_queued(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    body = b"\n".join([b'{"ok":1}', nested(300), nested(1100), nested(254), nested(600), nested(1024),
                       b'{"ok":2}'])

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=body, headers={"X-API-Key": KEY})
        assert r.status_code == 400
        answer = r.json()
        assert answer["accepted"] == 3
        assert [e["line"] for e in answer["errors"]] == [2, 3, 5, 6]
        assert "nested too deeply" in answer["errors"][0]["error"]
        r = await client.post("/ingest", content=b"[" + nested(600) + b', {"ok":3}]', headers={"X-API-Key": KEY})
        assert r.status_code == 400 and r.json()["accepted"] == 1

    serve(queue, scenario)
    kept = [orjson.loads(e.data) for e in drain(queue)]
    assert kept[0] == {"ok": 1} and kept[2] == {"ok": 2} and kept[3] == {"ok": 3}
    queue.close()


def test_every_gzip_member_is_decoded_and_trailing_garbage_refused(tmp_path: Path) -> None:
    queue = new_queue(tmp_path)
    two_members = gzip.compress(b'{"m":1}\n') + gzip.compress(b'{"m":2}\n{"m":3}\n')
    headers = {"X-API-Key": KEY, "Content-Encoding": "gzip"}

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/ingest", content=two_members, headers=headers)
        assert (r.status_code, r.json()) == (200, {"accepted": 3})
        r = await client.post("/ingest", content=two_members + b"\x00" * 16, headers=headers)  # padding is fine
        assert r.status_code == 200
        for bad in (two_members + b"garbage", two_members[:-5], gzip.compress(b'{"m":4}\n') + b"\x1f\x8bxx"):
            r = await client.post("/ingest", content=bad, headers=headers)
            assert r.status_code == 400, bad
        assert queue.depth == 6  # the refused bodies queued nothing

    serve(queue, scenario)
    assert [orjson.loads(e.data) for e in drain(queue)] == [{"m": 1}, {"m": 2}, {"m": 3}] * 2
    queue.close()


def test_large_bodies_are_decoded_in_bounded_pieces() -> None:
    data = b'{"x":"' + b"y" * 3_000_000 + b'"}\n'
    pieces = list(iter_decoded(gzip.compress(data) + gzip.compress(data), gzipped=True, chunk_bytes=1 << 20))
    assert max(len(p) for p in pieces) <= 1 << 20
    assert b"".join(pieces) == data + data


def raw_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


async def connect(client: httpx.AsyncClient) -> socket.socket:
    """A plain socket to the receiver the client talks to."""
    assert client.base_url.port is not None
    return await asyncio.to_thread(raw_connect, client.base_url.port)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def guarded_serve(tmp_path: Path, scenario: Scenario, **options: object) -> None:
    queue = new_queue(tmp_path)
    serve(queue, scenario, **options)
    queue.close()


def test_connections_over_the_per_address_cap_are_closed_at_once(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        held = [await connect(client) for _ in range(2)]
        extra = await connect(client)
        extra.settimeout(3)
        assert await asyncio.to_thread(closed_by_server, extra)
        for sock in held:
            sock.close()
        await asyncio.sleep(0.2)
        r = await client.post("/ingest", content=b'{"a":1}', headers={"X-API-Key": KEY})
        assert r.status_code == 200  # the cap is free again once they closed
        extra.close()

    guarded_serve(tmp_path, scenario, max_connections_per_address=2)


def test_partial_headers_and_idle_connections_time_out(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        idle, slow = await connect(client), await connect(client)
        slow.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-Key: ")  # slowloris: never finishes
        for sock in (idle, slow):
            sock.settimeout(5)
            assert await asyncio.to_thread(closed_by_server, sock)
            sock.close()

    guarded_serve(tmp_path, scenario, header_timeout_secs=0.3)


def test_a_lying_content_length_is_408(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        sock = await connect(client)
        sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode()
                     + b"\r\nContent-Length: 1000\r\n\r\n" + b'{"a":1}\n')
        sock.settimeout(5)
        answer = await asyncio.to_thread(sock.recv, 4096)
        assert answer.startswith(b"HTTP/1.1 408")
        sock.close()

    guarded_serve(tmp_path, scenario, body_timeout_secs=0.3)


def test_http_gets_its_share_of_a_queue_that_tcp_keeps_full(tmp_path: Path) -> None:
    """Item 14: eight producers of another receiver retry as fast as they can while a
    slow worker frees room; the HTTP sender must still get most requests through."""
    queue = new_queue(tmp_path, max_events=50)

    async def main() -> tuple[int, int]:
        receiver = HttpReceiver("127.0.0.1", 0, [KEY], queue_wait_secs=3.0)
        await receiver.start(queue)
        task = asyncio.create_task(receiver.run(queue))
        stop = asyncio.Event()
        async def tcp_producer(n: int) -> None:
            i = 0
            while not stop.is_set():
                raw = RawEvent.from_bytes(b"tcp %d %d" % (n, i), "syslog+tcp://10.0.0.9", datetime.now(UTC),
                                          receiver="tcp")
                await deliver_waiting(queue, [raw] * 10, "tcp", receiver.metrics, stop)
                i += 1

        async def worker() -> None:
            while not stop.is_set():
                batch = queue.read(10)
                if batch is not None:
                    queue.ack(batch.last_seq)
                await asyncio.sleep(0.02)

        producers = [asyncio.create_task(tcp_producer(n)) for n in range(8)]
        drainer = asyncio.create_task(worker())
        await wait_until(lambda: queue.full)
        ok = refused = 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{receiver.bound_port}", timeout=10) as client:
            for i in range(10):
                r = await client.post("/ingest", content=b'{"h":%d}' % i, headers={"X-API-Key": KEY})
                ok += r.status_code == 200
                refused += r.status_code == 503
        stop.set()
        await asyncio.gather(*producers, drainer)
        await receiver.stop()
        await asyncio.wait_for(task, 10)
        return ok, refused

    ok, refused = asyncio.run(main())
    queue.close()
    assert ok >= 9, (ok, refused)


def test_bodies_in_flight_are_bounded_together(tmp_path: Path) -> None:
    """Item 10: each body is bounded, and so is their sum: a request that would pass the
    receiver's budget while others are held is a 503, not more memory."""
    async def scenario(client: httpx.AsyncClient) -> None:
        held = await connect(client)  # a body half sent and held open
        held.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode()
                     + b"\r\nContent-Length: 9000\r\n\r\n" + b" " * 6000)
        await asyncio.sleep(0.3)
        r = await client.post("/ingest", content=b'{"a":1}\n' + b" " * 6000, headers={"X-API-Key": KEY})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        held.sendall(b" " * 3000)
        held.settimeout(5)
        assert (await asyncio.to_thread(held.recv, 4096)).startswith(b"HTTP/1.1 200")
        held.close()
        r = await client.post("/ingest", content=b'{"a":1}\n' + b" " * 6000, headers={"X-API-Key": KEY})
        assert r.status_code == 200  # the budget is free again

    guarded_serve(tmp_path, scenario, max_inflight_body_bytes=10_000)
