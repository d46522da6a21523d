"""Streaming Sigma correlation: sliding windows driven by event time, as events arrive.

Flow: the Sigma engine says which base rules an event matches; each match enters the
window of every correlation that references the rule, under the correlation's group-by
values (aliases applied). Then:

* conditions that only grow true (``event_count``/``value_count``/``value_sum``/``temporal``
  with ``gt``/``gte``, and ``temporal_ordered``) are tested at once, over every window of
  length ``timespan`` that holds the new event; a match consumes the entries that made it,
  so one burst gives one alert;
* every other condition (``lt``/``lte``/``eq``/``neq``, ``value_avg``, ``value_percentile``)
  is tested when its window closes: a window opens at the oldest entry of a group and
  closes ``timespan`` later, once event time (or ``flush(now)``) has passed its end plus the
  lateness tolerance; it is then evaluated once and dropped.

A satisfied correlation is itself a match of its rule: correlations that reference it
(chaining) receive it with the group values and all the underlying event ids.

Time: the watermark is the newest ``@timestamp`` seen. Events up to ``max_lateness_secs``
older than the watermark (default 300 s) are still placed in order; older ones are counted
in ``stats.late`` and ignored, because their windows may already be gone. Memory stays
bounded: entries that no future window can hold (older than watermark - lateness -
timespan) are expired, every key is swept as event time advances, and a group holds at
most ``max_entries_per_group`` entries (oldest dropped first, counted in ``stats.dropped``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from correlation.alert import build_correlation_alert
from correlation.spec import CorrelationSpec, compile_all, rule_key
from correlation.state import KEY_SEPARATOR, CorrelationState, MemoryState, WindowEntry
from correlation.windows import Firing, evaluate_closed, find_early
from rules.attack import AttackTable, load_attack_table
from rules.sigma.detector import detectable
from soc_core.clock import Clock, SystemClock
from soc_core.errors import RuleError
from soc_core.event import Event, get_field, timestamp_micros

Matcher = Callable[[Event], Iterable[SigmaRule]]
FieldResolver = Callable[[Mapping[str, Any], str, "SigmaRule | None"], Any]

DEFAULT_MAX_LATENESS_SECS = 300
DEFAULT_MAX_ENTRIES_PER_GROUP = 10_000
_SWEEP_INTERVAL_US = 60 * 1_000_000


class RuleSet(Protocol):
    """What the correlation engine needs of ``rules.sigma.load_rules``' result."""

    @property
    def rules(self) -> Sequence[SigmaRule]: ...

    @property
    def correlations(self) -> Sequence[SigmaCorrelationRule]: ...


@runtime_checkable
class MatchingEngine(Protocol):
    """What the correlation detector needs of ``rules.sigma.SigmaEngine``."""

    @property
    def rules(self) -> Sequence[SigmaRule]: ...

    def match(self, event: Event) -> list[SigmaRule]: ...


@dataclass(frozen=True)
class _Rules:
    rules: list[SigmaRule]
    correlations: list[SigmaCorrelationRule]


def default_field_resolver(source: Mapping[str, Any], name: str, rule: SigmaRule | None) -> Any:
    """Without the Sigma engine's tables: the dotted path, else the raw Windows event data
    name (Winlogbeat keeps those under ``winlog.event_data``). The detector uses
    :class:`correlation.fields.SigmaFieldResolver`, which reads fields as the matcher does."""
    value = get_field(source, name)
    if value is None and rule is not None:
        value = get_field(source, f"winlog.event_data.{name}")
    return value


@dataclass
class CorrelationStats:
    """What the windows did: matches fed, late events ignored, entries dropped, firings."""

    entries: int = 0
    late: int = 0
    dropped: int = 0
    fired: int = 0


@dataclass(frozen=True, slots=True)
class CorrelationMatch:
    """One satisfied correlation: which, for which group, and the evidence."""

    spec: CorrelationSpec
    group: dict[str, Any]
    firing: Firing


@dataclass
class _Feed:
    rule: str
    source: Mapping[str, Any]
    base_rule: SigmaRule | None
    timestamp_us: int
    event_ids: tuple[str, ...]


