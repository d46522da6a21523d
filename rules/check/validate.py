"""Validate Sigma rules offline and report every issue as ``file:line: message``.

Three layers, each reported with the same shape:

1. loading (``rules.sigma.load_rules``): YAML and pySigma errors, with the loader's line;
2. our runtime: rules the streaming engine cannot compile, correlations the correlation
   engine cannot run (unknown references, aliases that miss a rule...);
3. pySigma's validators, core and SigmaHQ (``pysigma-validators-sigmahq``): their data
   (SigmaHQ taxonomy, file name prefixes, Windows event id and provider tables, MITRE
   ATT&CK) is read from ``data/`` (see ``generate.py``) through the loaders' own
   ``set_url``/``set_cache_dir`` hooks, with a private temporary cache, so nothing is
   downloaded and the user's cache is not touched. The D3FEND tag validator is left out:
   no D3FEND data is shipped.

pySigma's issues name rules, not lines; the line is found in the file: the line of the
offending value (tag, field, file name...) inside the rule's YAML document when it can be
found, else the document's ``id:``/``title:`` line.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.data import mitre_attack
from sigma.rule import SigmaRule, SigmaRuleTag
from sigma.validators.base import SigmaRuleValidator, SigmaValidationIssue
from sigma.validators.core import validators as core_validators
from sigma.validators.sigmahq import validators as sigmahq_validators
from sigma.validators.sigmahq.data import (
    data_filename,
    data_taxonomy,
    data_windows_eventid,
    data_windows_provider,
)

from rules.sigma import SigmaEngine, iter_rule_files, load_rules
from soc_core.errors import RuleError
from soc_core.registry import default_registry

DATA_DIR = Path(__file__).resolve().parent / "data"
# Validators that need data we do not ship (the D3FEND ontology), by pySigma identifier.
UNAVAILABLE = frozenset({"d3_fendtag"})
SEVERITIES = ("low", "medium", "high", "error")
_SIGMAHQ_DATA = (
    (data_filename, "sigmahq_filename.json"),
    (data_taxonomy, "sigmahq_taxonomy.json"),
    (data_windows_eventid, "sigmahq_windows_eventid.json"),
    (data_windows_provider, "sigmahq_windows_provider.json"),
)


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    """One finding: where, how bad (``error`` for rules that do not load or run), what."""

    path: str
    line: int
    severity: str
    message: str
    check: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message} [{self.check}]"


def all_validators(sigmahq: bool = True) -> dict[str, type[SigmaRuleValidator]]:
    """Validator classes by identifier (what ``--exclude`` takes), without unavailable ones."""
    found: dict[str, type[SigmaRuleValidator]] = dict(core_validators)
    if sigmahq:
        found.update(sigmahq_validators)
    return {name: cls for name, cls in sorted(found.items()) if name not in UNAVAILABLE}


@contextmanager
def offline_data(data_dir: Path = DATA_DIR) -> Iterator[None]:
    """Point pySigma's data loaders at the shipped files, with a throw-away cache."""
    with tempfile.TemporaryDirectory(prefix="soc-sigma-check-") as cache:
        try:
            mitre_attack.set_cache_dir(str(Path(cache, "attack")))
            mitre_attack.set_url(str(data_dir / "mitre_attack.json"))
            for module, name in _SIGMAHQ_DATA:
                module.set_cache_dir(str(Path(cache, name)))
                module.set_url(str(data_dir / name))
            yield
        finally:
            # Close the caches before their folder goes away; the next use reopens them there.
            mitre_attack.set_cache_dir(str(Path(cache, "attack")))
            for module, name in _SIGMAHQ_DATA:
                module.set_cache_dir(str(Path(cache, name)))


