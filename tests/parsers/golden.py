"""Golden-file scoring for parser tests, the same way ../shared/tools/parse_score.py scores.

Runs a parser in-process over a fixture (Filebeat ``X.log`` + ``X.log-expected.json``, or an
Elastic-integration ``{"expected": [...]}`` file), flattens both sides to dotted keys,
aligns events by ``log.offset`` (by order where the expected events have none) and counts, over the expected ECS fields
(vendor namespaces, harness metadata and MaxMind-test geo fields left out), how many the
parser reproduces with an equal value.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_one
from soc_api.commands._common import make_parser, parse_tz
from soc_core.clock import FrozenClock
from soc_core.event import flatten

ECS_TOP = {
    "@timestamp", "message", "event", "observer", "source", "destination", "related", "network",
    "url", "server", "client", "host", "user_agent", "process", "user", "file", "rule", "http",
    "dns", "tls", "group", "log", "error", "threat", "vulnerability", "service", "organization",
    "email", "package", "registry", "hash", "interface", "vlan",
}
SKIP_EXACT = {
    "event.timezone", "event.original", "event.ingested", "event.created", "log.offset",
    "log.file.path", "log.flags", "log.original", "service.type", "input.type", "ecs.version",
    "host.name", "event.sequence",
}
SKIP_PARTS = {"geo", "as"}
# The clock the Filebeat goldens were made against does not matter for stamps with a year;
# year-less datasets have @timestamp removed by the harness.
GOLDEN_CLOCK_AT = datetime(2026, 11, 22, tzinfo=UTC)


@dataclass
class Score:
    hits: int = 0
    total: int = 0
    mismatches: list[tuple[int, str, Any, Any]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def summary(self, limit: int = 15) -> str:
        lines = [f"{self.hits}/{self.total} = {100 * self.ratio:.1f}%"]
        lines += [f"  event {i} {k}: expected {e!r}, got {g!r}" for i, k, e, g in self.mismatches[:limit]]
        return "\n".join(lines)


def _norm_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(v, str):
        s = v.strip()
        try:
            return str(ipaddress.ip_address(s))
        except ValueError:
            pass
        try:
            f = float(s)
            if s.lower() not in ("nan", "inf", "-inf", "infinity"):
                return str(int(f)) if f.is_integer() else repr(f)
        except ValueError:
            pass
        return s
    return json.dumps(v, sort_keys=True)


def _norm_time(v: Any) -> float | None:
    if not isinstance(v, str):
        return None
    try:
        d = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return round(d.timestamp(), 3)


def _same(exp: Any, got: Any, key: str) -> bool:
    if got is None:
        return False
    if key == "@timestamp" or key.endswith((".start", ".end")):
        te, tg = _norm_time(exp), _norm_time(got)
        if te is not None and tg is not None:
            return te == tg
    if isinstance(exp, list) or isinstance(got, list):
        el = exp if isinstance(exp, list) else [exp]
        gl = got if isinstance(got, list) else [got]
        return sorted(map(_norm_scalar, el)) == sorted(map(_norm_scalar, gl))
    return _norm_scalar(exp) == _norm_scalar(got)


def _scored_keys(ev: dict[str, Any]) -> list[str]:
    keys = []
    for k in ev:
        if k.split(".")[0] not in ECS_TOP or k in SKIP_EXACT:
            continue
        if any(p in SKIP_PARTS for p in k.split(".")[1:]):
            continue
        keys.append(k)
    return keys


def load_expected(expected_path: Path | str) -> list[dict[str, Any]]:
    """The first 100 expected events of a golden file, flattened."""
    data = json.loads(Path(expected_path).read_text())
    if isinstance(data, dict):
        data = data.get("expected", [])
    return [flatten(e) if any(isinstance(v, dict) for v in e.values()) else e for e in data][:100]


def parse_fixture(parser_name: str, log_path: Path | str, tz: str = "-02:00") -> list[dict[str, Any]]:
    """Parse a fixture in-process exactly as ``soc parse`` does; flattened events."""
    clock = FrozenClock(GOLDEN_CLOCK_AT)
    parser = make_parser(parser_name, parse_tz(tz), clock)
    stats, bugs = Stats(), BugLogger()
    return [
        flatten(parse_one(parser, raw, stats, bugs))
        for raw in read_file_events(str(log_path), parser, clock.now())
    ]


def score_filebeat_fixture(
    parser_name: str, log_path: Path | str, expected_path: Path | str, tz: str = "-02:00"
) -> Score:
    """ECS agreement of one parser on one golden fixture."""
    expected = load_expected(expected_path)
    got = parse_fixture(parser_name, log_path, tz)
    by_off = {g.get("log.offset"): g for g in got if g.get("log.offset") is not None}
    score = Score()
    for i, e in enumerate(expected):
        g = by_off.get(e.get("log.offset")) if by_off and e.get("log.offset") is not None else None
        # Elastic-integration pipeline tests feed lines without a file, so their expected
        # events carry no log.offset: pair those by order (parse_score.py pairs nothing then).
        if g is None and (not by_off or e.get("log.offset") is None) and i < len(got):
            g = got[i]
        for k in _scored_keys(e):
            score.total += 1
            if g is not None and _same(e[k], g.get(k), k):
                score.hits += 1
            else:
                score.mismatches.append((i, k, e[k], None if g is None else g.get(k)))
    return score


def fixtures(base: Path, suffix: str = "-expected.json") -> list[tuple[Path, Path]]:
    """``(input, expected)`` pairs in a fixture folder."""
    pairs = []
    for expected in sorted(base.glob(f"*{suffix}")):
        log = expected.with_name(expected.name[: -len(suffix)])
        if log.exists():
            pairs.append((log, expected))
    return pairs
