"""Compile one pySigma rule, for one route, into Python closures plus prefilter atoms.

pySigma has already parsed the YAML, applied the modifiers (values arrive as
``SigmaString``, ``SigmaRegularExpression``, ``SigmaCIDRExpression``...) and resolved
the condition (``1 of``, ``all of``, ``them``) into an AND/OR/NOT tree of field/value
comparisons. This module turns that tree into nested closures over a per-event
:class:`Ctx`, once per rule and route, and derives the *necessary atoms*: a set of
(field, lower-cased literal) pairs of which at least one must occur in the event for the
rule to match. The engine finds candidate rules from those atoms with one Aho-Corasick
pass per field and evaluates only the candidates.

Matching semantics (shared with ``reference.py``): strings compare case-insensitively
unless ``cased``; ``*``/``?`` are wildcards over the whole value; ``re`` searches
(unanchored, case-sensitive unless ``i``); keywords are substring searches over the
event's values (Windows) or its message text (ECS: ``message``, else ``event.original``,
never the syslog header); ``null`` means the field is absent; lists match when any item does.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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
    Placeholder,
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

from rules.sigma.fieldmap import KEYWORD_FIELD, ecs_path, windows_column, windows_view
from rules.sigma.route import Route
from soc_core.errors import RuleError
from soc_core.event import Event, get_field
from soc_core.query.text import searchable_text

# The stdlib regex parser (private, but what ``re`` itself uses) finds the literals a
# regular expression cannot match without. Imported by name: ``sre_parse`` warns.
_sre_parser: Any = importlib.import_module("re._parser")
_sre_constants: Any = importlib.import_module("re._constants")

Pred = Callable[["Ctx"], bool]
Atom = tuple[str, str]  # (field key, lower-cased literal that must occur in that field)


def as_strings(value: Any) -> tuple[str, ...]:
    """Every matchable text of a field value: scalars as text, list items flattened."""
    if type(value) is str:
        return (value,)
    if value is None:
        return ()
    if isinstance(value, list):
        out: list[str] = []
        for item in value:  # iterative for the common flat list: this is on the hot path
            if type(item) is str:
                out.append(item)
            elif item is not None:
                out.extend(as_strings(item))
        return tuple(out)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, (int, float)):
        return (str(value),)
    if isinstance(value, str):
        return (value,)
    return ()


class Ctx:
    """One event under evaluation; caches the Windows view and lower-cased field texts."""

    __slots__ = ("_cache", "_view", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        self._view: dict[str, Any] | None = None
        self._cache: dict[str, tuple[str, ...]] = {}

    @property
    def view(self) -> dict[str, Any]:
        if self._view is None:
            self._view = windows_view(self.event)
        return self._view

    def lowered(self, access: FieldAccess) -> tuple[str, ...]:
        hit = self._cache.get(access.key)
        if hit is None:
            raw = access.get(self)
            # Most values are one string: skip the generic flattening for them.
            hit = (raw.lower(),) if type(raw) is str else tuple(s.lower() for s in as_strings(raw))
            self._cache[access.key] = hit
        return hit

    def texts(self, access: FieldAccess) -> tuple[str, ...]:
        key = "\x01" + access.key
        hit = self._cache.get(key)
        if hit is None:
            hit = as_strings(access.get(self))
            self._cache[key] = hit
        return hit


@dataclass(frozen=True)
class FieldAccess:
    """How one Sigma field (or the keyword haystack) is read on one route."""

    key: str
    get: Callable[[Ctx], Any]


def _windows_keywords(ctx: Ctx) -> list[Any]:
    return list(ctx.view.values())


def _ecs_keywords(ctx: Ctx) -> list[Any]:
    # The message text, as the backends' default field holds it (Filebeat keeps `message`),
    # never the syslog header: a keyword such as ':' must not match the timestamp. An event
    # that keeps no message is read on its original text (soc_core.query.text).
    text = searchable_text(ctx.event)
    return [] if text is None else [text]


def field_access(route: Route, sigma_field: str | None) -> FieldAccess:
    """The accessor of a Sigma field name on a route (``None``: the keyword haystack)."""
    if sigma_field is None:
        if route.windows:
            return FieldAccess("w" + KEYWORD_FIELD, _windows_keywords)
        return FieldAccess("e" + KEYWORD_FIELD, _ecs_keywords)
    if route.windows:
        column = windows_column(sigma_field, route.renames)
        return FieldAccess("w:" + column, lambda ctx: ctx.view.get(column))
    path = ecs_path(route.family, sigma_field)

    def get(ctx: Ctx) -> Any:
        value = get_field(ctx.event, path)
        if value is None and path != sigma_field:
            value = get_field(ctx.event, sigma_field)
        return value

    return FieldAccess("e:" + path, get)


# --- string patterns -------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """A Sigma string reduced to one test: eq/prefix/suffix/contains/any or a regex."""

    kind: str
    literal: str = ""
    regex: re.Pattern[str] | None = None
    needle: str = ""  # the longest literal run: it must occur for the value to match


def string_pattern(value: SigmaString, cased: bool, keyword: bool = False) -> Pattern:
    """Classify a Sigma string; ``keyword`` values are substring searches."""
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise RuleError(f"placeholder %{part.name}% has no value (define it in the placeholders file)")
        if isinstance(part, str):
            part = part if cased else part.lower()
            if parts and isinstance(parts[-1], str):
                parts[-1] += part
                continue
        parts.append(part)
    multi = SpecialChars.WILDCARD_MULTI
    if keyword:
        if not parts or parts[0] is not multi:
            parts.insert(0, multi)
        if parts[-1] is not multi:
            parts.append(multi)
    literals = [p for p in parts if isinstance(p, str)]
    needle = max(literals, key=len) if literals else ""
    specials = [p for p in parts if not isinstance(p, str)]
    if not specials:
        return Pattern("eq", literals[0] if literals else "", needle=needle)
    if all(p is multi for p in specials) and len(literals) <= 1:
        inner = literals[0] if literals else ""
        if not literals:
            return Pattern("any")
        starts, ends = parts[0] is multi, parts[-1] is multi
        if len(parts) == 2:
            return Pattern("suffix" if starts else "prefix", inner, needle=needle)
        if len(parts) == 3 and starts and ends:
            return Pattern("contains", inner, needle=needle)
    body = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p is multi else ".") for p in parts
    )
    return Pattern("regex", regex=re.compile(body, re.DOTALL), needle=needle)


def _pattern_test(p: Pattern) -> Callable[[str], bool]:
    lit = p.literal
    if p.kind == "eq":
        return lit.__eq__
    if p.kind == "prefix":
        return lambda s: s.startswith(lit)
    if p.kind == "suffix":
        return lambda s: s.endswith(lit)
    if p.kind == "contains":
        return lambda s: lit in s
    if p.kind == "any":
        return lambda s: True
    assert p.regex is not None
    return lambda s: p.regex.fullmatch(s) is not None  # type: ignore[union-attr]


def _fused_test(patterns: list[Pattern]) -> Callable[[str], bool]:
    """One test for an OR of patterns: C-level ``startswith``/``endswith`` over tuples,
    a set for equalities, and a short loop for the rest (regexes, substrings)."""
    eq = frozenset(p.literal for p in patterns if p.kind == "eq")
    prefixes = tuple(p.literal for p in patterns if p.kind == "prefix")
    suffixes = tuple(p.literal for p in patterns if p.kind == "suffix")
    contains = tuple(p.literal for p in patterns if p.kind == "contains")
    regexes = tuple(p.regex for p in patterns if p.regex is not None)
    anything = any(p.kind == "any" for p in patterns)

    def test(s: str) -> bool:
        if anything or s in eq:
            return True
        if prefixes and s.startswith(prefixes):
            return True
        if suffixes and s.endswith(suffixes):
            return True
        for lit in contains:
            if lit in s:
                return True
        return any(rx.fullmatch(s) is not None for rx in regexes)

    return test


# --- values ----------------------------------------------------------------------------


def _to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        try:
            return float(int(text, 0))
        except ValueError:
            return None


_COMPARE: Mapping[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


# --- analysis: a rule's condition tree as data -----------------------------------------
#
# Compiling is split in two so that the expensive half can be cached between runs
# (``rules/sigma/cache.py``): ``RuleCompiler`` classifies every value once and produces a
# tree of plain tuples (picklable, no closures); ``Linker`` turns such a tree into nested
# closures, which costs a few microseconds a node. Node shapes (``f`` is a Sigma field
# name, ``None`` for keywords):
#   ("all", nodes) ("any", nodes) ("not", node)
#   ("str", f, cased, Pattern) ("fused", f, patterns) ("bool", f, text) ("num", f, number)
#   ("null", f) ("exists", f, want) ("re", f, source, flags) ("cidr", f, network)
#   ("cmp", f, operator, bound) ("ref", f, other_field, starts_with, ends_with)

Node = tuple[Any, ...]


def _all_node(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else ("all", tuple(nodes))


def _any_node(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else ("any", tuple(nodes))


@dataclass
class RuleCompiler:
    """Analyses one rule for one route into a :data:`Node` tree."""

    route: Route

    # Leaves ---------------------------------------------------------------------------

    def value_node(self, sigma_field: str | None, value: SigmaType) -> Node:
        if isinstance(value, SigmaExpansion):
            return _any_node([self.value_node(sigma_field, v) for v in value.values])
        if isinstance(value, SigmaString):
            cased = isinstance(value, SigmaCasedString)
            return ("str", sigma_field, cased, string_pattern(value, cased, keyword=sigma_field is None))
        if isinstance(value, SigmaTimestampPart):
            # Checked before SigmaNumber, its base class: equality would be wrong.
            raise RuleError("timestamp part modifiers (minute, hour, day, week, month, year) are not supported")
        if isinstance(value, SigmaBool):
            return ("bool", sigma_field, "true" if value.boolean else "false")
        if isinstance(value, SigmaNumber):
            return ("num", sigma_field, value.number)
        if isinstance(value, SigmaNull):
            return ("null", sigma_field)
        if isinstance(value, SigmaExists):
            return ("exists", sigma_field, value.exists)
        if isinstance(value, SigmaRegularExpression):
            flags = re.DOTALL if SigmaRegularExpressionFlag.DOTALL in value.flags else 0
            flags |= re.IGNORECASE if SigmaRegularExpressionFlag.IGNORECASE in value.flags else 0
            flags |= re.MULTILINE if SigmaRegularExpressionFlag.MULTILINE in value.flags else 0
            if value.regexp.contains_placeholder():
                raise RuleError("placeholder in a regular expression has no value")
            source = str(value.regexp)
            try:
                re.compile(source, flags)
            except re.error as exc:
                raise RuleError(f"invalid regular expression {source!r}: {exc}") from None
            return ("re", sigma_field, source, flags)
        if isinstance(value, SigmaCIDRExpression):
            return ("cidr", sigma_field, value.network)
        if isinstance(value, SigmaCompareExpression):
            return ("cmp", sigma_field, value.op, float(value.number.number))
        if isinstance(value, SigmaFieldReference):
            return ("ref", sigma_field, value.field, value.starts_with, value.ends_with)
        raise RuleError(f"unsupported Sigma value type {type(value).__name__}")

    # Tree -----------------------------------------------------------------------------

    def node(self, node: Any) -> Node:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            if node.field in self.route.unsupported:
                raise UnsupportedOnRoute(node.field)
            return self.value_node(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self.value_node(None, node.value)
        if isinstance(node, ConditionNOT):
            return ("not", self.node(node.args[0]))
        if isinstance(node, ConditionAND):
            return _all_node([self.node(a) for a in node.args])
        if isinstance(node, ConditionOR):
            fused = self._fused_or(node.args)
            if fused is not None:
                return fused
            return _any_node([self.node(a) for a in node.args])
        raise RuleError(f"unsupported condition element {type(node).__name__}")

    def _fused_or(self, args: Iterable[Any]) -> Node | None:
        """An OR of uncased string values of one field, as one compiled alternation."""
        args = list(args)
        if len(args) < 3:
            return None
        names = set()
        patterns: list[Pattern] = []
        for a in args:
            if not isinstance(a, ConditionFieldEqualsValueExpression) or a.field is None:
                return None
            if type(a.value) is not SigmaString or a.field in self.route.unsupported:
                return None
            names.add(a.field)
            patterns.append(string_pattern(a.value, cased=False))
        if len(names) != 1:
            return None
        return ("fused", names.pop(), tuple(patterns))


# --- linking: a node tree into closures --------------------------------------------------


class Linker:
    """Turns :data:`Node` trees of one route into predicates; collects their accessors."""

    def __init__(self, route: Route, accessors: dict[str | None, FieldAccess] | None = None) -> None:
        self.route = route
        self.fields: dict[str, FieldAccess] = {}
        # Accessors by Sigma field name, shareable between the rules of one route.
        self._accessors = accessors if accessors is not None else {}

    def access(self, sigma_field: str | None) -> FieldAccess:
        acc = self._accessors.get(sigma_field)
        if acc is None:
            acc = self._accessors[sigma_field] = field_access(self.route, sigma_field)
        self.fields.setdefault(acc.key, acc)
        return acc

    def link(self, node: Node) -> Pred:
        kind = node[0]
        if kind == "all":
            return _all([self.link(n) for n in node[1]])
        if kind == "any":
            return _any([self.link(n) for n in node[1]])
        if kind == "not":
            inner = self.link(node[1])
            return lambda ctx: not inner(ctx)
        acc = self.access(node[1])
        if kind == "str":
            test = _pattern_test(node[3])
            if node[2]:
                return lambda ctx: any(test(s) for s in ctx.texts(acc))
            return lambda ctx: any(test(s) for s in ctx.lowered(acc))
        if kind == "fused":
            fused = _fused_test(list(node[2]))
            return lambda ctx: any(fused(s) for s in ctx.lowered(acc))
        if kind == "bool":
            text = node[2]
            return lambda ctx: text in ctx.lowered(acc)
        if kind == "num":
            return _number_pred(acc, node[2])
        if kind == "null":
            return lambda ctx: acc.get(ctx) is None
        if kind == "exists":
            want = node[2]
            return lambda ctx: (acc.get(ctx) is not None) is want
        if kind == "re":
            rx = re.compile(node[2], node[3])
            return lambda ctx: any(rx.search(s) is not None for s in ctx.texts(acc))
        if kind == "cidr":
            return _cidr_pred(acc, node[2])
        if kind == "cmp":
            return _compare_pred(acc, _COMPARE[node[2]], node[3])
        if kind == "ref":
            return _ref_pred(acc, self.access(node[2]), node[3], node[4])
        raise RuleError(f"unknown compiled node {kind!r}")


def _number_pred(acc: FieldAccess, number: Any) -> Pred:
    text = str(number)

    def eq_number(ctx: Ctx) -> bool:
        raw = acc.get(ctx)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return bool(raw == number)
        return text in ctx.lowered(acc)

    return eq_number


def _cidr_pred(acc: FieldAccess, net: Any) -> Pred:
    def in_network(ctx: Ctx) -> bool:
        for s in ctx.texts(acc):
            try:
                if ipaddress.ip_address(s.strip()) in net:
                    return True
            except ValueError:
                continue
        return False

    return in_network


def _compare_pred(acc: FieldAccess, op: Callable[[float, float], bool], bound: float) -> Pred:
    def compare(ctx: Ctx) -> bool:
        for s in ctx.texts(acc):
            n = _to_number(s)
            if n is not None and op(n, bound):
                return True
        return False

    return compare


def _ref_pred(acc: FieldAccess, other: FieldAccess, starts: bool, ends: bool) -> Pred:
    def ref(ctx: Ctx) -> bool:
        mine, theirs = ctx.lowered(acc), ctx.lowered(other)
        for a in mine:
            for b in theirs:
                if (starts and ends and b in a) or (starts and not ends and a.startswith(b)) or (
                    ends and not starts and a.endswith(b)) or (not starts and not ends and a == b):
                    return True
        return False

    return ref


class UnsupportedOnRoute(RuleError):
    """The rule uses a field that the route's events do not have (pySigma refuses too)."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"field {field_name} does not exist on this logsource route")


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda ctx: a(ctx) and b(ctx)
    return lambda ctx: all(p(ctx) for p in preds)


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda ctx: a(ctx) or b(ctx)
    return lambda ctx: any(p(ctx) for p in preds)


