"""Retro-hunt over Elasticsearch/OpenSearch: pySigma conversion to query DSL, one query per route.

Each rule is converted by :class:`rules.hunt.dsl.QueryDslBackend` (pySigma's Lucene
backend with query-DSL leaves) with a field mapping per route (Windows names to
``winlog.event_data.*``/``winlog.*``, Sigma taxonomy to ECS). ``re`` values are unanchored
first (a Lucene regexp must match the whole term). Per route, one cheap aggregation finds
the daily indices holding events of the route's event ids/channels/datasets in the time
range; the rule's query runs, with those filters, on those indices only
(:meth:`soc_core.contracts.RawSearchStore.search_raw`). Hits are kept only when the rule's route accepts
the event (channel names are case-folded in routing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sigma.exceptions import SigmaError
from sigma.pipelines.common import windows_logsource_mapping
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaRegularExpression

from rules.hunt.common import (
    PAGE_SIZE,
    Hit,
    HuntResult,
    convertible_copy,
    detection_fields,
    make_hit,
    route_accepts,
    route_id,
    routes_or_error,
    rule_key,
    source_of,
)
from rules.hunt.dsl import QueryDslBackend, split_inline_flags
from rules.sigma import RuleSet, SigmaEngine
from rules.sigma.compiler import Ctx
from rules.sigma.fieldmap import DATA_COLUMN, WINDOWS_SYSTEM_FIELDS, ecs_path
from rules.sigma.logsource import Route
from soc_core.contracts import RawSearchStore, TimeRange
from soc_core.errors import RuleError, SearchTimeout, StoreError
from soc_core.event import Event, get_field

# The slowest SigmaHQ Windows rule takes about 4 s on osmem-server over the EVTX corpus; a
# rule whose query takes longer than this is reported, not waited for.
DEFAULT_QUERY_TIMEOUT_SECS = 60.0
INDICES_PER_REQUEST = 64  # ~26 characters a name: under the 4 KB request line of Elasticsearch


# ``Data`` is the unnamed items of a classic event, stored as ``param1``, ``param2``...:
# a value of it matches when one of them does (an OR over these fields; the corpus's
# events have at most a handful, this bound leaves room).
MAX_DATA_ITEMS = 32


def es_field(route: Route, sigma_field: str) -> str | list[str]:
    """Where the streaming matcher reads ``sigma_field`` on ``route``, as index paths."""
    if route.windows:
        column = route.renames.get(sigma_field, sigma_field)
        if column.lower() == DATA_COLUMN.lower():
            return [f"winlog.event_data.param{i}" for i in range(1, MAX_DATA_ITEMS + 1)]
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
                flags, text = split_inline_flags(str(value.regexp))
                head = text[1:] if text.startswith("^") else ".*" + text
                tail = head[:-1] if head.endswith("$") and not head.endswith("\\$") else head + ".*"
                value = SigmaRegularExpression(flags + tail, value.flags)
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
    """Retro-hunt over the Elasticsearch/OpenSearch store with pySigma (DSL leaves)."""

    def __init__(self, store: RawSearchStore, query_timeout_secs: float = DEFAULT_QUERY_TIMEOUT_SECS) -> None:
        self.store = store
        self.query_timeout_secs = query_timeout_secs
        self._channels = _channel_names()

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="elasticsearch", rules=len(ruleset.rules))
        seen: set[str] = set()
        hits: set[Hit] = set()
        narrowed: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[str]]] = {}
        failed: set[str] = set()  # rules reported as not run (no conversion, timeout, refused)
        for rule in ruleset.rules:
            errors_before = len(result.errors)
            path, line = source_of(ruleset, rule)
            for route in routes_or_error(ruleset, rule, result):
                mapping: dict[str | None, str | list[str]] = {
                    name: es_field(route, name) for name in detection_fields(rule) if name is not None}
                pipeline = ProcessingPipeline(items=[ProcessingItem(FieldMappingTransformation(mapping))])
                try:
                    dsl_rule = convertible_copy(rule)
                    unanchor_regexes(dsl_rule)
                    queries = QueryDslBackend(pipeline, _keyword_fields(route)).convert_dsl(dsl_rule)
                except SigmaError as exc:
                    result.fail(rule, RuleError(f"{rule.title}: no query DSL conversion: {exc}", path, line))
                    break
                try:
                    key = route_id(route)
                    if key not in narrowed:
                        narrowed[key] = self._narrow(route, time_range)
                    filters, indices = narrowed[key]
                    for query in queries:
                        for event in self._search([*filters, query], indices, time_range):
                            seen.add(str(get_field(event, "event.id")))
                            if route_accepts(route, event, Ctx(event)):
                                hits.add(make_hit(rule, event))
                except SearchTimeout:  # one slow query must not stop the hunt: report the rule
                    result.fail(rule, RuleError(
                        f"{rule.title}: query timed out after {self.query_timeout_secs:g} s", path, line))
                    break
                except StoreError as exc:  # the server refused this rule's query: report the rule, go on
                    result.fail(rule, RuleError(f"{rule.title}: query refused: {exc}", path, line))
                    break
            if len(result.errors) > errors_before:
                failed.add(rule_key(rule))
        hits |= self._recheck_unindexed(ruleset, failed, time_range, seen)
        result.hits = sorted(hits)
        result.events = len(seen)
        return result

    def _recheck_unindexed(self, ruleset: RuleSet, failed: set[str], time_range: TimeRange,
                           seen: set[str]) -> set[Hit]:
        """Hits in the documents holding a value too long for the index (a 10 kB security
        descriptor, a long command line): no query can see that value, so those few
        documents are read whole and matched by the streaming engine itself, the rules
        that could not be converted excepted (they are reported, not run)."""
        runnable = [rule for rule in ruleset.rules if rule_key(rule) not in failed]
        filters = [self.store.unindexed_filter()]
        indices = self.store.indices_holding("events", {"bool": {"filter": filters}}, time_range)
        documents = list(self._search(filters, indices, time_range))
        if not documents or not runnable:
            return set()
        engine = SigmaEngine(RuleSet(rules=runnable, sources=dict(ruleset.sources)))
        found: set[Hit] = set()
        for event in documents:
            seen.add(str(get_field(event, "event.id")))
            found.update(make_hit(rule, event) for rule in engine.match(event))
        return found

    def _narrow(self, route: Route, time_range: TimeRange) -> tuple[list[dict[str, Any]], list[str]]:
        """The cheap filters of a route (its event ids/channels/datasets) and the daily
        indices holding events that pass them in the time range.

        A rule's wildcards and regexps cost a scan of each index's terms: searching only the
        indices that hold the route's events is what keeps large rules (thousands of hash
        values) within the timeout: on osmem-server, 1.8 s instead of over 60 s for the
        Sysmon driver-load rule of 4,432 values, whose 7 events lie in 2 of 192 indices."""
        prefilter = route_filter(route, self._channels)
        filters: list[dict[str, Any]] = [] if prefilter is None else [prefilter]
        cheap: dict[str, Any] = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        return filters, self.store.indices_holding("events", cheap, time_range)

    def _search(self, filters: list[dict[str, Any]], indices: list[str], time_range: TimeRange) -> Iterator[Event]:
        """Every event matching all ``filters`` in ``indices``, a few indices per request
        (names go in the URL, which servers limit to a few kilobytes)."""
        for start in range(0, len(indices), INDICES_PER_REQUEST):
            chunk = indices[start : start + INDICES_PER_REQUEST]
            after: list[Any] | None = None
            while True:
                page = self.store.search_raw("events", {"bool": {"filter": filters}}, limit=PAGE_SIZE,
                                             search_after=after, timeout_secs=self.query_timeout_secs,
                                             indices=chunk, time_range=time_range)
                for hit in page:
                    yield hit.event
                if len(page) < PAGE_SIZE:
                    break
                after = page[-1].sort
