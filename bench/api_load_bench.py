"""Benchmark: the SOC API under load — the incident queue, an incident's detail and a one-day search.

Fills an embedded (SQLite) store with N events over ten days and M incidents, starts the API in
its own process (uvicorn on 127.0.0.1, real HTTP), logs in, and runs C concurrent clients for a
fixed time per request kind. Prints requests per second and p50/p99 latency for each kind.

    .venv/bin/python bench/api_load_bench.py                       # the issue's 1,000,000 / 10,000 / 50
    .venv/bin/python bench/api_load_bench.py --events 200000 --incidents 10000 --seconds 10

The issue's goal: p99 under 100 ms for the queue and for a one-day search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soc_core.contracts import Record  # noqa: E402 - after the path fix above

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 10
USERS = 500
PASSWORD = "benchmark password 1"
TACTICS = ["initial-access", "credential-access", "discovery", "lateral-movement", "exfiltration"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_event(n: int, rng: random.Random) -> dict[str, Any]:
    at = START + timedelta(seconds=rng.randrange(DAYS * 86400))
    user = f"user{rng.randrange(USERS)}"
    return {"@timestamp": iso(at), "event": {"id": f"ev-{n:09d}", "kind": "event", "dataset": "system.auth",
                                             "action": rng.choice(["login", "logout", "sudo"])},
            "user": {"name": user}, "source": {"ip": f"10.{n % 250}.{(n // 250) % 250}.{n % 200 + 1}"},
            "host": {"name": f"web{n % 50}"}, "message": f"session for {user}"}


def make_incident(n: int, rng: random.Random) -> Record:
    first = START + timedelta(seconds=rng.randrange(DAYS * 86400))
    alerts = [f"al-{n:06d}-{k}" for k in range(rng.randint(1, 8))]
    return {"id": f"INC-{n:016x}", "title": f"Brute force from 10.0.{n % 250}.{n % 200}",
            "status": rng.choice(["new", "new", "triaged", "in_progress", "resolved"]),
            "severity": rng.choice(["low", "medium", "high", "critical"]), "severity_score": rng.random() * 100,
            "assignee": rng.choice([None, "an", "binh", "chi"]), "created": iso(first), "updated": iso(first),
            "first_seen": iso(first), "last_seen": iso(first + timedelta(minutes=30)), "alert_ids": alerts,
            "rule_ids": ["ssh-brute-force"], "tags": ["attack.t1110"], "tactics": rng.sample(TACTICS, 2),
            "techniques": ["T1110"], "entities": {"source.ip": [f"10.0.{n % 250}.{n % 200}"],
                                                 "host.name": [f"web{n % 50}"]},
            "members": [{"alert_id": a, "rule_id": "ssh-brute-force", "rule_name": "SSH brute force",
                         "timestamp": iso(first), "reason": None} for a in alerts],
            "timeline": [{"ts": iso(first), "actor": "system:grouping", "kind": "created", "text": "created"}],
            "comments": [], "evidence": [], "merged_into": None, "split_from": None, "asset_criticality": 1}


def fill(path: Path, events: int, incidents: int) -> list[str]:
    from argon2 import PasswordHasher

    from soc_api.accounts import Accounts
    from soc_store.sqlite import SqliteStore

    rng = random.Random(7)
    store = SqliteStore(path)
    began = time.perf_counter()
    for start in range(0, events, 20_000):
        store.write([make_event(n, rng) for n in range(start, min(events, start + 20_000))])
    repo = store.records("incidents")
    ids = []
    for n in range(incidents):
        ids.append(repo.put(make_incident(n, rng), None)["id"])
    Accounts(store, hasher=PasswordHasher()).add_user("bench", "analyst", PASSWORD, "bench")
    store.close()
    print(f"filled {events:,} events and {incidents:,} incidents in {time.perf_counter() - began:.0f} s",
          flush=True)
    return ids


def serve(store_path: str) -> None:
    """The API process: uvicorn on 127.0.0.1 with an ephemeral port, printed on stdout."""
    from ingest.queue import DurableQueue
    from ingest.service import Service
    from soc_api.app import serve_api
    from soc_api.commands._common import make_parser
    from soc_store.sqlite import SqliteStore

    async def main() -> None:
        service = Service([], DurableQueue(Path(store_path).with_suffix(".queue")),
                          lambda: SqliteStore(store_path), make_parser)
        _, port, task = await serve_api(service, "127.0.0.1", 0, [], lambda: SqliteStore(store_path))
        print(json.dumps({"port": port}), flush=True)
        await task

    asyncio.run(main())


async def load(base: str, token: str, kind: str, ids: list[str], clients: int, seconds: float) -> list[float]:
    rng = random.Random(kind)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    def url() -> str:
        if kind == "queue":
            return "/api/v1/incidents?status=new&limit=50"
        if kind == "detail":
            return f"/api/v1/incidents/{rng.choice(ids)}"
        day = START + timedelta(days=rng.randrange(DAYS))
        return (f"/api/v1/events/search?q=user.name:user{rng.randrange(USERS)}&limit=100"
                f"&start={iso(day)}&end={iso(day + timedelta(days=1))}")

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=60) as client:
        async def worker() -> None:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                answer = await client.get(url())
                if answer.status_code != 200:
                    raise SystemExit(f"{kind}: {answer.status_code} {answer.text[:200]}")
                latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="Load time per request kind.")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "store.db"
        ids = fill(store_path, args.events, args.incidents)
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(store_path)], stdout=subprocess.PIPE,
                                text=True, cwd=ROOT)
        try:
            assert proc.stdout is not None
            base = f"http://127.0.0.1:{json.loads(proc.stdout.readline())['port']}"
            token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "bench", "password": PASSWORD},
                               timeout=30).json()["token"]
            print(f"{args.clients} clients, {args.seconds:.0f} s per kind, API in its own process on 127.0.0.1")
            for kind in ("queue", "detail", "search-1-day"):
                began = time.perf_counter()
                latencies = asyncio.run(load(base, token, kind, ids, args.clients, args.seconds))
                elapsed = time.perf_counter() - began
                cuts = statistics.quantiles(latencies, n=100)
                print(f"{kind:13} {len(latencies) / elapsed:8.1f} req/s   p50 {cuts[49] * 1000:7.1f} ms   "
                      f"p99 {cuts[98] * 1000:7.1f} ms   ({len(latencies)} requests)", flush=True)
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
