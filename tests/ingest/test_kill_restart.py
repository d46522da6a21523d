"""End to end: ``soc run`` killed with SIGKILL in the middle of 100,000 syslog lines over
TCP and 10,000 events over HTTP, restarted, and every acknowledged event stored once.

What "acknowledged" means here (docs/ingest.md):
* HTTP: a 200 answer (sent only after the batch is durably queued);
* TCP: syslog has no acknowledgement, so each connection ends with a close handshake:
  the sender half-closes and waits for the server's orderly close (end-of-file), which
  comes only after the last line is queued; any other close, the kernel's after the kill
  included, is a reset. A connection cut by the kill is not acknowledged and is re-sent
  whole after the restart, as a sender with a retry would: the lines it had already
  queued then come again, and the deterministic event.id must keep them single.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ingest.queue import DurableQueue
from soc_core.contracts import COLLECTIONS
from soc_core.event import compute_event_id
from soc_core.query import MatchAll
from soc_store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
SOC = [sys.executable, "-c", "from soc_api.cli import main; main()"]
KEY = "kill-test-key"
TCP_LINES, TCP_CHUNK = 100_000, 5_000
HTTP_EVENTS, HTTP_CHUNK = 10_000, 500
DEADLINE_SECS = 400


def tcp_chunks() -> list[list[bytes]]:
    lines = [f"<13>Nov 22 12:00:00 host{i % 50} app[{i}]: kill test line {i}".encode() for i in range(TCP_LINES)]
    return [lines[i : i + TCP_CHUNK] for i in range(0, TCP_LINES, TCP_CHUNK)]


def http_chunks() -> list[list[bytes]]:
    events = [orjson.dumps({"message": f"http event {i}", "seq": i}) for i in range(HTTP_EVENTS)]
    return [events[i : i + HTTP_CHUNK] for i in range(0, HTTP_EVENTS, HTTP_CHUNK)]


@contextmanager
def soc_run(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """Start ``soc run``; yield the process and its ready line (ports)."""
    args = [*SOC, "run", "--syslog-tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api-key", KEY,
            "--data-dir", str(data_dir), "--parser", "system.syslog", "--batch-size", "2000"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once every receiver listens
        assert line, "soc run exited before it was ready"
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def port_of(ready: dict[str, Any], scheme: str) -> int:
    return int(next(v for k, v in ready["listening"].items() if k.startswith(scheme)))


class Senders:
    """Sends every chunk not yet acknowledged; stops a sender at its first error."""

    def __init__(self) -> None:
        self.tcp = tcp_chunks()
        self.http = http_chunks()
        self.tcp_acked: set[int] = set()
        self.http_acked: set[int] = set()

    def send_tcp(self, port: int) -> None:
        for n, chunk in enumerate(self.tcp):
            if n in self.tcp_acked:
                continue
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                    sock.sendall(b"".join(line + b"\n" for line in chunk))
                    sock.shutdown(socket.SHUT_WR)
                    if sock.recv(1) != b"":  # the server closes only once all is queued
                        return
            except OSError:
                return  # the server died: this chunk is not acknowledged
            self.tcp_acked.add(n)

    def send_http(self, port: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for n, chunk in enumerate(self.http):
                if n in self.http_acked:
                    continue
                try:
                    r = client.post("/ingest", content=b"\n".join(chunk), headers={"X-API-Key": KEY})
                except httpx.HTTPError:
                    return
                if r.status_code != 200:
                    return
                self.http_acked.add(n)

    def acked_ids(self) -> set[str]:
        ids = {compute_event_id("syslog+tcp://127.0.0.1", None, line) for n in self.tcp_acked for line in self.tcp[n]}
        ids |= {compute_event_id("http://127.0.0.1", None, e) for n in self.http_acked for e in self.http[n]}
        return ids


def stored_ids(store: SqliteStore) -> list[str]:
    ids: list[str] = []
    for collection in COLLECTIONS:
        cursor = None
        for _ in range(1000):
            page = store.search(collection, MatchAll(), limit=10_000, cursor=cursor)
            ids += [e["event"]["id"] for e in page.events]
            cursor = page.cursor
            if cursor is None:
                break
    return ids


def stored_count(store: SqliteStore) -> int:
    return sum(store.count(c, MatchAll()) for c in COLLECTIONS)


@pytest.mark.slow
def test_sigkill_in_the_middle_loses_and_duplicates_nothing_acknowledged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    senders = Senders()
    with soc_run(data_dir) as (proc, ready):
        threads = [threading.Thread(target=senders.send_tcp, args=(port_of(ready, "syslog+tcp"),)),
                   threading.Thread(target=senders.send_http, args=(port_of(ready, "http"),))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + DEADLINE_SECS
        while len(senders.tcp_acked) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        for t in threads:
            t.join(120)
    acked_before = senders.acked_ids()
    assert 6 <= len(senders.tcp_acked) < len(senders.tcp)

    # Every acknowledged event is in the store or still in the queue file.
    store = SqliteStore(data_dir / "store.db")
    queue = DurableQueue(data_dir / "queue.db")
    pending: set[str] = set()
    for _ in range(1000):
        batch = queue.read(10_000)
        if batch is None:
            break
        pending |= {raw.event_id for raw in batch.events}
    queue.close()
    before = set(stored_ids(store))
    assert acked_before <= before | pending
    print(f"at the kill: {len(before)} stored, {len(pending)} queued, {len(acked_before)} acknowledged")

    with soc_run(data_dir) as (proc, ready):
        threads = [threading.Thread(target=senders.send_tcp, args=(port_of(ready, "syslog+tcp"),)),
                   threading.Thread(target=senders.send_http, args=(port_of(ready, "http"),))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE_SECS)
        assert len(senders.tcp_acked) == len(senders.tcp) and len(senders.http_acked) == len(senders.http)
        total = TCP_LINES + HTTP_EVENTS
        deadline = time.monotonic() + DEADLINE_SECS
        while stored_count(store) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0  # graceful stop

    ids = stored_ids(store)
    store.close()
    assert len(ids) == len(set(ids)) == TCP_LINES + HTTP_EVENTS  # stored exactly once
    assert set(ids) == senders.acked_ids()
