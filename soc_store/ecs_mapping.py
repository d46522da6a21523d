"""Index templates for the Elasticsearch store, generated from the ECS field types.

``ecs_fields.json`` (next to this module) lists ECS fields and their ECS type. The
mapping follows the query semantics of :mod:`soc_core.query` (exact, case-sensitive
values; only ``@timestamp`` compares as an instant), hence:

* ``keyword`` -> ``keyword`` (``ignore_above`` 8191 characters: longer values are kept in
  the document but not searchable; 8191 UTF-8 characters fit Lucene's term limit). The
  paths of such values are written to the hidden field ``soc.unindexed``, so a reader
  that must not miss them (the retro-hunt) can find those documents and check them itself;
* ``ip`` -> ``keyword`` with an ``ip`` sub-field ``.net`` (``ignore_malformed``): terms,
  wildcards and ranges compare the text as the reference does, CIDR uses ``.net``;
* ``date`` -> ``keyword`` with a ``date`` sub-field ``.date``; ``@timestamp`` alone is a
  ``date_nanos`` (microsecond instants survive) with a keyword sub-field ``.raw``;
* ``long``/``float`` -> ``long``/``double`` with ``ignore_malformed``: a bad value does not
  cost the whole document;
* ``text`` (``message``) -> ``keyword``; full-text search uses the hidden field
  ``soc.message_words``, the message's words folded by :func:`soc_core.query.text.words`
  at write time and split on spaces by the server, so the server's analyzers (which
  differ between Elasticsearch, OpenSearch and osmem) never change what a query means.

Unknown fields are mapped dynamically: strings as keyword (with ``.net`` when the name
looks like an address), numbers as double (whole numbers beyond 2**53 lose precision
for search; the document keeps them), no date or numeric detection in strings.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

WORDS_FIELD = "soc.message_words"
UNINDEXED_FIELD = "soc.unindexed"  # paths of values too long to index (see the docstring)
KEYWORD_LIMIT = 8191

_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": KEYWORD_LIMIT}
_IP_SUBFIELD: dict[str, Any] = {"net": {"type": "ip", "ignore_malformed": True}}
_ADDRESS_NAMES = ("*ip", "*_addr", "*address", "*.addr")


@lru_cache(maxsize=1)
def ecs_field_types() -> dict[str, str]:
    """``{dotted field: ECS type}`` from the data file."""
    text = resources.files("soc_store").joinpath("ecs_fields.json").read_text("utf-8")
    fields: dict[str, str] = json.loads(text)["fields"]
    return fields


def field_mapping(name: str, ecs_type: str) -> dict[str, Any]:
    """The Elasticsearch mapping of one field of the given ECS type."""
    if name == "@timestamp":
        return {"type": "date_nanos", "fields": {"raw": dict(_KEYWORD)}}
    match ecs_type:
        case "ip":
            return {**_KEYWORD, "fields": dict(_IP_SUBFIELD)}
        case "date":
            return {**_KEYWORD, "fields": {"date": {"type": "date", "ignore_malformed": True}}}
        case "long":
            return {"type": "long", "ignore_malformed": True}
        case "float":
            return {"type": "double", "ignore_malformed": True}
        case "boolean":
            return {"type": "boolean"}
        case "keyword" | "text":
            return dict(_KEYWORD)
    raise ValueError(f"unknown ECS type {ecs_type!r} for {name}")


def properties(fields: dict[str, str]) -> dict[str, Any]:
    """Nested ``properties`` for dotted field names."""
    root: dict[str, Any] = {}
    for name, ecs_type in sorted(fields.items()):
        parts = name.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = field_mapping(name, ecs_type)
    return root


def mappings() -> dict[str, Any]:
    """The ``mappings`` of every event index (events, alerts, dead letters)."""
    props = properties(ecs_field_types())
    soc = props.setdefault("soc", {"properties": {}})["properties"]
    soc["message_words"] = {"type": "text", "analyzer": "whitespace", "norms": False}
    soc["unindexed"] = {"type": "keyword"}
    dynamic: list[dict[str, Any]] = [
        {f"addresses_{i}": {"match_mapping_type": "string", "match": pattern,
                            "mapping": {**_KEYWORD, "fields": dict(_IP_SUBFIELD)}}}
        for i, pattern in enumerate(_ADDRESS_NAMES)
    ]
    dynamic += [
        {"strings": {"match_mapping_type": "string", "mapping": dict(_KEYWORD)}},
        # Unknown numbers are doubles, even when the first one seen is whole: a ``long``
        # would silently truncate a later 7.5 to 7 for search.
        {"numbers": {"match_mapping_type": "long", "mapping": {"type": "double"}}},
        {"doubles": {"match_mapping_type": "double", "mapping": {"type": "double"}}},
    ]
    return {
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": dynamic,
        "properties": props,
    }


def index_template(pattern: str, priority: int = 200) -> dict[str, Any]:
    """A composable index template for the dated indices matching ``pattern``."""
    return {
        "index_patterns": [pattern],
        "priority": priority,
        "template": {
            "settings": {"index": {"number_of_shards": 1, "mapping": {"total_fields": {"limit": 5000}}}},
            "mappings": mappings(),
        },
    }


RECORDS_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "kind": {"type": "keyword"},
        "rid": {"type": "keyword"},
        "version": {"type": "long"},
        "updated": {"type": "long"},
        # Exact-match filters (soc_core.record_terms), the same on both stores.
        "terms": {"type": "keyword"},
        # The record itself, kept whole and never indexed: records of different kinds
        # must not fight over one mapping.
        "doc": {"type": "keyword", "index": False, "doc_values": False},
    },
}
