"""Retro-hunt: run Sigma rules over stored events, converted by pySigma for each store.

``sql`` serves the embedded store, ``lucene`` (with ``dsl``) Elasticsearch/OpenSearch, ``common`` both.

* Embedded store (SQLite): each rule is converted to SQL by ``pysigma-backend-sqlite``;
  the stored events of the time range are read through the Store contract and flattened
  into in-memory tables of Sigma-named columns, one table per logsource route, each
  column read exactly as the streaming matcher reads it (``rules.sigma.compiler.
  field_access``: Windows columns with the route's renames, ECS paths per family). Columns
  are ``NUMERIC COLLATE NOCASE`` so that ``=`` is case-insensitive and ``'4688'`` equals
  ``4688``, as in Sigma; a list value becomes one row per item (any item may match);
  ``REGEXP`` is Python's ``re.search``.
* Elasticsearch/OpenSearch: each rule goes through pySigma's Lucene backend with a field
  mapping per route (Windows names to ``winlog.event_data.*``/``winlog.*``, Sigma taxonomy
  to ECS), but leaves come out as query DSL (``rules.hunt.dsl``): strings as ``term``/
  ``wildcard`` with ``case_insensitive`` (keyword fields compare case-sensitively; Sigma
  does not), ``re`` as unanchored ``regexp`` in Lucene's syntax (a Lucene regexp matches
  the whole term; inline flags, non-capturing groups, lazy quantifiers translated; word
  boundaries and field references have no form and are reported), CIDR as address-prefix
  wildcards. A cheap aggregation first finds the daily indices holding
  the route's events (event ids/channels/datasets, time range); the rule's query runs on
  those indices alone through ``RawSearchStore.search_raw`` (the Elasticsearch store). Hits are kept only when
  the rule's route accepts the event (channel names are case-folded in routing). Values
  longer than the store's keyword limit (8,191 characters) are not indexed, so no rule
  can find them there.

* The streaming engine itself (``streaming``), over the stored events read back, runs
  the rules whose answer the store's query language cannot give the engine's way: keyword
  rules (keywords search the message text, ``message`` else ``event.original``) and rules
  the store's backend could not convert. ``HuntResult.streamed`` names them with the
  reason; a rule the engine cannot run either stays in ``errors`` with its file.

Correlation rules need the events in time order and the engine's windows: the ``soc hunt``
command runs them through the correlation detector over the stored events (the
``correlation`` package sits above ``rules``). The result lists (rule, event) hits.
"""

from __future__ import annotations

from dataclasses import replace

from rules.hunt.common import Hit, Hunter, HuntResult, detection_fields, rule_key, rule_routes, stored_events
from rules.hunt.lucene import ElasticsearchHunter
from rules.hunt.sql import SqliteHunter
from rules.hunt.streaming import StreamingHunter
from rules.sigma import RuleSet
from soc_core.contracts import ALL_TIME, RawSearchStore, Store, TimeRange
from soc_core.errors import ConfigError, RuleError

__all__ = [
    "ElasticsearchHunter", "Hit", "HuntResult", "Hunter", "SqliteHunter", "StreamingHunter", "detection_fields",
    "hunt", "hunter_for", "rule_key", "rule_routes", "stored_events",
]

KEYWORD_REASON = "keyword rule: keywords search the message text, as the streaming engine does"


def hunter_for(store: Store) -> Hunter:
    """The retro-hunt implementation for a store: SQL for the embedded one, the query
    DSL for a store that takes native queries (Elasticsearch/OpenSearch)."""
    if store.name == "sqlite":
        return SqliteHunter(store)
    if isinstance(store, RawSearchStore):
        return ElasticsearchHunter(store)
    raise ConfigError(f"retro-hunt does not support the {store.name!r} store")


def hunt(store: Store, ruleset: RuleSet, time_range: TimeRange = ALL_TIME) -> HuntResult:
    """Run every rule of ``ruleset`` over the events of ``store`` in ``time_range``: in the
    store's query language where it gives the streaming engine's answer, else by the
    streaming engine over the stored events (see the module docstring)."""
    keyword = {rule_key(r) for r in ruleset.rules if None in detection_fields(r)}
    native = hunter_for(store).run(
        replace(ruleset, rules=[r for r in ruleset.rules if rule_key(r) not in keyword]), time_range)
    streamed = dict.fromkeys(keyword, KEYWORD_REASON)
    for key, error in native.failed.items():
        rule = next(r for r in ruleset.rules if rule_key(r) == key)
        try:
            rule_routes(rule)  # the engine can run it: it runs there instead
        except RuleError:
            continue
        streamed[key] = f"no {native.backend} form ({error.reason})"
    if not streamed:
        return native
    by_engine = StreamingHunter(store).run(
        replace(ruleset, rules=[r for r in ruleset.rules if rule_key(r) in streamed]), time_range)
    errors = [e for key, e in native.failed.items() if key not in streamed]
    errors += [e for e in native.errors if e not in native.failed.values()]
    return HuntResult(
        backend=native.backend, hits=sorted(set(native.hits) | set(by_engine.hits)), errors=errors,
        rules=len(ruleset.rules), events=max(native.events, by_engine.events),
        failed={key: e for key, e in native.failed.items() if key not in streamed}, streamed=streamed,
    )