# --- necessary atoms -------------------------------------------------------------------


def _cost(atoms: frozenset[Atom]) -> float:
    # Short literals occur everywhere and wake many rules: prefer few, long needles.
    return sum(1.0 / len(needle) for _, needle in atoms)


def necessary_atoms(node: Any, route: Route) -> frozenset[Atom] | None:
    """Atoms of which one must be present when ``node`` holds, or ``None`` (no such set)."""
    if isinstance(node, ConditionFieldEqualsValueExpression | ConditionValueExpression):
        field_name = node.field if isinstance(node, ConditionFieldEqualsValueExpression) else None
        return _value_atoms(field_access(route, field_name).key, node.value, field_name is None)
    if isinstance(node, ConditionAND):
        best: frozenset[Atom] | None = None
        for arg in node.args:
            atoms = necessary_atoms(arg, route)
            if atoms is not None and (best is None or _cost(atoms) < _cost(best)):
                best = atoms
        return best
    if isinstance(node, ConditionOR):
        union: set[Atom] = set()
        for arg in node.args:
            atoms = necessary_atoms(arg, route)
            if atoms is None:
                return None
            union |= atoms
        return frozenset(union)
    return None  # NOT and anything else: absence cannot be pre-filtered


def _value_atoms(key: str, value: SigmaType, keyword: bool) -> frozenset[Atom] | None:
    if isinstance(value, SigmaExpansion):
        union: set[Atom] = set()
        for v in value.values:
            atoms = _value_atoms(key, v, keyword)
            if atoms is None:
                return None
            union |= atoms
        return frozenset(union)
    if type(value) is SigmaString:
        needle = string_pattern(value, cased=False, keyword=keyword).needle
        return frozenset({(key, needle)}) if needle else None
    if isinstance(value, SigmaCasedString):
        needle = string_pattern(value, cased=True, keyword=keyword).needle.lower()
        return frozenset({(key, needle)}) if needle else None
    if isinstance(value, SigmaNumber):
        return frozenset({(key, str(value.number).lower())})
    if isinstance(value, SigmaRegularExpression):
        needle = regex_needle(str(value.regexp))
        return frozenset({(key, needle)}) if needle else None
    return None


