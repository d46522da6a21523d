"""Retro-hunt over Elasticsearch/OpenSearch: pySigma's Lucene backend, one query per route.

Each rule is converted to a Lucene ``query_string`` by ``pysigma-backend-elasticsearch``
with a field mapping per route (Windows names to ``winlog.event_data.*``/``winlog.*``,
Sigma taxonomy to ECS), run with the time range on the events indices, pre-filtered on the
route's event ids/channels/datasets. Two rewrites keep Sigma's semantics on keyword
fields: string values become whole-term regexps with both cases of each letter (keywords
compare case-sensitively), and ``re`` values are unanchored (a Lucene regexp must match the
whole term). Hits are kept only when the rule's route accepts the event (channel names are
case-folded in routing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError
from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.exceptions import SigmaError
from sigma.pipelines.common import windows_logsource_mapping
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaRegularExpression, SigmaString, SpecialChars

from rules.hunt.common import (
    PAGE_SIZE,
    Hit,
    HuntResult,
    convertible_copy,
    detection_fields,
    make_hit,
    route_accepts,
    routes_or_error,
    source_of,
)
from rules.sigma import RuleSet
from rules.sigma.compiler import Ctx
from rules.sigma.fieldmap import WINDOWS_SYSTEM_FIELDS, ecs_path
from rules.sigma.logsource import Route
from soc_core.contracts import Store, TimeRange
from soc_core.errors import RuleError
from soc_core.event import Event, format_timestamp, get_field

# Folded (any-case) regexps can be slow on small servers; a rule whose query takes longer
# is reported, not waited for.
DEFAULT_QUERY_TIMEOUT_SECS = 60.0


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


# Characters a Lucene regexp treats as operators (``/`` is escaped by the backend itself).
_LUCENE_REGEX_SPECIAL = frozenset('.?+*|{}[]()"\\#@&<>~')


def lucene_casefold(value: SigmaString) -> SigmaRegularExpression | None:
    """A Lucene regexp matching ``value`` whole and in any case (``[wW][uU]...``), or None
    when the value has no letters or holds a placeholder."""
    parts: list[str] = []
    letters = False
    for piece in value.s:
        if piece == SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif piece == SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        elif isinstance(piece, str):
            for ch in piece:
                if ch.lower() != ch.upper():
                    letters = True
                    parts.append(f"[{ch.lower()}{ch.upper()}]")
                else:
                    parts.append("\\" + ch if ch in _LUCENE_REGEX_SPECIAL else ch)
        else:
            return None  # a placeholder left unexpanded: keep pySigma's own conversion
    return SigmaRegularExpression("".join(parts)) if letters else None


def casefold_strings(rule: SigmaRule) -> None:
    """Make string values match in any case, in place, as Sigma (and the streaming matcher)
    do: keyword fields of the index compare case-sensitively, so each value with letters
    becomes a whole-term regexp with both cases of every letter. ``|cased`` values stay."""

    def fix(item: SigmaDetectionItem) -> None:
        if item.field is None:
            return  # keyword search: a query_string over several fields, left to the backend
        values: list[Any] = []
        for value in item.value:
            if type(value) is SigmaString:  # not SigmaCasedString, which keeps its case
                value = lucene_casefold(value) or value
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

    def __init__(self, store: Store, query_timeout_secs: float = DEFAULT_QUERY_TIMEOUT_SECS) -> None:
        # The store's client and index prefix: a raw query_string search is not part of the
        # Store contract (it speaks our own query language), so the hunter asks the client.
        self.query_timeout_secs = query_timeout_secs
        client: Any = getattr(store, "client")  # noqa: B009 - the ES store's public client
        self.client: Any = client.options(request_timeout=query_timeout_secs)
        self.index = f"{getattr(store, 'prefix')}-events-*"  # noqa: B009
        self._channels = _channel_names()

    def run(self, ruleset: RuleSet, time_range: TimeRange) -> HuntResult:
        result = HuntResult(backend="elasticsearch", rules=len(ruleset.rules))
        seen: set[str] = set()
        hits: set[Hit] = set()
        for rule in ruleset.rules:
            path, line = source_of(ruleset, rule)
            for route in routes_or_error(ruleset, rule, result):
                mapping: dict[str | None, str | list[str]] = {
                    name: es_field(route, name) for name in detection_fields(rule) if name is not None}
                pipeline = ProcessingPipeline(items=[ProcessingItem(FieldMappingTransformation(mapping))])
                try:
                    lucene_rule = convertible_copy(rule)
                    unanchor_regexes(lucene_rule)
                    casefold_strings(lucene_rule)
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
                                hits.add(make_hit(rule, event))
                except ApiError as exc:  # the server refused this rule's query: report the rule, go on
                    result.errors.append(RuleError(f"{rule.title}: query refused: {exc.message}", path, line))
                    break
                except ConnectionTimeout:  # one slow query must not stop the hunt: report the rule
                    result.errors.append(RuleError(
                        f"{rule.title}: query timed out after {self.query_timeout_secs:g} s", path, line))
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
