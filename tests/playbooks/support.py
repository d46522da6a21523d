"""Helpers for playbook tests: incident records shaped as the incidents package stores them."""

from __future__ import annotations

from typing import Any


def incident(incident_id: str = "INC-00000000000000a1", *, tags: list[str] | None = None,
             tactics: list[str] | None = None, severity: str = "high", status: str = "new",
             entities: dict[str, list[str]] | None = None, alerts: int = 3) -> dict[str, Any]:
    return {
        "id": incident_id, "title": "SSH brute force from one source", "status": status, "severity": severity,
        "severity_score": 70.0, "created": "2026-11-22T11:00:00Z", "updated": "2026-11-22T11:30:00Z",
        "first_seen": "2026-11-22T11:00:00Z", "last_seen": "2026-11-22T11:30:00Z", "assignee": None,
        "alert_ids": [f"alert-{i}" for i in range(alerts)], "rule_ids": ["8f3e1d2c-7a4b-4e5f-9c1d-2b3a4c5d6e02"],
        "tags": tags if tags is not None else ["attack.credential-access", "attack.t1110.001"],
        "tactics": tactics if tactics is not None else ["credential-access"], "techniques": ["T1110"],
        "entities": entities if entities is not None else {"source.ip": ["203.0.113.7"]},
        "members": [], "timeline": [], "comments": [], "evidence": [], "merged_into": None, "split_from": None,
        "asset_criticality": 1,
    }
