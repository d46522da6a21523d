"""The naive reference evaluator: the Sigma semantics written plainly, for tests only.

No compilation, no prefilter, no caching: for each event it walks every routed rule's
pySigma condition tree and tests each value by turning it into a regular expression.
The engine must give exactly the same answers (``tests/rules/test_reference.py``); when
they differ, this file is the one that is easy to read and argue about.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from rules.sigma.fieldmap import ecs_path, sigma_columns
from rules.sigma.loader import RuleSet
from rules.sigma.logsource import Route, event_route_key, routes_for
from soc_core.errors import RuleError
from soc_core.event import Event, get_field
from soc_core.query.text import searchable_text


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return []


def _string_regex(value: SigmaString, keyword: bool) -> re.Pattern[str]:
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.append(re.escape(part))
        else:
            raise RuleError("unresolved placeholder")
    body = "".join(out)
    if keyword:
        body = f".*{body}.*"
    flags = re.DOTALL | (0 if isinstance(value, SigmaCasedString) else re.IGNORECASE)
    return re.compile(body, flags)


class ReferenceEvaluator:
    """Evaluates a :class:`RuleSet` one rule and one event at a time."""

    def __init__(self, ruleset: RuleSet) -> None:
        # Condition trees parsed once (pySigma re-parses on each access); nothing else kept.
        self.rules = [(r, routes_for(r.logsource), [c.parsed for c in r.detection.parsed_condition])
                      for r in ruleset.rules]
        self._columns: dict[str, Any] = {}
        self._regexes: dict[tuple[Any, ...], re.Pattern[str]] = {}  # compiling is the slow part

    def match(self, event: Event) -> list[SigmaRule]:
        kind, a, b = event_route_key(event)
        self._columns = {k.lower(): v for k, v in sigma_columns(event).items()}
        out = []
        for rule, routes, trees in self.rules:
            for route in routes:
                if route.windows != (kind == "w"):
                    continue
                if kind == "w" and not route.accepts_windows(a, b):
                    continue
                if kind == "e" and not route.accepts_dataset(a):
                    continue
                if self._matches(trees, route, event):
                    out.append(rule)
                    break
        return out

    def _matches(self, trees: list[Any], route: Route, event: Event) -> bool:
        for name, values in route.conditions:
            if not any(v.lower() == t.lower() for v in values for t in _texts(self._get(route, event, name))):
                return False
        try:
            return any(self._node(t, route, event) for t in trees)
        except _Unsupported:
            return False

    def _get(self, route: Route, event: Event, name: str | None) -> Any:
        if route.windows:
            columns = self._columns
            if name is None:
                return list(columns.values())
            if name in route.unsupported:
                raise _Unsupported
            return columns.get(route.renames.get(name, name).lower())
        if name is None:
            text = searchable_text(event)  # the message, not the header (as the engine)
            return [] if text is None else [text]
        path = ecs_path(route.family, name)
        value = get_field(event, path)
        return get_field(event, name) if value is None else value

    def _node(self, node: Any, route: Route, event: Event) -> bool:
        if isinstance(node, ConditionAND):
            return all(self._node(a, route, event) for a in node.args)
        if isinstance(node, ConditionOR):
            return any(self._node(a, route, event) for a in node.args)
        if isinstance(node, ConditionNOT):
            return not self._node(node.args[0], route, event)
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._value(node.value, self._get(route, event, node.field), route, event, False)
        if isinstance(node, ConditionValueExpression):
            return self._value(node.value, self._get(route, event, None), route, event, True)
        raise RuleError(f"unknown condition node {type(node).__name__}")

    def _value(self, value: SigmaType, raw: Any, route: Route, event: Event, keyword: bool) -> bool:
        texts = _texts(raw)
        if isinstance(value, SigmaExpansion):
            return any(self._value(v, raw, route, event, keyword) for v in value.values)
        if isinstance(value, SigmaString):
            key = (tuple(value.s), keyword, isinstance(value, SigmaCasedString))
            rx = self._regexes.get(key)
            if rx is None:
                rx = self._regexes[key] = _string_regex(value, keyword)
            return any(rx.fullmatch(t) for t in texts)
        if isinstance(value, SigmaTimestampPart):
            raise RuleError("timestamp part modifiers are not supported")
        if isinstance(value, SigmaBool):
            return any(t.lower() == str(value.boolean).lower() for t in texts)
        if isinstance(value, SigmaNumber):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                return bool(raw == value.number)
            return any(t.lower() == str(value.number) for t in texts)
        if isinstance(value, SigmaNull):
            return raw is None
        if isinstance(value, SigmaExists):
            return (raw is not None) == value.exists
        if isinstance(value, SigmaRegularExpression):
            flags = 0
            for flag, py in ((SigmaRegularExpressionFlag.IGNORECASE, re.IGNORECASE),
                             (SigmaRegularExpressionFlag.MULTILINE, re.MULTILINE),
                             (SigmaRegularExpressionFlag.DOTALL, re.DOTALL)):
                if flag in value.flags:
                    flags |= py
            return any(re.search(str(value.regexp), t, flags) for t in texts)
        if isinstance(value, SigmaCIDRExpression):
            for t in texts:
                try:
                    if ipaddress.ip_address(t.strip()) in value.network:
                        return True
                except ValueError:
                    pass
            return False
        if isinstance(value, SigmaCompareExpression):
            bound = float(value.number.number)
            for t in texts:
                try:
                    n = float(t)
                except ValueError:
                    try:
                        n = float(int(t, 0))
                    except ValueError:
                        continue
                ok = {CompareOperators.LT: n < bound, CompareOperators.LTE: n <= bound,
                      CompareOperators.GT: n > bound, CompareOperators.GTE: n >= bound,
                      CompareOperators.NEQ: n != bound}[value.op]
                if ok:
                    return True
            return False
        if isinstance(value, SigmaFieldReference):
            others = [o.lower() for o in _texts(self._get(route, event, value.field))]
            for t in (x.lower() for x in texts):
                for o in others:
                    if value.starts_with and value.ends_with:
                        if o in t:
                            return True
                    elif value.starts_with:
                        if t.startswith(o):
                            return True
                    elif value.ends_with:
                        if t.endswith(o):
                            return True
                    elif t == o:
                        return True
            return False
        raise RuleError(f"unsupported value type {type(value).__name__}")


class _Unsupported(RuleError):
    """The rule names a field its route's events cannot have."""

    def __init__(self) -> None:
        super().__init__("field not available on this route")
