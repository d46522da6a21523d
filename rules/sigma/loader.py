"""Loading Sigma rules, correlations and filters from files and folders with pySigma.

Each file is read on its own so that a broken file (bad YAML, an invalid rule) is
reported with its path and line and skipped while every other rule loads. YAML is
parsed with libyaml's C loader (pySigma's pure-Python default dominates load time),
then handed to :meth:`SigmaCollection.from_dicts`. Sigma filters from any loaded file
are applied to the rules they name, as pySigma does. ``%placeholder%`` values of the
``expand`` modifier are replaced from a mapping (see :func:`load_placeholders`); a
placeholder without a value makes its rule an error, not a silent non-match.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import Placeholder, SigmaRegularExpression, SigmaString, SigmaType

from soc_core.errors import RuleError

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # libyaml missing: correct, only slower
    _Loader = yaml.SafeLoader

RULE_SUFFIXES = (".yml", ".yaml")

# The Sigma specification names ``utf16le`` as an alias of ``wide``; pySigma 1.5 knows
# only ``wide``. Registering the alias (idempotent, same class) makes such rules load.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)


@dataclass
class RuleSet:
    """What :func:`load_rules` found: runnable rules, correlations, filters, errors.

    ``sources`` maps ``id(rule)`` to the file the rule came from.
    """

    rules: list[SigmaRule] = field(default_factory=list)
    correlations: list[SigmaCorrelationRule] = field(default_factory=list)
    filters: list[SigmaFilter] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)

    def source_of(self, rule: SigmaRule | SigmaCorrelationRule) -> str | None:
        return self.sources.get(id(rule))


def iter_rule_files(paths: Sequence[str]) -> Iterator[str]:
    """Every ``.yml``/``.yaml`` file under the given files and folders, sorted per folder."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(RULE_SUFFIXES):
                        yield os.path.join(root, name)
        elif os.path.exists(path):
            yield path
        else:
            raise RuleError("no such rule file or folder", path=path)


def load_placeholders(path: str) -> dict[str, list[str]]:
    """A placeholders file: YAML mapping name -> value or list of values."""
    with open(path, "rb") as stream:
        data = yaml.load(stream, Loader=_Loader)  # noqa: S506 - a safe loader (CSafeLoader)
    if not isinstance(data, Mapping):
        raise RuleError("placeholders file must be a mapping of name to values", path=path)
    out: dict[str, list[str]] = {}
    for name, values in data.items():
        items = values if isinstance(values, list) else [values]
        out[str(name).strip("%")] = [str(v) for v in items]
    return out


def _doc_lines(text: str) -> list[int]:
    """1-based first line of each YAML document in a file."""
    starts = [1]
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("---") and i > 1:
            starts.append(i + 1)
    return starts


def _line_of(error: Exception, text: str, doc_start: int) -> int:
    """Best line for an error: the YAML mark, pySigma's location, or a quoted name."""
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    source = getattr(error, "source", None)
    line = getattr(source, "line", None)
    if isinstance(line, int) and line > 0:
        return line
    lines = text.splitlines()
    for quoted in re.findall(r"'([^']{2,})'|(%[^%\s]+%)", str(error)):
        needle = quoted[0] or quoted[1]
        for i in range(doc_start - 1, len(lines)):
            if needle in lines[i]:
                return i + 1
    return doc_start


def _message(error: Exception) -> str:
    """pySigma's message without the `` in <file>`` it appends (the path is ours to add)."""
    text = str(error)
    source = getattr(error, "source", None)
    if source is not None and text.endswith(f" in {source}"):
        return text[: -len(f" in {source}")]
    return text