@dataclass
class CorrelationEngine:
    """The windows of a set of compiled correlations, over an injectable state."""

    specs: Sequence[CorrelationSpec]
    state: CorrelationState = field(default_factory=MemoryState)
    max_lateness_secs: int = DEFAULT_MAX_LATENESS_SECS
    max_entries_per_group: int = DEFAULT_MAX_ENTRIES_PER_GROUP
    resolve_field: FieldResolver = default_field_resolver
    stats: CorrelationStats = field(default_factory=CorrelationStats)

    def __post_init__(self) -> None:
        self._by_key = {spec.key: spec for spec in self.specs}
        self._consumers: dict[str, list[CorrelationSpec]] = {}
        for spec in self.specs:
            for ref in dict.fromkeys(spec.rules):
                self._consumers.setdefault(ref, []).append(spec)
        self._watermark_us: int | None = None
        self._last_sweep_us: int | None = None
        self._seq = 0

    @property
    def lateness_us(self) -> int:
        return self.max_lateness_secs * 1_000_000

    def referenced(self, key: str) -> bool:
        """Whether any correlation listens to the rule with this key."""
        return key in self._consumers

    def observe(
        self, rule: SigmaRule, event: Mapping[str, Any], timestamp_us: int, event_id: str,
    ) -> list[CorrelationMatch]:
        """Feed one base-rule match; returns the correlations it (and any chain) satisfied."""
        if self._watermark_us is not None and timestamp_us < self._watermark_us - self.lateness_us:
            self.stats.late += 1
            return []
        if self._watermark_us is None or timestamp_us > self._watermark_us:
            self._watermark_us = timestamp_us
        matches = self._feed(_Feed(rule_key(rule), event, rule, timestamp_us, (event_id,)), depth=0)
        if self._last_sweep_us is None:
            self._last_sweep_us = timestamp_us
        elif self._watermark_us - self._last_sweep_us >= _SWEEP_INTERVAL_US:
            matches.extend(self._sweep(self._watermark_us))
            self._last_sweep_us = self._watermark_us
        return matches

    def close(self, now_us: int) -> list[CorrelationMatch]:
        """Event time has reached ``now_us``: close every window that ends before it."""
        if self._watermark_us is None or now_us > self._watermark_us:
            self._watermark_us = now_us
        return self._sweep(self._watermark_us)

    # --- internals -----------------------------------------------------------------------

    def _feed(self, feed: _Feed, depth: int) -> list[CorrelationMatch]:
        if depth > len(self.specs):  # pySigma refuses reference cycles; this is a safety net
            raise RuleError(f"correlation chain through {feed.rule!r} is deeper than the rule set")
        out: list[CorrelationMatch] = []
        for spec in self._consumers.get(feed.rule, ()):
            group = {
                name: _jsonable(self.resolve_field(feed.source, path, feed.base_rule))
                for name, path in zip(spec.group_by, spec.group_fields[feed.rule], strict=True)
            }
            value: Any = None
            if spec.fields:
                values = [_jsonable(self.resolve_field(feed.source, f, feed.base_rule)) for f in spec.fields]
                value = values[0] if len(values) == 1 else (None if None in values else values)
            key = _state_key(spec, group)
            self._seq += 1
            entry = WindowEntry(feed.timestamp_us, feed.rule, feed.event_ids, value, self._seq)
            self.state.append(key, entry)
            self.stats.entries += 1
            entries = self._trim(spec, key)
            if spec.fires_early:
                firing = find_early(spec, entries, entry)
                if firing is not None:
                    used = set(firing.entries)
                    self.state.replace(key, [e for e in entries if e not in used])
                    out.extend(self._fired(spec, group, firing, depth))
        return out

    def _trim(self, spec: CorrelationSpec, key: str) -> list[WindowEntry]:
        """Expire what no future window can hold, and enforce the per-group cap."""
        entries = self.state.load(key)
        watermark = self._watermark_us if self._watermark_us is not None else 0
        kept = entries
        if spec.fires_early:
            horizon = watermark - self.lateness_us - spec.span_us
            kept = [e for e in entries if e.timestamp_us >= horizon]
        if len(kept) > self.max_entries_per_group:
            self.stats.dropped += len(kept) - self.max_entries_per_group
            kept = kept[-self.max_entries_per_group:]
        if len(kept) != len(entries):
            self.state.replace(key, kept)
        return kept

    def _fired(
        self, spec: CorrelationSpec, group: dict[str, Any], firing: Firing, depth: int,
    ) -> list[CorrelationMatch]:
        self.stats.fired += 1
        out = [CorrelationMatch(spec, group, firing)]
        if spec.key in self._consumers:
            last = max(e.timestamp_us for e in firing.entries)
            out.extend(self._feed(_Feed(spec.key, group, None, last, tuple(firing.event_ids)), depth + 1))
        return out

    def _sweep(self, now_us: int) -> list[CorrelationMatch]:
        out: list[CorrelationMatch] = []
        for key in self.state.window_keys():
            spec_key, _, group_json = key.partition(KEY_SEPARATOR)
            spec = self._by_key.get(spec_key)
            if spec is None:
                continue
            if spec.fires_early:
                self._trim(spec, key)
                continue
            group = dict(zip(spec.group_by, json.loads(group_json), strict=True))
            entries = self.state.load(key)
            while entries and entries[0].timestamp_us + spec.span_us + self.lateness_us <= now_us:
                end_us = entries[0].timestamp_us + spec.span_us
                window = [e for e in entries if e.timestamp_us <= end_us]
                entries = entries[len(window):]
                self.state.replace(key, entries)
                firing = evaluate_closed(spec, window)
                if firing is not None:
                    out.extend(self._fired(spec, group, firing, depth=0))
        return out


