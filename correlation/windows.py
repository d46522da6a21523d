"""Pure window arithmetic: does a set of window entries satisfy a correlation?

No state and no I/O here: the engine hands in the entries of one group (oldest first) and
gets back the entries that made a match, so the semantics can be tested on their own. A
window is any interval of length ``timespan``, both ends included.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from correlation.spec import CorrelationSpec
from correlation.state import WindowEntry


@dataclass(frozen=True, slots=True)
class Firing:
    """A satisfied window: the entries that made it, the measured value, and for
    ``value_percentile`` the rare field values that were found."""

    entries: list[WindowEntry]
    value: float
    values: list[Any] = field(default_factory=list)

    @property
    def event_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            for event_id in entry.event_ids:
                seen.setdefault(event_id, None)
        return list(seen)


def number(value: Any) -> float | None:
    """A field value as a number, or None (booleans and non-numeric text are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile with linear interpolation between closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure(spec: CorrelationSpec, entries: Sequence[WindowEntry]) -> float | None:
    """The quantity the condition is compared with; None when there is nothing to measure."""
    if spec.type == "event_count":
        return float(len(entries))
    if spec.type == "temporal":
        return float(len({e.rule for e in entries}))
    if spec.type == "value_count":
        return float(len({_hashable(e.value) for e in entries if e.value is not None}))
    numbers = [n for n in (number(e.value) for e in entries) if n is not None]
    if spec.type == "value_sum":
        return float(sum(numbers))
    if not numbers:
        return None
    if spec.type == "value_avg":
        return sum(numbers) / len(numbers)
    if spec.percentile is not None:  # value_median, or value_percentile with the pySigma key
        return percentile(numbers, spec.percentile)
    return None


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def _ordered_match(spec: CorrelationSpec, entries: Sequence[WindowEntry], start: int) -> list[WindowEntry] | None:
    """Entries of the referenced rules in the rules' order, from ``entries[start]`` within the span."""
    end_us = entries[start].timestamp_us + spec.span_us
    chosen: list[WindowEntry] = []
    wanted = 0
    for entry in entries[start:]:
        if entry.timestamp_us > end_us:
            break
        if entry.rule == spec.rules[wanted]:
            chosen.append(entry)
            wanted += 1
            if wanted == len(spec.rules):
                return chosen
    return None


def _window(entries: Sequence[WindowEntry], start: int, span_us: int) -> list[WindowEntry]:
    end_us = entries[start].timestamp_us + span_us
    out = []
    for entry in entries[start:]:
        if entry.timestamp_us > end_us:
            break
        out.append(entry)
    return out


def find_early(spec: CorrelationSpec, entries: Sequence[WindowEntry], new: WindowEntry) -> Firing | None:
    """For conditions decided on arrival: a window holding ``new`` that satisfies the spec.

    Only windows that can contain ``new`` are tried: those starting at an entry no older
    than ``new`` minus the timespan and no newer than ``new``.
    """
    lowest = new.timestamp_us - spec.span_us
    for start, entry in enumerate(entries):
        if entry.timestamp_us < lowest:
            continue
        if entry.sort_key() > new.sort_key():
            break
        if spec.type == "temporal_ordered":
            if entry.rule != spec.rules[0]:
                continue
            chosen = _ordered_match(spec, entries, start)
            if chosen is not None:
                return Firing(chosen, float(len(chosen)))
            continue
        window = _window(entries, start, spec.span_us)
        value = measure(spec, window)
        if value is not None and spec.satisfied(value):
            return Firing(window, value)
        # Growing counts: the earliest start gives the fullest window when events come in
        # order, so later starts only matter for a late event.
        if entries[-1] == new:
            break
    return None


def evaluate_closed(spec: CorrelationSpec, window: Sequence[WindowEntry]) -> Firing | None:
    """For conditions decided when the window closes: evaluate the whole window once."""
    if not window:
        return None
    if spec.type == "value_percentile" and spec.percentile is None:
        return _rare_values(spec, window)
    if spec.type == "temporal_ordered":
        for start, entry in enumerate(window):
            if entry.rule == spec.rules[0]:
                chosen = _ordered_match(spec, window, start)
                if chosen is not None:
                    return Firing(chosen, float(len(chosen)))
        return None
    value = measure(spec, window)
    if value is None or not spec.satisfied(value):
        return None
    return Firing(list(window), value)


def _rare_values(spec: CorrelationSpec, window: Sequence[WindowEntry]) -> Firing | None:
    """Share (in percent) of each value among the window's events, tested against the condition."""
    present = [e for e in window if e.value is not None]
    if not present:
        return None
    counts = Counter(_hashable(e.value) for e in present)
    total = len(present)
    shares = {value: 100.0 * n / total for value, n in counts.items()}
    rare = [v for v, share in shares.items() if spec.satisfied(share)]
    if not rare:
        return None
    chosen = [e for e in present if _hashable(e.value) in rare]
    return Firing(chosen, min(shares[v] for v in rare), sorted(rare, key=str))