class _Locator:
    """Finds lines in rule files (each file read once)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            try:
                self._lines[path] = Path(path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines[path] = []
        return self._lines[path]

    def document(self, path: str, rule: SigmaRule | SigmaCorrelationRule) -> tuple[int, int]:
        """The 0-based line range of the rule's YAML document in its file."""
        lines = self.lines(path)
        starts = [0] + [i + 1 for i, line in enumerate(lines) if line.startswith("---") and i > 0]
        anchor = None
        wanted = [f"id: {rule.id}"] if rule.id is not None else []
        wanted.append(f"title: {rule.title}")
        for text in wanted:
            anchor = next((i for i, line in enumerate(lines) if line.strip().strip("'\"") == text
                           or line.strip() == text), None)
            if anchor is not None:
                break
        if anchor is None:
            return 0, len(lines)
        start = max(s for s in starts if s <= anchor)
        end = min([s for s in starts if s > anchor], default=len(lines))
        return start, end

    def line(self, path: str, rule: SigmaRule | SigmaCorrelationRule, hints: Iterable[str]) -> int:
        lines = self.lines(path)
        start, end = self.document(path, rule)
        for hint in hints:
            if len(hint) < 3:
                continue
            pattern = re.compile(re.escape(hint), re.IGNORECASE)
            for i in range(start, end):
                if pattern.search(lines[i]):
                    return i + 1
        for i in range(start, end):
            if lines[i].startswith(("id:", "title:")) or lines[i].strip().startswith("id:"):
                return i + 1
        return start + 1


def _details(issue: SigmaValidationIssue) -> list[tuple[str, Any]]:
    skip = ("rules", "severity", "description")
    return [(f.name, getattr(issue, f.name)) for f in fields(issue) if f.name not in skip]


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _hints(details: Sequence[tuple[str, Any]]) -> list[str]:
    out: list[str] = []
    for _, value in details:
        values = value if isinstance(value, (list, tuple, set)) else [value]
        for v in values:
            if isinstance(v, SigmaRuleTag):  # written "namespace.name" in the file
                out.append(f"{v.namespace}.{v.name}")
            elif isinstance(v, (str, int)) and not isinstance(v, bool):
                out.append(str(v))
    return out


@dataclass
class CheckResult:
    """Issues found, and what was looked at."""

    issues: list[Issue]
    files: int
    rules: int
    validators: list[str]


def check_paths(
    paths: Sequence[str], *, exclude: Iterable[str] = (), sigmahq: bool = True, data_dir: Path = DATA_DIR,
) -> CheckResult:
    """Validate every rule under ``paths``; returns all issues, sorted by file and line."""
    excluded = set(exclude)
    available = all_validators(sigmahq)
    unknown = excluded - set(available) - UNAVAILABLE
    if unknown:
        raise RuleError(f"unknown validator(s): {', '.join(sorted(unknown))} (known: {', '.join(available)})")
    ruleset = load_rules(list(paths))
    issues = [Issue(e.path or "-", e.line or 1, "error", e.reason, "load") for e in ruleset.errors]
    load_errors = len(issues)
    engine = SigmaEngine(ruleset)  # appends rules our matcher cannot run to ruleset.errors
    issues += [Issue(e.path or "-", e.line or 1, "error", e.reason, "engine") for e in ruleset.errors[load_errors:]]
    # The correlation compiler is reached through the registry (rules must not import
    # correlation, which builds on rules): whichever detector is registered is checked.
    correlator: Any = default_registry().get("detector", "sigma_correlation")(engine, ruleset.correlations)
    correlation_errors: list[RuleError] = list(correlator.errors)
    issues += [Issue(e.path or "-", e.line or 1, "error", e.reason, "correlation") for e in correlation_errors]
    locator = _Locator()
    everything: list[SigmaRule | SigmaCorrelationRule] = [*ruleset.rules, *ruleset.correlations]
    names = [n for n in available if n not in excluded]
    with offline_data(data_dir):
        validators = {name: available[name]() for name in names}
        found: list[tuple[str, SigmaValidationIssue]] = []
        for rule in everything:
            for name, validator in validators.items():
                found.extend((name, issue) for issue in validator.validate(rule))
        for name, validator in validators.items():
            found.extend((name, issue) for issue in validator.finalize())
    for name, issue in found:
        details = _details(issue)
        extra = " ".join(f"{k}={_text(v)}" for k, v in details if _text(v))
        message = issue.description + (f" ({extra})" if extra else "")
        for rule in issue.rules:
            path = ruleset.source_of(rule) or (str(rule.source.path) if rule.source is not None else "-")
            line = locator.line(path, rule, _hints(details)) if path != "-" else 1
            issues.append(Issue(path, line, issue.severity.name.lower(), message, name))
    return CheckResult(sorted(set(issues)), len(list(iter_rule_files(list(paths)))), len(everything), names)
