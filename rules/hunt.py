"""Retro-hunt: run Sigma rules over stored events, converted by pySigma for each store.

* Embedded store (SQLite): each rule is converted to SQL by ``pysigma-backend-sqlite``;
  the stored events of the time range are read through the Store contract and flattened
  into in-memory tables of Sigma-named columns, one table per logsource route, each
  column read exactly as the streaming matcher reads it (``rules.sigma.compiler.
  field_access``: Windows columns with the route's renames, ECS paths per family). Columns
  are ``NUMERIC COLLATE NOCASE`` so that ``=`` is case-insensitive and ``'4688'`` equals
  ``4688``, as in Sigma; a list value becomes one row per item (any item may match);
  ``REGEXP`` is Python's ``re.search``.
* Elasticsearch/OpenSearch: each rule is converted to a Lucene ``query_string`` by
  ``pysigma-backend-elasticsearch`` with a field mapping per route (Windows names to
  ``winlog.event_data.*``/``winlog.*``, Sigma taxonomy to ECS), run with the time range
  on the events indices; hits are then kept only when the rule's route accepts the event
  (channel, event id, dataset), which the query cannot say because channel names are
  case-folded in routing. Known difference: Elasticsearch compares keywords with their
  case, where Sigma and the other two paths do not.

Rules a backend cannot convert (keyword-only rules for SQL, for instance) are reported as
errors with their file, never silently skipped. The result lists (rule, event) hits.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Protocol

from elasticsearch import ApiError
from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.backends.sqlite.sqlite import sqliteBackend
from sigma.exceptions import SigmaError
from sigma.pipelines.common import windows_logsource_mapping
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaRegularExpression

from rules.sigma import RuleSet
from rules.sigma.compiler import Ctx, UnsupportedOnRoute, as_strings, compile_rule, field_access
from rules.sigma.fieldmap import WINDOWS_SYSTEM_FIELDS, ecs_path
from rules.sigma.logsource import Route, event_route_key, routes_for
from soc_core.contracts import ALL_TIME, Store, TimeRange
from soc_core.errors import ConfigError, RuleError
from soc_core.event import Event, dumps, format_timestamp, get_field
from soc_core.query.ast import MatchAll

PAGE_SIZE = 1000
MAX_ROWS_PER_EVENT = 64  # list values multiply rows; past this many, later combinations are dropped


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
    """Hits (sorted, each once), rules that could not run, and what was looked at."""

    backend: str
    hits: list[Hit] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    rules: int = 0
    events: int = 0


class Hunter(Protocol):
    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult: ...


def hunter_for(store: Store) -> Hunter:
    """The retro-hunt implementation for a store (by its ``name``)."""
    if store.name == "sqlite":
        return SqliteHunter(store)
    if store.name == "elasticsearch":
        return ElasticsearchHunter(store)
    raise ConfigError(f"retro-hunt does not support the {store.name!r} store")


def hunt(store: Store, ruleset: RuleSet, time_range: TimeRange = ALL_TIME) -> HuntResult:
    """Run every rule of ``ruleset`` over the events of ``store`` in ``time_range``."""
    return hunter_for(store).run(ruleset, time_range)


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


def _routes_or_error(ruleset: RuleSet, rule: SigmaRule, result: HuntResult) -> list[Route]:
    try:
        return rule_routes(rule)
    except RuleError as exc:
        path, line = _source(ruleset, rule)
        result.errors.append(RuleError(f"{rule.title}: {exc.reason}", path, line))
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


def _route_id(route: Route) -> tuple[Any, ...]:
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


def _source(ruleset: RuleSet, rule: SigmaRule) -> tuple[str | None, int | None]:
    path = ruleset.source_of(rule) or (str(rule.source.path) if rule.source is not None else None)
    return path, None


def _hit(rule: SigmaRule, event: Event) -> Hit:
    return Hit(rule_key(rule), str(get_field(event, "event.id")), rule.title, str(event.get("@timestamp", "")), event)


# --- embedded store: SQL -------------------------------------------------------------------


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return dumps(value).decode()


def _rows(values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One row, or one per combination of list items (any item of a list may match)."""
    options = [[_sql_value(v) for v in value] or [None] if isinstance(value, list) else [_sql_value(value)]
               for value in values]
    rows = []
    for combination in product(*options):
        rows.append(combination)
        if len(rows) == MAX_ROWS_PER_EVENT:
            break
    return rows


def _regexp() -> Callable[[str, Any], bool]:
    compiled: dict[str, re.Pattern[str]] = {}

    def regexp(pattern: str, value: Any) -> bool:
        if value is None:
            return False
        rx = compiled.get(pattern)
        if rx is None:
            rx = compiled[pattern] = re.compile(pattern)
        return rx.search(str(value)) is not None

    return regexp


