"""Rule regression tests in the SigmaHQ ``regression_data`` layout (detection as code).

Each case folder holds ``info.yml`` naming the rule (``rule_metadata[].id``) and its
tests (``regression_tests_info[]``: ``name``, ``type`` evtx/json, ``path``, optional
``match_count``), next to the sample files. Samples are read with the parsers (``auto``
by default, or the one named): ``.evtx`` and JSON exports of Windows events, syslog and
other text logs, and ECS NDJSON (one ECS document per line, taken as it is). A test
whose name says "negative" must not fire; any other must fire; a sample that yields no
event fails either way (a negative test over nothing proves nothing). ``match_count`` differences are notes,
not failures: SigmaHQ writes 1 even where several sample events satisfy the rule.

Our own extensions, for the built-in rules over other logs: a test may name the ``parser``
(an ``event.dataset``, e.g. ``system.auth``) that reads its sample, overriding the command's;
a case may name a correlation rule: its samples then run through the Sigma and correlation
detectors in order, and "fires" means the correlation raised an alert. Alerts that products
report themselves (an antivirus detection) are events to the rules, as in the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ingest.files import read_file_events
from ingest.pipeline import BugLogger, Stats, parse_one
from rules.alerts import rule_id
from rules.sigma.detector import detectable
from rules.sigma.engine import SigmaEngine
from soc_core.clock import FrozenClock
from soc_core.errors import ParseError, RegistryError, RuleError
from soc_core.event import Event

REGRESSION_DIR = "regression_data"


@dataclass(frozen=True)
class Sample:
    """One sample file of a case and what the rule must do on it."""

    name: str
    path: str
    negative: bool
    match_count: int | None
    parser: str | None = None  # reads this sample instead of the command's parser


@dataclass(frozen=True)
class Case:
    rule_id: str
    info_path: str
    samples: tuple[Sample, ...]


@dataclass
class Outcome:
    """The result of one sample: matched events of how many, pass or fail and why."""

    case: Case
    sample: Sample
    matched: int
    events: int
    ok: bool
    reason: str = ""
    note: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    untested_rules: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


def find_regression_dirs(paths: Sequence[str]) -> list[str]:
    """``regression_data`` folders next to the rule paths or any of their parents."""
    found: list[str] = []
    for path in paths:
        cur = Path(os.path.abspath(path))
        for parent in [cur, *cur.parents]:
            candidate = parent / REGRESSION_DIR
            if candidate.is_dir() and str(candidate) not in found:
                found.append(str(candidate))
                break
    return found


def _resolve(sample_path: str, info_dir: Path, regression_dir: Path | None) -> str:
    """A sample path from info.yml: relative to the repository, else to the case folder."""
    candidates = []
    if regression_dir is not None:
        candidates.append(regression_dir.parent / sample_path)
    candidates.append(info_dir / Path(sample_path).name)
    for c in candidates:
        if c.exists():
            return str(c)
    return str(candidates[0])


def iter_cases(data_dirs: Sequence[str]) -> Iterator[Case]:
    """Every case (``info.yml``) under the given folders."""
    for data_dir in data_dirs:
        for root, dirs, files in os.walk(data_dir):
            dirs.sort()
            if "info.yml" not in files:
                continue
            info_path = Path(root) / "info.yml"
            with open(info_path, "rb") as stream:
                info: Any = yaml.safe_load(stream)
            if not isinstance(info, dict):
                raise RuleError("info.yml is not a mapping", path=str(info_path), line=1)
            regression_dir = next((p for p in info_path.parents if p.name == REGRESSION_DIR), None)
            samples = []
            for test in info.get("regression_tests_info") or []:
                name = str(test.get("name", ""))
                count = test.get("match_count")
                samples.append(Sample(
                    name=name,
                    path=_resolve(str(test.get("path", "")), info_path.parent, regression_dir),
                    negative="negative" in name.lower(),
                    match_count=int(count) if count is not None else None,
                    parser=str(test["parser"]) if test.get("parser") else None,
                ))
            for meta in info.get("rule_metadata") or []:
                yield Case(rule_id=str(meta.get("id")), info_path=str(info_path), samples=tuple(samples))


def sample_events(path: str, received: datetime, parser_name: str = "auto") -> tuple[list[Event], int]:
    """The parsed events of a sample file, and how many inputs the parser refused."""
    from soc_api.commands._common import make_parser  # the parser registry, loaded lazily

    try:
        parser = make_parser(parser_name)
    except RegistryError as exc:
        raise RuleError(f"no parser {parser_name!r}: {exc}", path=path) from None
    stats, bugs = Stats(), BugLogger()
    parsed = [parse_one(parser, raw, stats, bugs) for raw in read_file_events(path, parser, received)]
    events = [e for e in parsed if detectable(e)]
    return events, len(parsed) - len(events)


def run_cases(engine: SigmaEngine, cases: Sequence[Case], received: datetime | None = None,
              parser_name: str = "auto") -> Report:
    """Run each case's samples through the engine; cases of rules not loaded are ignored."""
    received = received or datetime(1970, 1, 1, tzinfo=UTC)
    correlations = {rule_id(c) for c in engine.ruleset.correlations}
    loaded = {rule_id(r) for r in engine.rules} | correlations
    report = Report()
    tested: set[str] = set()
    for case in cases:
        if case.rule_id not in loaded:
            continue
        tested.add(case.rule_id)
        for sample in case.samples:
            if not os.path.exists(sample.path):
                report.missing.append(sample.path)
                report.outcomes.append(Outcome(case, sample, 0, 0, False, f"sample file missing: {sample.path}"))
                continue
            reader = sample.parser or parser_name
            try:
                events, refused = sample_events(sample.path, received, reader)
            except ParseError as exc:  # a file reader that cannot read this file at all
                reason = f"parser {reader!r} cannot read the sample: {exc} (try --parser)"
                report.outcomes.append(Outcome(case, sample, 0, 0, False, reason))
                continue
            if case.rule_id in correlations:
                matched = _correlation_alerts(engine, events, case.rule_id, received)
            else:
                matched = sum(1 for e in events if any(rule_id(r) == case.rule_id for r in engine.match(e)))
            note = f"{refused} inputs the parser refused" if refused else ""
            if not events:
                reason = (f"no event read from the sample ({refused} inputs refused by parser "
                          f"{reader!r}: try --parser)")
                report.outcomes.append(Outcome(case, sample, 0, 0, False, reason, note))
                continue
            if sample.negative:
                ok, reason = matched == 0, f"{matched} events matched, expected none"
            else:
                ok, reason = matched > 0, "no event matched"
                # SigmaHQ's match_count is 1 for almost every case, even where several
                # sample events satisfy the rule as written: a mismatch is reported as a
                # note, the test is that the rule fires.
                if sample.match_count is not None and matched != sample.match_count:
                    note = "; ".join(filter(None, [
                        note, f"SigmaHQ lists match_count {sample.match_count}, {matched} events match"]))
            report.outcomes.append(Outcome(case, sample, matched, len(events), ok, "" if ok else reason, note))
    report.untested_rules = sorted(set(loaded) - tested)
    return report


def _correlation_alerts(engine: SigmaEngine, events: Sequence[Event], correlation_id: str, received: datetime) -> int:
    """How many alerts the correlation raises over the events in order (windows closed at the end)."""
    from soc_api.commands._common import detectors_for

    detectors = detectors_for(engine.ruleset, FrozenClock(received), engine)
    alerts = [a for e in events for d in detectors for a in d.detect(e)]
    alerts += [a for d in detectors for a in d.flush(datetime.max.replace(tzinfo=UTC))]
    return sum(1 for a in alerts if a.get("rule", {}).get("id") == correlation_id)
