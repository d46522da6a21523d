"""The streaming Sigma matcher: every loaded rule against every event, in memory.

At construction each rule is analysed once per logsource route (``compiler.py``); a
variant is linked into closures when the first event that can reach it arrives. For
each kind of event (Windows channel + event id, or ECS dataset) the engine builds, on
first sight, a :class:`Plan`: the rule variants routed there, and per field one
Aho-Corasick automaton over the lower-cased necessary literals of those variants. An
event then costs one automaton pass per indexed field; only the variants whose literal
was found (plus the few that have no necessary literal) are evaluated fully.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from heapq import merge
from typing import Protocol

import ahocorasick
from sigma.rule import SigmaRule

from rules.sigma.compiler import (
    CompiledVariant,
    Ctx,
    FieldAccess,
    UnsupportedOnRoute,
    VariantCode,
    analyse_rule,
    as_strings,
    condition_trees,
    link_variant,
)
from rules.sigma.fieldmap import KEYWORD_FIELD
from rules.sigma.loader import RuleSet
from rules.sigma.route import Route, event_route_key
from soc_core.errors import RuleError
from soc_core.event import Event


@dataclass
class Plan:
    """The candidate variants for one kind of event and their literal index."""

    variants: list[CompiledVariant]
    always: list[int]
    # (field accessor, automaton whose values are tuples of variant indices)
    indexes: list[tuple[FieldAccess, ahocorasick.Automaton]] = field(default_factory=list)
    # The same for Windows columns, read straight from the event's column view (the
    # hot path: one dict lookup and one lower() per indexed column).
    columns: list[tuple[str, str, ahocorasick.Automaton]] = field(default_factory=list)


def _plan(variants: list[CompiledVariant]) -> Plan:
    always: list[int] = []
    by_field: dict[str, dict[str, list[int]]] = {}
    accessors: dict[str, FieldAccess] = {}
    for i, variant in enumerate(variants):
        if variant.atoms is None:
            always.append(i)
            continue
        for key, needle in variant.atoms:
            by_field.setdefault(key, {}).setdefault(needle, []).append(i)
            accessors[key] = variant.fields[key]
    plan = Plan(variants, always)
    for key, needles in sorted(by_field.items()):
        automaton = ahocorasick.Automaton()
        for needle, ids in needles.items():
            automaton.add_word(needle, tuple(ids))
        automaton.make_automaton()
        if key.startswith("w:"):
            plan.columns.append((key, key[2:], automaton))
        else:
            plan.indexes.append((accessors[key], automaton))
    return plan


def _column_access(key: str) -> FieldAccess:
    column = key[2:]
    return FieldAccess(key, lambda ctx: ctx.view.get(column))


class StoredVariant(Protocol):
    """An analysed variant, possibly still serialised (the cache defers unpickling)."""

    @property
    def route(self) -> Route: ...

    def resolve(self) -> VariantCode: ...


@dataclass
class EngineCode:
    """A rule set analysed for the engine, as data: what the rule-set cache stores.

    ``variants`` pairs the index of a rule in ``RuleSet.rules`` with one of its analysed
    variants; ``unrouted`` lists rules no route knows; ``errors`` the rules that failed.
    """

    variants: list[tuple[int, StoredVariant]] = field(default_factory=list)
    unrouted: list[int] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def analyse_ruleset(ruleset: RuleSet) -> EngineCode:
    """Analyse every rule of ``ruleset`` on every route its logsource maps to."""
    # Imported here: an engine restored from the cache never needs pySigma's tables.
    from rules.sigma.logsource import routes_for

    code = EngineCode()
    for index, rule in enumerate(ruleset.rules):
        routes: list[Route] = routes_for(rule.logsource)
        if not routes:
            code.unrouted.append(index)
        variants: list[VariantCode] = []
        try:
            trees = condition_trees(rule)
            for route in routes:
                try:
                    variants.append(analyse_rule(rule, route, trees))
                except UnsupportedOnRoute:
                    continue  # e.g. a registry rule using User has no Security 4657 form
        except RuleError as exc:
            # All or nothing: a rule that fails on one route runs on none.
            code.errors.append(RuleError(f"{rule.title}: {exc.reason}", path=ruleset.source_of(rule), line=1))
            continue
        code.variants.extend((index, v) for v in variants)
    return code


class SigmaEngine:
    """Matches events against a :class:`RuleSet` (filters already applied at load).

    Rules that cannot be compiled are added to ``errors`` (and to the ruleset's errors)
    and do not run; ``stats`` counts evaluations, for benchmarks. ``code``, when given,
    is the rule set's analysis restored from the cache (its errors are already in the
    rule set's): only linking is left to do.
    """

    def __init__(self, ruleset: RuleSet, code: EngineCode | None = None) -> None:
        self.ruleset = ruleset
        if code is None:
            code = analyse_ruleset(ruleset)
            ruleset.errors.extend(code.errors)
        self.code = code
        self.errors: list[RuleError] = list(code.errors)
        # Variants by order of load: (order, rule index, analysed form). Windows ones by
        # channel (None: any channel), so that the plan of a new kind of event looks at
        # the few that can apply; each is linked the first time a plan takes it.
        self._windows: dict[str | None, list[tuple[int, int, StoredVariant]]] = {}
        self._ecs: list[tuple[int, int, StoredVariant]] = []
        self._linked: dict[int, CompiledVariant] = {}
        self._accessors: dict[str, dict[str | None, FieldAccess]] = {}
        self._plans: dict[tuple[str, str, str], Plan] = {}
        self.evaluated = 0
        # Rules whose logsource no route knows (e.g. category antivirus without a
        # product): loaded, but no event can reach them; reported, not hidden.
        self.unrouted: list[SigmaRule] = [ruleset.rules[i] for i in code.unrouted]
        for order, (index, stored) in enumerate(code.variants):
            route = stored.route
            if not route.windows:
                self._ecs.append((order, index, stored))
                continue
            for channel in route.channels if route.channels is not None else (None,):
                self._windows.setdefault(channel, []).append((order, index, stored))

    def _link(self, order: int, index: int, stored: StoredVariant) -> CompiledVariant:
        variant = self._linked.get(order)
        if variant is None:
            accessors = self._accessors.setdefault(stored.route.name, {})
            variant = link_variant(self.ruleset.rules[index], stored.resolve(), accessors)
            self._linked[order] = variant
        return variant

    @property
    def rules(self) -> list[SigmaRule]:
        return self.ruleset.rules

    def plan_for(self, key: tuple[str, str, str]) -> Plan:
        """The plan of one event kind, built on first use."""
        plan = self._plans.get(key)
        if plan is None:
            if key[0] == "w":
                both = merge(self._windows.get(key[1], ()), self._windows.get(None, ()), key=lambda p: p[0])
                variants = [self._link(*entry) for entry in both if entry[2].route.accepts_windows(key[1], key[2])]
            else:
                variants = [self._link(*entry) for entry in self._ecs if entry[2].route.accepts_dataset(key[1])]
            plan = _plan(variants)
            self._plans[key] = plan
        return plan

    def match(self, event: Event) -> list[SigmaRule]:
        """The rules that match ``event``, in load order, each once."""
        plan = self.plan_for(event_route_key(event))
        if not plan.variants:
            return []
        ctx = Ctx(event)
        found: set[tuple[int, ...]] = set()
        add = found.add
        if plan.columns:
            view = ctx.view
            cache = ctx._cache
            for key, column, automaton in plan.columns:
                raw = view.get(column)
                if type(raw) is str:
                    low = raw.lower()
                    cache[key] = (low,)  # the full evaluation reuses it
                    for _, ids in automaton.iter(low):
                        add(ids)
                elif raw is not None:
                    for text in ctx.lowered(plan.variants[0].fields.get(key) or _column_access(key)):
                        for _, ids in automaton.iter(text):
                            add(ids)
        for access, automaton in plan.indexes:
            if access.key.endswith(KEYWORD_FIELD):
                # The keyword haystack is every value: one pass over them joined (no
                # needle holds NUL, so none spans two values).
                texts: tuple[str, ...] = ("\x00".join(as_strings(access.get(ctx))).lower(),)
            else:
                texts = ctx.lowered(access)
            for text in texts:
                for _, ids in automaton.iter(text):
                    add(ids)
        candidates = set(plan.always)
        for ids in found:
            candidates.update(ids)
        matched: list[SigmaRule] = []
        seen: set[int] = set()
        self.evaluated += len(candidates)
        for i in sorted(candidates):
            variant = plan.variants[i]
            if id(variant.rule) not in seen and variant.predicate(ctx):
                seen.add(id(variant.rule))
                matched.append(variant.rule)
        return matched

    def match_many(self, events: Sequence[Event]) -> list[list[SigmaRule]]:
        return [self.match(e) for e in events]
