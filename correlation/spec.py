"""Compile pySigma correlation rules into the small, checked specs the window engine runs.

pySigma 1.5.1 parses every Sigma 2.1 correlation type, but reads each threshold with
``int()``: ``value_avg: {gt: 0.5}`` would silently become ``gt: 0``. So the condition is read
again from the rule's YAML when the file is at hand (matched by id, name or title), keeping
float thresholds; otherwise pySigma's integer is used. A range condition (two operators) is
rejected by pySigma itself before it reaches us and is reported by the rule loader.

``value_percentile`` follows the specification's example (``field: Image, lte: 1``): the
*share in percent* of each value of the field among the group's events in the window is
compared with the threshold, so rare values are found. When the pySigma extension key
``percentile: P`` is present instead, the P-th percentile of the numeric field is compared.
``value_median`` (pySigma extension) is the 50th percentile of the numeric field.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.rule import SigmaRule

from soc_core.errors import RuleError

_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
# Conditions that a growing window can only turn from false to true: they may fire as soon as
# an event arrives. Every other condition waits for its window to close.
_UPWARD_OPS = frozenset({"gt", "gte"})
_UPWARD_TYPES = frozenset({"event_count", "value_count", "value_sum", "temporal"})

TYPES = (
    "event_count", "value_count", "temporal", "temporal_ordered",
    "value_sum", "value_avg", "value_percentile", "value_median",
)


@dataclass(frozen=True, slots=True)
class Condition:
    """One threshold test, e.g. ``gte 100``."""

    op: str
    threshold: float

    def test(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class CorrelationSpec:
    """What the engine needs of one correlation rule, resolved and validated.

    ``rules`` holds the keys of the referenced rules in the rule's order (which matters for
    ``temporal_ordered``); ``group_fields`` maps each referenced rule key to the event fields
    its group-by resolves to (aliases applied); ``fields`` is the condition field(s).
    """

    key: str
    type: str
    rules: tuple[str, ...]
    group_by: tuple[str, ...]
    group_fields: Mapping[str, tuple[str, ...]]
    span_us: int
    conditions: tuple[Condition, ...]
    fields: tuple[str, ...]
    percentile: float | None
    emits: bool
    rule: SigmaCorrelationRule

    @property
    def fires_early(self) -> bool:
        """True when the condition can be decided as events arrive (counts that only grow)."""
        if self.type == "temporal_ordered":
            return True
        return self.type in _UPWARD_TYPES and all(c.op in _UPWARD_OPS for c in self.conditions)

    def satisfied(self, value: float) -> bool:
        return all(c.test(value) for c in self.conditions)


def rule_key(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """How a rule is known inside the engine: its id, else its name, else its title."""
    if rule.id is not None:
        return str(rule.id)
    return rule.name or rule.title


def _location(rule: SigmaRule | SigmaCorrelationRule) -> tuple[str | None, int | None]:
    if rule.source is None:
        return None, None
    return str(rule.source.path), rule.source.line


def _raw_condition(rule: SigmaCorrelationRule) -> Mapping[str, Any] | None:
    """The condition mapping as written in the YAML file, or None when unavailable."""
    path, _ = _location(rule)
    if path is None or not Path(path).is_file():
        return None
    try:
        documents = list(yaml.safe_load_all(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError):
        return None  # pySigma read it already; fall back to its (integer) thresholds
    for doc in documents:
        if not isinstance(doc, dict) or not isinstance(doc.get("correlation"), dict):
            continue
        same_id = rule.id is not None and str(doc.get("id")) == str(rule.id)
        same_name = rule.id is None and doc.get("name") == rule.name and doc.get("title") == rule.title
        if same_id or same_name:
            condition = doc["correlation"].get("condition")
            return condition if isinstance(condition, dict) else None
    return None


def _conditions(rule: SigmaCorrelationRule) -> tuple[tuple[Condition, ...], tuple[str, ...], float | None]:
    path, line = _location(rule)
    cond = rule.condition
    if not isinstance(cond, SigmaCorrelationCondition):
        raise RuleError("extended (boolean expression) correlation conditions are not supported", path, line)
    raw = _raw_condition(rule)
    conditions: list[Condition] = []
    if raw is not None:
        for op, value in raw.items():
            if op in _OPS:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise RuleError(f"correlation condition {op}: {value!r} is not a number", path, line)
                conditions.append(Condition(op, float(value)))
    if not conditions:
        conditions.append(Condition(cond.op.name.lower(), float(cond.count)))
    ref = cond.fieldref
    fields: tuple[str, ...] = () if ref is None else ((ref,) if isinstance(ref, str) else tuple(ref))
    percentile = float(cond.percentile) if cond.percentile is not None else None
    return tuple(conditions), fields, percentile


def compile_correlation(
    rule: SigmaCorrelationRule,
    known: Mapping[str, SigmaRule | SigmaCorrelationRule],
) -> CorrelationSpec:
    """Check one correlation rule against the loaded rules and compile it.

    ``known`` maps every way a rule can be referenced (id and name) to the rule.
    Raises :class:`RuleError` with the rule's file and line when it cannot run.
    """
    path, line = _location(rule)
    ctype = rule.type.name.lower() if isinstance(rule.type, SigmaCorrelationType) else str(rule.type)
    if ctype not in TYPES:
        raise RuleError(f"unsupported correlation type {ctype!r}", path, line)
    if not rule.rules:
        raise RuleError("correlation rule references no rules", path, line)
    refs: list[str] = []
    names_of: dict[str, set[str]] = {}
    written: dict[str, str] = {}
    for ref in rule.rules:
        target = known.get(ref.reference)
        if target is None:
            raise RuleError(f"correlation references unknown rule {ref.reference!r}", path, line)
        key = rule_key(target)
        refs.append(key)
        written.setdefault(key, ref.reference)
        # An alias may name the rule by id or by name, whichever the author used in `rules`.
        names_of.setdefault(key, set()).update(
            n for n in (ref.reference, str(target.id) if target.id else None, target.name) if n
        )
    group_by = tuple(rule.group_by or ())
    group_fields: dict[str, tuple[str, ...]] = {}
    for key, names in names_of.items():
        resolved: list[str] = []
        for group_field in group_by:
            alias = rule.aliases.aliases.get(group_field)
            if alias is None:
                resolved.append(group_field)
                continue
            mapped = [f for r, f in alias.mapping.items() if r.reference in names]
            if not mapped:
                raise RuleError(f"alias {group_field!r} does not map rule {written[key]!r}", path, line)
            resolved.append(mapped[0])
        group_fields[key] = tuple(resolved)
    conditions, fields, percentile = _conditions(rule)
    if ctype.startswith("value_") and not fields:
        raise RuleError(f"{ctype} correlation needs a condition field", path, line)
    if ctype == "value_median":
        percentile = 50.0
    return CorrelationSpec(
        key=rule_key(rule),
        type=ctype,
        rules=tuple(refs),
        group_by=group_by,
        group_fields=group_fields,
        span_us=rule.timespan.seconds * 1_000_000,
        conditions=conditions,
        fields=fields,
        percentile=percentile,
        emits=bool(getattr(rule, "_output", True)),
        rule=rule,
    )


def compile_all(
    rules: Sequence[SigmaRule], correlations: Sequence[SigmaCorrelationRule],
) -> tuple[list[CorrelationSpec], list[RuleError]]:
    """Compile every correlation, collecting errors instead of stopping at the first."""
    known: dict[str, SigmaRule | SigmaCorrelationRule] = {}
    everything: list[SigmaRule | SigmaCorrelationRule] = [*rules, *correlations]
    for r in everything:
        if r.id is not None:
            known[str(r.id)] = r
        if r.name:
            known[r.name] = r
    specs: list[CorrelationSpec] = []
    errors: list[RuleError] = []
    for corr in correlations:
        try:
            specs.append(compile_correlation(corr, known))
        except RuleError as exc:
            errors.append(exc)
    return specs, errors
