"""Incident severity from its alerts' levels, the criticality of the assets it touches, and how
far along the ATT&CK kill chain it has got.

score = 0.7 × the highest alert severity (ECS 0-100)
      + 8 per kill-chain stage beyond the first (at most 32)
      + 5 per asset-criticality level (0-4, at most 20)
      + 2 × log2(alert count) (at most 8)
clamped to 0-100; labels: < 25 low, < 50 medium, < 75 high, else critical. So one high alert
is a high incident, one low alert a low one, and a scan, a web attack, a login and malware
against the same host (four stages) is critical even when each alert alone is only high.
"""

from __future__ import annotations

import math
from typing import Final

from incidents.entities import progress

LABELS: Final = ((25.0, "low"), (50.0, "medium"), (75.0, "high"))


def label_for(score: float) -> str:
    for limit, name in LABELS:
        if score < limit:
            return name
    return "critical"


def score_incident(
    max_alert_severity: int, tactics: list[str], criticality: int, alert_count: int
) -> tuple[str, float]:
    """(label, score) for an incident."""
    stages = progress(tactics)
    score = 0.7 * max(0, min(100, max_alert_severity))
    score += min(32, 8 * max(0, stages - 1))
    score += 5 * max(0, min(4, criticality))
    score += min(8.0, 2 * math.log2(alert_count)) if alert_count > 1 else 0.0
    score = round(max(0.0, min(100.0, score)), 1)
    return label_for(score), score
