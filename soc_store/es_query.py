"""Compiles the analyst query AST to Elasticsearch/OpenSearch query DSL.

The meaning is that of the reference evaluator (:mod:`soc_core.query.evaluate`), given
the mappings of :mod:`soc_store.ecs_mapping`. A leaf compiles according to the mapped
type of its field, looked up from the live mapping (:data:`FieldTypes`): a literal that
cannot match a type (a word against a number field) becomes ``match_none`` rather than a
server error, and a field mapped differently in different indices becomes one clause per
type restricted to those indices. An unmapped field matches nothing.

Known differences from the reference, all on unusual data: keyword values longer than
``ignore_above`` cannot be matched; a malformed value in a number field (kept in the
document, not indexed) is invisible to queries; CIDR works on ``ip`` fields and on keyword
fields with the ``.net`` sub-field only; a number stored in a keyword field matches only
its own text (``3`` matches ``3``, not ``3.0``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from soc_core.event import format_timestamp, parse_timestamp
from soc_core.query.ast import (
    TIMESTAMP_FIELD,
    And,
    Cidr,
    Exists,
    MatchAll,
    Node,
    Not,
    Or,
    Range,
    Term,
    Text,
    Wildcard,
    as_number,
)
from soc_core.query.text import words
from soc_store.ecs_mapping import WORDS_FIELD

Family = Literal["keyword", "number", "boolean", "date", "ip", "other"]
# field -> family -> the indices where the field has that family
FieldTypes = Mapping[str, Mapping[Family, list[str]]]
Query = dict[str, Any]

MATCH_ALL: Query = {"match_all": {}}
MATCH_NONE: Query = {"match_none": {}}
PREFIX_MAX_EXPANSIONS = 1024

_NUMBER_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                 "unsigned_long"}


def family_of(es_type: str) -> Family:
    """Which query family a mapped Elasticsearch type belongs to."""
    if es_type in ("keyword", "constant_keyword", "wildcard"):
        return "keyword"
    if es_type in _NUMBER_TYPES:
        return "number"
    if es_type in ("date", "date_nanos"):
        return "date"
    if es_type == "boolean":
        return "boolean"
    if es_type == "ip":
        return "ip"
    return "other"


def leaf_fields(node: Node) -> Iterator[str]:
    """Every field whose mapping the compilation needs (and its ``.net`` sub-field)."""
    match node:
        case And(items) | Or(items):
            for item in items:
                yield from leaf_fields(item)
        case Not(item):
            yield from leaf_fields(item)
        case Term() | Wildcard() | Range() | Cidr():
            yield node.field
            if isinstance(node, Cidr):
                yield f"{node.field}.net"


def compile_query(node: Node, types: FieldTypes) -> Query:
    """The query DSL for ``node``; ``types`` must cover :func:`leaf_fields`."""
    match node:
        case MatchAll():
            return MATCH_ALL
        case And(items):
            return {"bool": {"filter": [compile_query(i, types) for i in items]}} if items else MATCH_ALL
        case Or(items):
            if not items:
                return MATCH_NONE
            return {"bool": {"should": [compile_query(i, types) for i in items], "minimum_should_match": 1}}
        case Not(item):
            return {"bool": {"must_not": [compile_query(item, types)]}}
        case Exists(name):
            # Works for objects too (any sub-field present), as the reference does.
            return {"exists": {"field": name}}
        case Text():
            return _text(node)
        case Term() | Wildcard() | Range() | Cidr():
            return _leaf(node, types)
    raise TypeError(f"not a query node: {node!r}")  # pragma: no cover - exhaustive above


def _text(node: Text) -> Query:
    found = words(node.text)
    if not found:
        return MATCH_NONE
    if node.prefix and len(found) == 1:
        return {"prefix": {WORDS_FIELD: {"value": found[0]}}}
    if node.prefix:
        return {"match_phrase_prefix": {WORDS_FIELD: {"query": " ".join(found),
                                                      "max_expansions": PREFIX_MAX_EXPANSIONS}}}
    return {"match_phrase": {WORDS_FIELD: " ".join(found)}}


def _leaf(node: Term | Wildcard | Range | Cidr, types: FieldTypes) -> Query:
    families = types.get(node.field, {})
    if not families:
        return MATCH_NONE
    clauses: list[Query] = []
    mixed = len(families) > 1
    for family, indices in sorted(families.items()):
        clause = _for_family(node, family, types, mixed)
        if clause == MATCH_NONE:
            continue
        if len(families) > 1:
            clause = {"bool": {"filter": [clause, {"terms": {"_index": sorted(indices)}}]}}
        clauses.append(clause)
    if not clauses:
        return MATCH_NONE
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _for_family(node: Term | Wildcard | Range | Cidr, family: Family, types: FieldTypes, mixed: bool) -> Query:
    name = node.field
    if name == TIMESTAMP_FIELD and family == "date":
        return _timestamp(node)
    match family:
        case "keyword":
            return _lenient_keyword(node, name) if mixed else _keyword(node, name, types)
        case "number":
            return _number(node, name)
        case "boolean":
            if isinstance(node, Term) and node.value in ("true", "false"):
                return {"term": {name: node.value == "true"}}
            return MATCH_NONE
        case "ip":
            return _ip(node, name)
    return MATCH_NONE


def _keyword(node: Term | Wildcard | Range | Cidr, name: str, types: FieldTypes) -> Query:
    match node:
        case Term(_, literal):
            return {"term": {name: literal}}
        case Wildcard(_, pattern):
            # Our pattern syntax (* ? and \ escapes) is Lucene's wildcard syntax.
            return {"wildcard": {name: {"value": pattern}}}
        case Range():
            if _numeric_range(node):
                return MATCH_NONE  # numeric bounds compare numbers only, never text
            return {"range": {name: _bounds(node, node.low, node.high)}}
        case Cidr(_, network):
            if "ip" in types.get(f"{name}.net", {}):
                return {"term": {f"{name}.net": network}}
    return MATCH_NONE


_LUCENE_SPECIAL = frozenset('+-=&|><!(){}[]^"~:/ ')


def _lucene_wildcard(pattern: str) -> str:
    """Our pattern as a Lucene query-string term: ``*``/``?`` stay wildcards, our ``\\``
    escapes stay escapes (the same syntax), every other special character is escaped."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append("\\" + pattern[i + 1])
            i += 2
            continue
        out.append("\\" + ch if ch in _LUCENE_SPECIAL else ch)
        i += 1
    return "".join(out)


