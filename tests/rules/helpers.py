"""Builders for hand-made test events and rules (Winlogbeat-shaped Windows events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.sigma import RuleSet, SigmaEngine, load_rules
from rules.sigma.reference import ReferenceEvaluator

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def win_event(channel: str = SYSMON, event_id: int = 1, record_id: int = 1, **data: Any) -> dict[str, Any]:
    """A Windows event as the winlog parser shapes it (values as text, like Winlogbeat)."""
    return {
        "@timestamp": "2026-11-22T12:00:00.000Z",
        "event": {"id": f"ev-{record_id}", "kind": "event", "code": str(event_id)},
        "log": {"file": {"path": "/tmp/x.evtx"}, "offset": record_id},
        "winlog": {
            "channel": channel,
            "event_id": str(event_id),
            "record_id": str(record_id),
            "provider_name": "Microsoft-Windows-Sysmon",
            "computer_name": "host1",
            "event_data": dict(data),
        },
    }


def rule_yaml(detection: str, logsource: str = "product: windows\n    category: process_creation",
              rule_id: str = "00000000-0000-0000-0000-000000000001", title: str = "t") -> str:
    return f"""title: {title}
id: {rule_id}
status: test
logsource:
    {logsource}
detection:
{detection}
level: high
tags:
    - attack.execution
    - attack.t1059.001
"""


def load_text(tmp_path: Path, text: str, name: str = "rule.yml",
              placeholders: dict[str, list[str]] | None = None) -> RuleSet:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_rules([str(path)], placeholders)


class Both:
    """The engine and the reference evaluator over one rule set: they must agree."""

    def __init__(self, ruleset: RuleSet) -> None:
        assert not ruleset.errors, ruleset.errors
        self.engine = SigmaEngine(ruleset)
        self.reference = ReferenceEvaluator(ruleset)

    def hits(self, event: dict[str, Any]) -> list[str]:
        got = [r.title for r in self.engine.match(event)]
        assert got == [r.title for r in self.reference.match(event)]
        return got