@dataclass
class _Table:
    name: str
    route: Route
    columns: dict[str, str] = field(default_factory=dict)  # lower-cased -> as written in the rule
    plans: list[tuple[SigmaRule, str]] = field(default_factory=list)


class SqliteHunter:
    """Retro-hunt over the embedded store with pySigma's SQLite backend."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="sqlite", rules=len(ruleset.rules))
        backend = sqliteBackend()  # type: ignore[no-untyped-call]  # the plugin ships no annotations
        tables: dict[tuple[Any, ...], _Table] = {}
        for rule in ruleset.rules:
            path, line = _source(ruleset, rule)
            try:
                # convert_rule applies processing to the rule it is given: hand it a copy.
                queries = backend.convert_rule(copy.deepcopy(rule))  # type: ignore[no-untyped-call]
            except SigmaError as exc:
                result.errors.append(RuleError(f"{rule.title}: no SQL conversion: {exc}", path, line))
                continue
            for route in _routes_or_error(ruleset, rule, result):
                table = tables.setdefault(_route_id(route), _Table(f"route_{len(tables)}", route))
                for name in detection_fields(rule):
                    if name is not None:
                        table.columns.setdefault(name.lower(), name)
                for query in queries:
                    table.plans.append((rule, str(query).replace(" FROM logs ", f" FROM {table.name} ", 1)))
        db = sqlite3.connect(":memory:")
        try:
            db.create_function("REGEXP", 2, _regexp(), deterministic=True)
            return self._evaluate(db, list(tables.values()), time_range, result)
        finally:
            db.close()

    def _evaluate(
        self, db: sqlite3.Connection, tables: list[_Table], time_range: TimeRange, result: HuntResult,
    ) -> HuntResult:
        for table in tables:
            columns = "".join(f', "{c}" NUMERIC COLLATE NOCASE' for c in table.columns.values())
            db.execute(f'CREATE TABLE {table.name} ("_rid" INTEGER{columns})')
        events: list[Event] = []
        for event in stored_events(self.store, time_range):
            rid = len(events)
            events.append(event)
            ctx = Ctx(event)
            for table in tables:
                if not table.columns or not route_accepts(table.route, event, ctx):
                    continue
                values = [field_access(table.route, name).get(ctx) for name in table.columns.values()]
                marks = ", ".join("?" * (len(values) + 1))
                db.executemany(f"INSERT INTO {table.name} VALUES ({marks})",  # noqa: S608 - our own table names
                               [(rid, *row) for row in _rows(values)])
        result.events = len(events)
        hits: set[Hit] = set()
        for table in tables:
            for rule, query in table.plans:
                for (rid,) in db.execute(f"SELECT DISTINCT _rid FROM ({query})"):  # noqa: S608 - pySigma's SQL
                    hits.add(_hit(rule, events[rid]))
        result.hits = sorted(hits)
        return result


# --- Elasticsearch / OpenSearch: Lucene ------------------------------------------------


def es_field(route: Route, sigma_field: str) -> str:
    """Where the streaming matcher reads ``sigma_field`` on ``route``, as an index path."""
    if route.windows:
        column = route.renames.get(sigma_field, sigma_field)
        for name, path in WINDOWS_SYSTEM_FIELDS.items():
            if name.lower() == column.lower():
                return path
        return f"winlog.event_data.{column}"
    return ecs_path(route.family, sigma_field)


def _channel_names() -> dict[str, list[str]]:
    """Lower-cased channel -> the spellings Windows uses (routes compare channels folded)."""
    names: dict[str, list[str]] = {}
    for value in windows_logsource_mapping.values():
        for name in value if isinstance(value, list) else [value]:
            names.setdefault(str(name).lower(), []).append(str(name))
    return names


def route_filter(route: Route, channels: dict[str, list[str]]) -> dict[str, Any] | None:
    """A cheap pre-filter on the route's event ids, channels or datasets (exactness comes
    from :func:`route_accepts` on each hit); None when the route accepts every event."""
    clauses: list[dict[str, Any]] = []
    if route.windows:
        if route.event_ids is not None:
            clauses.append({"terms": {"winlog.event_id": sorted(route.event_ids)}})
        if route.channels is not None:
            spellings = sorted({s for c in route.channels for s in channels.get(c, [c])})
            clauses.append({"terms": {"winlog.channel": spellings}})
    elif route.datasets is not None:
        options: list[dict[str, Any]] = []
        for prefix in route.datasets:
            options += [{"term": {"event.dataset": prefix}}, {"prefix": {"event.dataset": prefix + "."}}]
        clauses.append({"bool": {"should": options, "minimum_should_match": 1}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def unanchor_regexes(rule: SigmaRule) -> None:
    """Make ``re`` values search anywhere, in place: Sigma's ``re`` is an unanchored search,
    a Lucene regexp must match the whole term (and has no ``^``/``$``)."""

    def fix(item: SigmaDetectionItem) -> None:
        values: list[Any] = []
        for value in item.value:
            if isinstance(value, SigmaRegularExpression):
                text = str(value.regexp)
                head = text[1:] if text.startswith("^") else ".*" + text
                tail = head[:-1] if head.endswith("$") and not head.endswith("\\$") else head + ".*"
                value = SigmaRegularExpression(tail, value.flags)
            values.append(value)
        item.value = values

    def walk(node: SigmaDetection | SigmaDetectionItem) -> None:
        if isinstance(node, SigmaDetection):
            for child in node.detection_items:
                walk(child)
        else:
            fix(node)

    for detection in rule.detection.detections.values():
        walk(detection)


def _keyword_fields(route: Route) -> list[str]:
    """Where a keyword (field-less) search looks, as the streaming matcher does: the Windows
    data and text System fields, or the ECS original text and message."""
    if route.windows:
        return ["winlog.event_data.*", "winlog.user_data.*", "winlog.channel", "winlog.provider_name",
                "winlog.computer_name"]
    return ["event.original", "message"]


class ElasticsearchHunter:
    """Retro-hunt over the Elasticsearch/OpenSearch store with pySigma's Lucene backend."""

    def __init__(self, store: Store) -> None:
        # The store's client and index prefix: a raw query_string search is not part of the
        # Store contract (it speaks our own query language), so the hunter asks the client.
        self.client: Any = getattr(store, "client")  # noqa: B009 - the ES store's public client
        self.index = f"{getattr(store, 'prefix')}-events-*"  # noqa: B009
        self._channels = _channel_names()

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="elasticsearch", rules=len(ruleset.rules))
        seen: set[str] = set()
        hits: set[Hit] = set()
        for rule in ruleset.rules:
            path, line = _source(ruleset, rule)
            for route in _routes_or_error(ruleset, rule, result):
                mapping: dict[str | None, str | list[str]] = {
                    name: es_field(route, name) for name in detection_fields(rule) if name is not None}
                pipeline = ProcessingPipeline(items=[ProcessingItem(FieldMappingTransformation(mapping))])
                try:
                    lucene_rule = copy.deepcopy(rule)
                    unanchor_regexes(lucene_rule)
                    queries = LuceneBackend(pipeline).convert_rule(lucene_rule)
                except SigmaError as exc:
                    result.errors.append(RuleError(f"{rule.title}: no Lucene conversion: {exc}", path, line))
                    break
                try:
                    for query in queries:
                        prefilter = route_filter(route, self._channels)
                        for event in self._search(str(query), _keyword_fields(route), prefilter, time_range):
                            seen.add(str(get_field(event, "event.id")))
                            if route_accepts(route, event, Ctx(event)):
                                hits.add(_hit(rule, event))
                except ApiError as exc:  # the server refused this rule's query: report the rule, go on
                    result.errors.append(RuleError(f"{rule.title}: query refused: {exc.message}", path, line))
                    break
        result.hits = sorted(hits)
        result.events = len(seen)
        return result

    def _search(
        self, query: str, default_fields: list[str], prefilter: dict[str, Any] | None, time_range: TimeRange,
    ) -> Iterator[Event]:
        filters: list[dict[str, Any]] = [] if prefilter is None else [prefilter]
        filters += [
            # lenient: a text value against a numeric field is "no match", not a failed query.
            {"query_string": {"query": query, "fields": default_fields, "lenient": True,
                              "analyze_wildcard": False, "allow_leading_wildcard": True}},
        ]
        bounds: dict[str, str] = {}
        if time_range.start is not None:
            bounds["gte"] = format_timestamp(time_range.start)
        if time_range.end is not None:
            bounds["lt"] = format_timestamp(time_range.end)
        if bounds:
            filters.append({"range": {"@timestamp": bounds}})
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"bool": {"filter": filters}},
                "sort": [{"@timestamp": {"order": "asc"}}, {"event.id": {"order": "asc"}}],
                "size": PAGE_SIZE,
            }
            if after is not None:
                body["search_after"] = after
            response = self.client.search(index=self.index, allow_no_indices=True, ignore_unavailable=True, **body)
            page = response["hits"]["hits"]
            for hit in page:
                yield hit["_source"]
            if len(page) < PAGE_SIZE:
                return
            after = page[-1]["sort"]
