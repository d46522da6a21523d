"""A deterministic set of events for store tests, type-consistent per field (as an
Elasticsearch mapping requires), with lists, missing fields and text to search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from soc_core.event import Event, format_timestamp

BASE = datetime(2026, 1, 1, tzinfo=UTC)
USERS = ["alice", "bob", "carol", "dave"]
WORDS = ["failed", "password", "accepted", "session", "opened", "closed", "root", "invalid"]


def sample_events(n: int = 60) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        event: Event = {
            "@timestamp": format_timestamp(BASE + timedelta(minutes=7 * i)),
            "event": {
                "id": f"evt-{i:04d}",
                "kind": ["event", "event", "event", "alert", "pipeline_error"][i % 5],
                "dataset": ["system.auth", "iptables.log", "nginx.access"][i % 3],
                "severity": i % 7,
            },
            "message": " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 3)),
            "labels": {"env": "prod" if i % 4 else "test"},
        }
        if i % 2 == 0:
            event["source"] = {"ip": f"10.0.{i % 3}.{i}", "port": 1000 + i * 37}
        if i % 3 == 0:
            event["user"] = {"name": USERS[i % 4]}
        if i % 5 == 1:
            event["tags"] = ["forwarded", f"t{i % 3}"]
        if i % 6 == 2:
            event["related"] = {"ip": [f"192.168.1.{i}", "172.16.0.1"]}
        events.append(event)
    return events
