"""Read a correlation's group-by and condition fields the way the Sigma matcher reads fields.

A correlation names fields in Sigma terms (``User``, ``ComputerName``, ``source.ip``); the
event that matched the base rule is Winlogbeat- or ECS-shaped. The Sigma engine's field
map (``rules.sigma.fieldmap``) and logsource routes (``rules.sigma.logsource``) say how a
rule sees an event, so the same tables are used here: on a Windows event the Sigma
columns (with the renames of the route the event came through, e.g. ``Image`` is
``NewProcessName`` on Security 4688), on an ECS event the family's ECS path. A name neither
knows is read as a literal dotted path, so rules written with ECS names work too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigma.rule import SigmaRule

from rules.sigma.fieldmap import ecs_path, windows_column, windows_view
from rules.sigma.logsource import Route, event_route_key, routes_for
from soc_core.event import get_field


class SigmaFieldResolver:
    """Resolves Sigma field names on events; caches each rule's routes (per instance)."""

    def __init__(self) -> None:
        self._routes: dict[int, tuple[SigmaRule, list[Route]]] = {}

    def _routes_of(self, rule: SigmaRule) -> list[Route]:
        cached = self._routes.get(id(rule))
        if cached is None or cached[0] is not rule:
            cached = (rule, routes_for(rule.logsource))
            self._routes[id(rule)] = cached
        return cached[1]

    def __call__(self, source: Mapping[str, Any], name: str, rule: SigmaRule | None) -> Any:
        if rule is None:  # a chained correlation match: the group values, by name
            return get_field(source, name)
        kind, first, second = event_route_key(source)
        routes = self._routes_of(rule)
        if kind == "w":
            renames: Mapping[str, str] = {}
            for route in routes:
                if route.windows and route.accepts_windows(first, second):
                    renames = route.renames
                    break
            value = windows_view(source).get(windows_column(name, renames))
            return value if value is not None else get_field(source, name)
        family = next((r.family for r in routes if not r.windows and r.accepts_dataset(first)), None)
        value = get_field(source, ecs_path(family, name))
        return value if value is not None else get_field(source, name)
