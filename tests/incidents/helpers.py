"""Alert documents for the incident tests, shaped as rules.alerts.build_alert makes them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from soc_core.event import Event, format_timestamp

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TACTIC_NAMES = {"reconnaissance": "Reconnaissance", "initial-access": "Initial Access",
                "credential-access": "Credential Access", "execution": "Execution", "discovery": "Discovery"}


def alert(rule: str, minute: float, *, level: int = 47, tactics: tuple[str, ...] = ("credential-access",),
          **fields: Any) -> Event:
    """An alert of ``rule`` at T0 + ``minute`` with dotted ECS ``fields`` (source_ip=... style)."""
    doc: Event = {"@timestamp": format_timestamp(T0 + timedelta(minutes=minute)), "rule": {"id": rule, "name": rule},
                  "event": {"kind": "alert", "severity": level}, "alert": {"event_ids": []},
                  "threat": {"tactic": {"name": [TACTIC_NAMES[t] for t in tactics]}}}
    for key, value in fields.items():
        parts = key.split("__") if "__" in key else key.split("_", 1)
        node = doc
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    digest = hashlib.blake2b(repr(sorted(doc.items(), key=str)).encode(), digest_size=16).hexdigest()
    doc["event"]["id"] = digest
    return doc
