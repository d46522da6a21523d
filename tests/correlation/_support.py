"""Test helpers: load Sigma YAML with pySigma, a matcher keyed by rule name, event builders.

The matcher is a deliberately small stand-in for ``rules.sigma.SigmaEngine.match`` (same
signature): each test says which rule names an event matches, so the correlation logic is
tested apart from Sigma's detection logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from soc_core.event import Event, format_timestamp
from tests.conftest import corpus_path

T0 = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)


@dataclass
class Rules:
    """The shape of ``rules.sigma.load_rules``' result that the correlation engine reads."""

    rules: list[SigmaRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)


def load(paths: Iterable[Path]) -> Rules:
    collection = SigmaCollection.load_ruleset(list(paths))
    out = Rules()
    for rule in collection:
        if isinstance(rule, SigmaCorrelationRule):
            out.correlations.append(rule)
        elif isinstance(rule, SigmaRule):
            out.rules.append(rule)
    return out


def write(tmp: Path, name: str, *documents: str) -> Path:
    path = tmp / name
    path.write_text("\n---\n".join(d.strip() for d in documents) + "\n", encoding="utf-8")
    return path


def base_rule(title: str, *, rule_id: str | None = None, name: str | None = None,
              logsource: str = "service: security") -> str:
    """A minimal Windows base rule (its detection is not used by the test matcher)."""
    lines = [f"title: {title}"]
    if rule_id:
        lines.append(f"id: {rule_id}")
    if name:
        lines.append(f"name: {name}")
    lines += [
        "logsource:", "    product: windows", f"    {logsource}",
        "detection:", "    selection:", f"        Marker: '{title}'", "    condition: selection",
    ]
    return "\n".join(lines)


def by_marker(rules: Rules) -> Callable[[Event], list[SigmaRule]]:
    """Matcher: an event matches the base rules whose name, id or title is in ``test.rules``."""

    def match(event: Event) -> list[SigmaRule]:
        wanted = set(event.get("test", {}).get("rules", []))
        return [r for r in rules.rules if wanted & {r.name, r.title, str(r.id)}]

    return match


_counter = iter(range(1, 10**9))


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def event(at: datetime | float, rules: Iterable[str], channel: str = "Security", event_id: int | None = None,
          **event_data: Any) -> Event:
    """A Winlogbeat-shaped event at ``at`` (a datetime or seconds after T0)."""
    when = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
    n = next(_counter)
    return {
        "@timestamp": format_timestamp(when),
        "event": {"id": f"ev-{n:06d}", "kind": "event"},
        "winlog": {"channel": channel, "event_data": dict(event_data),
                   **({"event_id": event_id} if event_id is not None else {})},
        "test": {"rules": list(rules)},
    }


def spec_markdown_block(first_line: str) -> str:
    """The YAML example block of the correlation specification that starts with ``first_line``."""
    text = corpus_path("sigma", "sigma-specification", "specification",
                       "sigma-correlation-rules-specification.md").read_text(encoding="utf-8")
    for block in re.findall(r"```ya?ml\n(.*?)```", text, flags=re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"no example starting with {first_line!r} in the specification")