def _lucene_term(text: str) -> str:
    """A literal as a query-string term, every special character escaped (range bounds;
    quoted bounds are not understood by every server)."""
    return "".join("\\" + ch if ch in _LUCENE_SPECIAL or ch in "*?\\" else ch for ch in text)


def _lenient_keyword(node: Term | Wildcard | Range | Cidr, name: str) -> Query:
    """Keyword clauses that do not fail on the indices where the field is a number:
    the ``_index`` filter does not stop a shard from parsing the whole query, so a
    ``term`` with ``abc`` on a long field would fail the search; ``lenient`` skips it."""
    match node:
        case Term(_, literal):
            return {"match": {name: {"query": literal, "lenient": True}}}
        case Wildcard(_, pattern):
            return {"query_string": {"query": _lucene_wildcard(pattern), "default_field": name,
                                     "lenient": True, "analyze_wildcard": False}}
        case Range():
            if _numeric_range(node):
                return MATCH_NONE
            low = "*" if node.low is None else _lucene_term(node.low)
            high = "*" if node.high is None else _lucene_term(node.high)
            query = f"{'[' if node.include_low else '{'}{low} TO {high}{']' if node.include_high else '}'}"
            return {"query_string": {"query": query, "default_field": name, "lenient": True}}
        case Cidr(_, network):
            return {"term": {f"{name}.net": network}}  # unmapped where the field is a number
    return MATCH_NONE


def _number(node: Term | Wildcard | Range | Cidr, name: str) -> Query:
    match node:
        case Term(_, literal):
            number = as_number(literal)
            if number is None:
                return MATCH_NONE
            return {"term": {name: int(number) if number.is_integer() else number}}
        case Range():
            if not _numeric_range(node):
                return MATCH_NONE
            low = None if node.low is None else as_number(node.low)
            high = None if node.high is None else as_number(node.high)
            return {"range": {name: _bounds(node, low, high)}}
    return MATCH_NONE


def _ip(node: Term | Wildcard | Range | Cidr, name: str) -> Query:
    match node:
        case Term(_, literal):
            try:
                ipaddress.ip_address(literal)
            except ValueError:
                return MATCH_NONE
            return {"term": {name: literal}}
        case Cidr(_, network):
            return {"term": {name: network}}
    return MATCH_NONE


def _timestamp(node: Term | Wildcard | Range | Cidr) -> Query:
    try:
        match node:
            case Term(_, literal):
                instant = _instant(literal)
                return {"range": {TIMESTAMP_FIELD: {"gte": instant, "lte": instant}}}
            case Range():
                low = None if node.low is None else _instant(node.low)
                high = None if node.high is None else _instant(node.high)
                return {"range": {TIMESTAMP_FIELD: _bounds(node, low, high)}}
            case Wildcard(_, pattern):
                return {"wildcard": {f"{TIMESTAMP_FIELD}.raw": {"value": pattern}}}
    except ValueError:
        return MATCH_NONE  # an unreadable instant matches nothing, as in the reference
    return MATCH_NONE


def _instant(text: str) -> str:
    return format_timestamp(parse_timestamp(text))


def _numeric_range(node: Range) -> bool:
    return all(b is None or as_number(b) is not None for b in (node.low, node.high))


def _bounds(node: Range, low: Any, high: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if low is not None:
        out["gte" if node.include_low else "gt"] = low
    if high is not None:
        out["lte" if node.include_high else "lt"] = high
    return out


def time_filter(start: str | None, end: str | None) -> Query | None:
    """The ``@timestamp`` filter of a time range (start inclusive, end exclusive)."""
    bounds: dict[str, str] = {}
    if start is not None:
        bounds["gte"] = start
    if end is not None:
        bounds["lt"] = end
    return {"range": {TIMESTAMP_FIELD: bounds}} if bounds else None