def _state_key(spec: CorrelationSpec, group: Mapping[str, Any]) -> str:
    return spec.key + KEY_SEPARATOR + json.dumps([group[name] for name in spec.group_by], default=str)


def _jsonable(value: Any) -> Any:
    """Group and field values are kept as JSON scalars (or lists of them) for any state store."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class SigmaCorrelationDetector:
    """The ``sigma_correlation`` detector: correlation alerts for a loaded Sigma rule set.

    Built either from a rule set (``load_rules``' result), or, as the CLI does, from an
    already built Sigma engine plus the correlations: ``SigmaCorrelationDetector(engine,
    ruleset.correlations)``, which reuses the engine as the matcher. ``matcher`` returns the
    base rules one event matches (by default a :class:`rules.sigma.SigmaEngine` over only
    the referenced rules). Only correlation alerts are returned: base-rule alerts are the
    ``sigma`` detector's job. Rules that fail to compile are kept in ``errors`` (file and
    line) rather than stopping the others.
    """

    name = "sigma_correlation"

    def __init__(
        self,
        source: RuleSet | MatchingEngine,
        correlations: Sequence[SigmaCorrelationRule] | None = None,
        *,
        matcher: Matcher | None = None,
        state: CorrelationState | None = None,
        max_lateness_secs: int = DEFAULT_MAX_LATENESS_SECS,
        max_entries_per_group: int = DEFAULT_MAX_ENTRIES_PER_GROUP,
        field_resolver: FieldResolver | None = None,
        clock: Clock | None = None,
        attack: AttackTable | None = None,
    ) -> None:
        if isinstance(source, MatchingEngine):
            ruleset: RuleSet = _Rules(list(source.rules), list(correlations or ()))
            matcher = matcher if matcher is not None else source.match
        else:
            ruleset = source if correlations is None else _Rules(list(source.rules), list(correlations))
        specs, self.errors = compile_all(list(ruleset.rules), list(ruleset.correlations))
        self.clock = clock or SystemClock()
        self.attack = attack if attack is not None else load_attack_table()
        self.engine = CorrelationEngine(
            specs,
            state=state if state is not None else MemoryState(),
            max_lateness_secs=max_lateness_secs,
            max_entries_per_group=max_entries_per_group,
            resolve_field=field_resolver or _default_field_resolver(),
        )
        self._matcher = matcher if matcher is not None else _default_matcher(ruleset)

    @property
    def stats(self) -> CorrelationStats:
        return self.engine.stats

    def detect(self, event: Event) -> list[Event]:
        # Our alerts and dead letters flow through the same pipeline: only telemetry and
        # products' own alerts are correlated, as the Sigma detector matches them.
        if not self.engine.specs or not detectable(event):
            return []
        timestamp = event.get("@timestamp")
        event_id = get_field(event, "event.id")
        if not isinstance(timestamp, str) or not isinstance(event_id, str):
            return []  # events without time or id cannot take part in a window (never the case after parsing)
        micros = timestamp_micros(timestamp)
        matches: list[CorrelationMatch] = []
        for rule in self._matcher(event):
            if self.engine.referenced(rule_key(rule)):
                matches.extend(self.engine.observe(rule, event, micros, event_id))
        return self._alerts(matches)

    def flush(self, now: datetime) -> list[Event]:
        return self._alerts(self.engine.close(timestamp_micros(now)))

    def _alerts(self, matches: Iterable[CorrelationMatch]) -> list[Event]:
        emitted = [m for m in matches if m.spec.emits]
        if not emitted:
            return []
        created = self.clock.now()
        return [build_correlation_alert(m.spec, m.group, m.firing, attack=self.attack, created=created)
                for m in emitted]


def _default_matcher(ruleset: RuleSet) -> Matcher:
    """A Sigma engine over only the rules some correlation references (the others are the
    ``sigma`` detector's business and would only cost time here)."""
    # Imported here: a caller that brings its own matcher need not load the Sigma engine.
    from rules.sigma import RuleSet as EngineRuleSet
    from rules.sigma import SigmaEngine

    referenced = {ref.reference for corr in ruleset.correlations for ref in (corr.rules or ())}
    wanted = [r for r in ruleset.rules if referenced & {str(r.id), r.name, rule_key(r)}]
    sources = getattr(ruleset, "sources", {})
    engine = SigmaEngine(EngineRuleSet(rules=wanted, sources=dict(sources)))
    match: Matcher = engine.match
    return match


def _default_field_resolver() -> FieldResolver:
    from correlation.fields import SigmaFieldResolver

    return SigmaFieldResolver()