def regex_needle(pattern: str) -> str:
    """The longest literal run at the top level of a regex (lower-cased), or ``""``.

    Every match contains it, whatever the flags (the prefilter runs on lower-cased text,
    so case does not matter); alternations, groups and repeats are not looked into.
    """
    try:
        parsed = _sre_parser.parse(pattern, 0)
    except re.error:
        return ""
    best, run = "", []
    for op, arg in parsed:
        if op is _sre_constants.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    return best.lower()


@dataclass(frozen=True)
class VariantCode:
    """One rule analysed for one route, as data (what the rule-set cache stores)."""

    route: Route
    tree: Node
    atoms: frozenset[Atom] | None

    def resolve(self) -> VariantCode:
        return self


@dataclass(frozen=True)
class CompiledVariant:
    """One rule compiled for one route: the predicate, its accessors, its atoms."""

    rule: SigmaRule
    route: Route
    predicate: Pred
    fields: Mapping[str, FieldAccess]
    atoms: frozenset[Atom] | None


def condition_trees(rule: SigmaRule) -> list[Any]:
    """The rule's parsed condition trees (pySigma re-parses on every access: call once)."""
    return [c.parsed for c in rule.detection.parsed_condition]


def analyse_rule(rule: SigmaRule, route: Route, trees: list[Any] | None = None) -> VariantCode:
    """Analyse ``rule`` for ``route``; raises :class:`RuleError` (or UnsupportedOnRoute)."""
    compiler = RuleCompiler(route)
    if trees is None:
        trees = condition_trees(rule)
    tree = _any_node([compiler.node(t) for t in trees])
    atoms: frozenset[Atom] | None = frozenset()
    for t in trees:  # several conditions are OR-ed
        got = necessary_atoms(t, route)
        atoms = None if got is None or atoms is None else atoms | got
    if route.conditions:
        extra = [
            _any_node([("str", name, False, string_pattern(SigmaString(v), cased=False)) for v in values])
            for name, values in route.conditions
        ]
        tree = _all_node([*extra, tree])
    return VariantCode(route, tree, atoms)


def link_variant(rule: SigmaRule, code: VariantCode,
                 accessors: dict[str | None, FieldAccess] | None = None) -> CompiledVariant:
    """The runnable form of an analysed variant (``accessors``: shared per route)."""
    linker = Linker(code.route, accessors)
    predicate = linker.link(code.tree)
    return CompiledVariant(rule, code.route, predicate, linker.fields, code.atoms)


def compile_rule(rule: SigmaRule, route: Route, trees: list[Any] | None = None) -> CompiledVariant:
    """Compile ``rule`` for ``route``; raises :class:`RuleError` (or UnsupportedOnRoute)."""
    return link_variant(rule, analyse_rule(rule, route, trees))
