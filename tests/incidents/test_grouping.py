"""Grouping: shared actors link across rules and sources, time gaps split, targets link only
actor-less alerts, and hub entities or never-link values glue nothing (on the embedded store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.grouping import GroupingOptions
from incidents.service import IncidentService
from soc_core.clock import FrozenClock
from soc_core.contracts import Record
from soc_core.errors import ConfigError
from soc_store.sqlite import SqliteStore
from tests.incidents.helpers import alert

CLOCK = FrozenClock(datetime(2026, 12, 2, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "g.db")
    yield s
    s.close()


def incidents(store: SqliteStore) -> list[Record]:
    return sorted(store.records("incidents").list(limit=1000), key=lambda r: r["first_seen"])


def test_one_actor_across_rules_is_one_incident_with_reasons(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK)
    first = alert("scan", 0, tactics=("reconnaissance",), source_ip="203.0.113.7", destination_ip="10.0.0.5")
    second = alert("sqli", 3, tactics=("initial-access",), source_ip="203.0.113.7", destination_ip="10.0.0.5")
    service.ingest([first, second])
    (incident,) = incidents(store)
    assert incident["alert_ids"] == [first["event"]["id"], second["event"]["id"]]
    reason = incident["members"][1]["reason"]
    assert (reason["entity_field"], reason["entity_value"]) == ("source.ip", "203.0.113.7")
    assert reason["linked_alert_id"] == first["event"]["id"] and reason["gap_seconds"] == 180
    assert incident["tactics"] == ["reconnaissance", "initial-access"]


def test_alerts_far_apart_in_time_open_separate_incidents(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK, options=GroupingOptions(max_gap_secs=600))
    service.ingest([alert("scan", 0, source_ip="203.0.113.7"),
                    alert("scan", 30, source_ip="203.0.113.7", user_name="x")])
    assert len(incidents(store)) == 2


def test_two_attackers_on_one_server_stay_apart(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK)
    service.ingest([alert("ssh", 0, source_ip="203.0.113.7", host_hostname="web1", user_name="root"),
                    alert("ssh", 1, source_ip="198.51.100.9", host_hostname="web1", user_name="root")])
    assert [i["entities"]["source.ip"] for i in incidents(store)] == [["203.0.113.7"], ["198.51.100.9"]]


def test_never_link_addresses_glue_nothing(store: SqliteStore) -> None:
    options = GroupingOptions(never_link=("192.0.2.0/24",))
    service = IncidentService(store, clock=CLOCK, options=options)
    service.ingest([alert("web", 0, source_ip="192.0.2.1", user_name="a"),
                    alert("web", 1, source_ip="192.0.2.1", user_name="b")])
    found = incidents(store)
    assert len(found) == 2
    assert "never-link" in found[1]["members"][0]["reason"]["text"]


def test_a_host_many_attackers_hit_is_a_hub_and_links_no_malware(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK, options=GroupingOptions(hub_max_sources=3))
    service.ingest([alert("ssh", i, source_ip=f"198.51.100.{i}", host_hostname="gw") for i in range(5)])
    service.ingest([alert("malware", 10, level=73, tactics=("execution",), host_name="gw",
                          file__hash__sha256="ab" * 32)])
    found = incidents(store)
    malware = next(i for i in found if "malware" in i["rule_ids"])
    assert malware["rule_ids"] == ["malware"]
    assert "hub" in malware["members"][0]["reason"]["text"]


def test_actorless_alert_joins_the_furthest_progressed_incident_on_its_host(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK)
    service.ingest([
        alert("brute", 0, source_ip="198.51.100.9", host_hostname="web1"),
        alert("scan", 1, tactics=("reconnaissance",), source_ip="203.0.113.7", destination_ip="10.0.0.5"),
        alert("login", 2, tactics=("initial-access",), source_ip="203.0.113.7", host_hostname="web1"),
        alert("brute", 3, source_ip="198.51.100.9", host_hostname="web1", user_name="admin"),
    ])
    service.ingest([alert("malware", 5, level=73, tactics=("execution",), host_name="web1", host_ip="10.0.0.5")])
    attacker = next(i for i in incidents(store) if "203.0.113.7" in i["entities"].get("source.ip", []))
    assert "malware" in attacker["rule_ids"]
    assert attacker["members"][-1]["reason"]["link"] == "target"


def test_informational_alerts_open_no_incident_but_join_one(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK)
    service.ingest([alert("deny", 0, level=0, source_ip="203.0.113.7")])
    assert incidents(store) == []
    service.ingest([alert("scan", 1, source_ip="203.0.113.7"), alert("deny", 2, level=0, source_ip="203.0.113.7")])
    (incident,) = incidents(store)
    assert incident["rule_ids"] == ["scan", "deny"]


def test_replayed_alerts_are_grouped_once(store: SqliteStore) -> None:
    service = IncidentService(store, clock=CLOCK)
    batch = [alert("scan", 0, source_ip="203.0.113.7"), alert("sqli", 1, source_ip="203.0.113.7")]
    service.ingest(batch)
    service.ingest(batch)
    (incident,) = incidents(store)
    assert len(incident["alert_ids"]) == 2 and incident["version"] == 1


def test_unknown_grouping_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_gap"):
        GroupingOptions.from_mapping({"max_gap": 5})
