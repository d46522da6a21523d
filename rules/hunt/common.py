"""What both retro-hunt backends share: hits and results, and the streaming engine's own
routing decisions (which rules run on which events), reused so that the three paths agree."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from rules.sigma import RuleSet
from rules.sigma.compiler import Ctx, UnsupportedOnRoute, as_strings, compile_rule, field_access
from rules.sigma.logsource import Route, event_route_key, routes_for
from soc_core.contracts import Store, TimeRange
from soc_core.errors import RuleError
from soc_core.event import Event, get_field
from soc_core.query.ast import MatchAll

PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True, order=True)
class Hit:
    """One rule matching one stored event."""

    rule_id: str
    event_id: str
    rule_title: str = field(compare=False)
    timestamp: str = field(compare=False)
    event: Event = field(compare=False, repr=False, hash=False, default_factory=dict)


@dataclass
class HuntResult:
    """Hits (sorted, each once), rules that could not run, and what was looked at.

    ``failed`` maps the key of each rule in ``errors`` to its error; ``streamed`` names the
    rules the streaming engine ran over the stored events instead of the store's query
    language, with the reason (keyword rules, conversions that failed, correlations)."""

    backend: str
    hits: list[Hit] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    rules: int = 0
    events: int = 0
    failed: dict[str, RuleError] = field(default_factory=dict)
    streamed: dict[str, str] = field(default_factory=dict)

    def fail(self, rule: SigmaRule, error: RuleError) -> None:
        """Report ``rule`` as not run, with why."""
        self.errors.append(error)
        self.failed[rule_key(rule)] = error


class Hunter(Protocol):
    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult: ...


def rule_key(rule: SigmaRule) -> str:
    return str(rule.id) if rule.id is not None else str(rule.name or rule.title)


def detection_fields(rule: SigmaRule) -> list[str | None]:
    """Every field a rule's detections name (``None`` for keywords), in order, once."""
    out: dict[str | None, None] = {}

    def walk(node: SigmaDetection | SigmaDetectionItem) -> None:
        if isinstance(node, SigmaDetection):
            for item in node.detection_items:
                walk(item)
        else:
            out.setdefault(node.field, None)

    for detection in rule.detection.detections.values():
        walk(detection)
    return list(out)


def rule_routes(rule: SigmaRule) -> list[Route]:
    """The routes the streaming engine compiles this rule for (same decision, same code).

    Raises :class:`RuleError` when the engine cannot compile the rule at all."""
    routes = []
    for route in routes_for(rule.logsource):
        try:
            compile_rule(rule, route)
        except UnsupportedOnRoute:
            continue  # e.g. a registry rule using User has no Security 4657 form
        routes.append(route)
    return routes


def routes_or_error(ruleset: RuleSet, rule: SigmaRule, result: HuntResult) -> list[Route]:
    try:
        return rule_routes(rule)
    except RuleError as exc:
        path, line = source_of(ruleset, rule)
        result.fail(rule, RuleError(f"{rule.title}: {exc.reason}", path, line))
        return []


def route_accepts(route: Route, event: Event, ctx: Ctx) -> bool:
    """Whether the engine would evaluate a rule compiled for ``route`` on ``event``."""
    kind, first, second = event_route_key(event)
    if route.windows != (kind == "w"):
        return False
    if not (route.accepts_windows(first, second) if route.windows else route.accepts_dataset(first)):
        return False
    for name, values in route.conditions:
        texts = [t.lower() for t in as_strings(field_access(route, name).get(ctx))]
        if not any(t in values for t in texts):
            return False
    return True


def route_id(route: Route) -> tuple[Any, ...]:
    return (route.name, route.windows, route.channels, route.event_ids, route.conditions,
            tuple(sorted(route.renames.items())), route.unsupported, route.family, route.datasets)


def stored_events(store: Store, time_range: TimeRange) -> Iterator[Event]:
    """Every stored event in the range, oldest first, page by page."""
    cursor: str | None = None
    while True:
        page = store.search("events", MatchAll(), time_range, limit=PAGE_SIZE, cursor=cursor, order="asc")
        yield from page.events
        if page.cursor is None:
            return
        cursor = page.cursor


def source_of(ruleset: RuleSet, rule: SigmaRule) -> tuple[str | None, int | None]:
    path = ruleset.source_of(rule) or (str(rule.source.path) if rule.source is not None else None)
    return path, None


def convertible_copy(rule: SigmaRule) -> SigmaRule:
    """A copy to hand to a pySigma backend: conversion applies processing to the rule in
    place, and a rule that a correlation references has its output disabled (backends then
    return no query), while retro-hunt, like the streaming matcher, runs every base rule."""
    clone = copy.deepcopy(rule)
    clone._output = True  # pySigma has disable_output() but no public way back
    return clone


def make_hit(rule: SigmaRule, event: Event) -> Hit:
    return Hit(rule_key(rule), str(get_field(event, "event.id")), rule.title, str(event.get("@timestamp", "")), event)