def _expand_placeholders(rule: SigmaRule, placeholders: Mapping[str, list[str]]) -> None:
    """Replace ``%name%`` stubs left by the ``expand`` modifier, in place."""

    def values(p: Placeholder) -> Iterator[str]:
        if p.name not in placeholders:
            raise RuleError(f"placeholder %{p.name}% has no value (define it in the placeholders file)")
        yield from placeholders[p.name]

    def walk(detection: SigmaDetection | SigmaDetectionItem) -> None:
        if isinstance(detection, SigmaDetection):
            for item in detection.detection_items:
                walk(item)
            return
        new: list[SigmaType] = []
        for v in detection.value:
            if isinstance(v, (SigmaString, SigmaRegularExpression)) and v.contains_placeholder():
                new.extend(v.replace_placeholders(values))
            else:
                new.append(v)
        detection.value = new

    for det in rule.detection.detections.values():
        walk(det)


def load_rules(paths: Sequence[str], placeholders: Mapping[str, list[str]] | None = None) -> RuleSet:
    """Load every rule under ``paths``; broken ones land in ``errors`` with file and line."""
    ruleset = RuleSet()
    pending: list[tuple[SigmaRule, str, str, int]] = []
    for path in iter_rule_files(paths):
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            ruleset.errors.append(RuleError(f"cannot read: {exc}", path=path, line=1))
            continue
        starts = _doc_lines(text)
        try:
            docs = list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError as exc:
            ruleset.errors.append(RuleError(f"invalid YAML: {exc}", path=path, line=_line_of(exc, text, 1)))
            continue
        location = SigmaRuleLocation(Path(path))
        collection = SigmaCollection.from_dicts(
            docs, collect_errors=True, source=location, collect_filters=True, resolve_references=False,
        )
        broken = {id(r) for r in collection.rules if getattr(r, "errors", None)}
        for err in collection.errors:
            ruleset.errors.append(RuleError(_message(err), path=path, line=_line_of(err, text, starts[0])))
        for i, rule in enumerate(collection.rules):
            if id(rule) in broken:
                continue
            doc_start = starts[min(i, len(starts) - 1)]
            if isinstance(rule, SigmaCorrelationRule):
                ruleset.correlations.append(rule)
                ruleset.sources[id(rule)] = path
            else:
                pending.append((rule, path, text, doc_start))
        for flt in collection.filters:
            if not getattr(flt, "errors", None):
                ruleset.filters.append(flt)
                ruleset.sources[id(flt)] = path
    for rule, path, text, doc_start in pending:
        try:
            for flt in ruleset.filters:
                filtered = flt.apply_on_rule(rule)
                if isinstance(filtered, SigmaRule):  # always, for a SigmaRule in
                    rule = filtered
            if placeholders is not None or _has_placeholders(rule):
                _expand_placeholders(rule, placeholders or {})
            for cond in rule.detection.parsed_condition:
                _ = cond.parsed  # parse the condition now, so a bad one is a load error
        except RuleError as exc:
            ruleset.errors.append(RuleError(exc.reason, path=path, line=_line_of(exc, text, doc_start)))
            continue
        except SigmaError as exc:
            ruleset.errors.append(RuleError(_message(exc), path=path, line=_line_of(exc, text, doc_start)))
            continue
        ruleset.rules.append(rule)
        ruleset.sources[id(rule)] = path
    if ruleset.correlations:
        _resolve_correlations(ruleset)
    return ruleset


def _has_placeholders(rule: SigmaRule) -> bool:
    def walk(detection: SigmaDetection | SigmaDetectionItem) -> bool:
        if isinstance(detection, SigmaDetection):
            return any(walk(i) for i in detection.detection_items)
        return any(
            isinstance(v, (SigmaString, SigmaRegularExpression)) and v.contains_placeholder()
            for v in detection.value
        )

    return any(walk(d) for d in rule.detection.detections.values())


def _resolve_correlations(ruleset: RuleSet) -> None:
    """Point correlation rules at the loaded rules they reference (by id or name)."""
    collection = SigmaCollection([*ruleset.rules, *ruleset.correlations], resolve_references=False)
    kept: list[SigmaCorrelationRule] = []
    for corr in ruleset.correlations:
        try:
            corr.resolve_rule_references(collection)
        except SigmaError as exc:
            path = ruleset.sources.get(id(corr))
            ruleset.errors.append(RuleError(str(exc), path=path, line=_line_of(exc, "", 1)))
            continue
        kept.append(corr)
    ruleset.correlations = kept
