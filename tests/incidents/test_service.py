"""The incident lifecycle on both stores: status rules, assignee, comments, evidence with SHA-256,
merge and split, conflicts refused, observers told, and every change in the audit trail."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.service import IncidentService
from soc_core.audit import AuditLog
from soc_core.clock import FrozenClock
from soc_core.contracts import Record, Store
from soc_core.errors import ConfigError, NotFound, VersionConflict
from tests.incidents.helpers import alert

CLOCK = FrozenClock(datetime(2026, 12, 2, tzinfo=UTC))


class Recorder:
    """An IncidentObserver that remembers what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def on_incident(self, incident: Record, change: str) -> None:
        self.seen.append((incident["id"], change, incident["version"]))


def opened(store: Store, observer: Recorder | None = None) -> tuple[IncidentService, Record]:
    service = IncidentService(store, clock=CLOCK, observers=[observer] if observer else [])
    service.ingest([alert("scan", 0, tactics=("reconnaissance",), source_ip="203.0.113.7"),
                    alert("sqli", 1, level=73, tactics=("initial-access",), source_ip="203.0.113.7"),
                    alert("login", 2, tactics=("initial-access",), source_ip="203.0.113.7", user_name="u")])
    (incident,) = store.records("incidents").list()
    return service, incident


def test_lifecycle_assign_comment_evidence_and_audit(store: Store, tmp_path: Path) -> None:
    recorder = Recorder()
    service, incident = opened(store, recorder)
    assert recorder.seen == [(incident["id"], "created", 1)]
    service.assign(incident["id"], "lan", "analyst:minh")
    service.set_status(incident["id"], "triaged", "analyst:lan")
    with pytest.raises(ConfigError, match="cannot go from triaged to new"):
        service.set_status(incident["id"], "new", "analyst:lan")
    service.set_status(incident["id"], "in_progress", "analyst:lan")
    service.comment(incident["id"], "blocked at the edge", "analyst:lan")
    pcap = tmp_path / "capture.txt"
    pcap.write_bytes(b"203.0.113.7 -> 10.0.0.5 SYN\n")
    service.add_evidence(incident["id"], "analyst:lan", path=str(pcap))
    done = service.add_evidence(incident["id"], "analyst:lan", text="whois: AS64500")
    assert done["evidence"][0]["sha256"] == hashlib.sha256(pcap.read_bytes()).hexdigest()
    assert done["evidence"][1]["sha256"] == hashlib.sha256(b"whois: AS64500").hexdigest()
    assert done["assignee"] == "lan" and done["status"] == "in_progress"
    assert [c["text"] for c in done["comments"]] == ["blocked at the edge"]
    assert [k for _, k, _ in recorder.seen] == ["created", "assigned", "status", "status", "commented",
                                                "evidence", "evidence"]
    actions = [e["action"] for e in AuditLog(store.records("audit")).entries()]
    assert actions == ["incident.create", "incident.assign", "incident.status", "incident.status",
                       "incident.comment", "incident.evidence", "incident.evidence"]
    assert AuditLog(store.records("audit")).verify() is None
    assert service.list({"assignee": "lan", "status": "in_progress"})[0]["id"] == incident["id"]


def test_a_stale_version_is_refused_not_lost(store: Store) -> None:
    service, incident = opened(store)
    service.assign(incident["id"], "lan", "analyst:minh", expected_version=incident["version"])
    with pytest.raises(VersionConflict):
        service.set_status(incident["id"], "resolved", "analyst:hoa", expected_version=incident["version"])
    current = service.get(incident["id"])
    assert current["assignee"] == "lan" and current["status"] == "new"


def test_grouping_after_an_analyst_change_keeps_both(store: Store) -> None:
    service, incident = opened(store)
    stale = dict(incident)
    service.assign(incident["id"], "lan", "analyst:minh")
    # Grouping read the incident before the analyst's change: its write conflicts and is replayed.
    stale_service = IncidentService(store, clock=CLOCK)
    stale_service.ingest([alert("c2", 3, tactics=("execution",), source_ip="203.0.113.7")])
    current = service.get(incident["id"])
    assert current["assignee"] == "lan" and "c2" in current["rule_ids"]
    assert current["version"] == stale["version"] + 2


def test_merge_and_split(store: Store) -> None:
    service = IncidentService(store, clock=CLOCK)
    service.ingest([alert("ssh", 0, source_ip="203.0.113.7"), alert("ssh", 1, source_ip="198.51.100.9")])
    a, b = sorted(store.records("incidents").list(), key=lambda r: r["first_seen"])
    merged = service.merge(a["id"], [b["id"]], "analyst:lan", "same botnet")
    assert set(merged["entities"]["source.ip"]) == {"203.0.113.7", "198.51.100.9"}
    gone = service.get(b["id"])
    assert gone["merged_into"] == a["id"] and gone["status"] == "resolved"
    moved = b["alert_ids"][0]
    split = service.split(a["id"], [moved], "analyst:lan", "not the same after all")
    assert split["alert_ids"] == [moved] and split["split_from"] == a["id"]
    assert service.get(a["id"])["entities"]["source.ip"] == ["203.0.113.7"]
    with pytest.raises(NotFound):
        service.split(a["id"], ["no-such-alert"], "analyst:lan")
    with pytest.raises(ConfigError):
        service.split(split["id"], [moved], "analyst:lan")  # would leave nothing behind
    assert AuditLog(store.records("audit")).verify() is None
