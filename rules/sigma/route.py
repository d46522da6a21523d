"""A logsource route and the route key of an event (no pySigma import: the cached engine
restores routes without loading pySigma's pipeline tables, which ``logsource.py`` reads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    """One kind of event a rule applies to, and how its field names read there.

    Windows routes filter on channel and event id (lower-cased text; ``None`` = any)
    and may add equality ``conditions`` and field ``renames``; ``unsupported`` fields
    make the rule impossible on this route. ECS routes filter on ``event.dataset``
    prefixes and name the field-mapping ``family``.
    """

    name: str
    windows: bool
    channels: frozenset[str] | None = None
    event_ids: frozenset[str] | None = None
    conditions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    renames: Mapping[str, str] = field(default_factory=dict)
    unsupported: frozenset[str] = frozenset()
    family: str | None = None
    datasets: tuple[str, ...] | None = None

    def accepts_windows(self, channel: str, event_id: str) -> bool:
        return (self.channels is None or channel in self.channels) and (
            self.event_ids is None or event_id in self.event_ids
        )

    def accepts_dataset(self, dataset: str) -> bool:
        if self.datasets is None:
            return True
        return any(dataset == p or dataset.startswith(p + ".") for p in self.datasets)


def event_route_key(event: Mapping[str, Any]) -> tuple[str, str, str]:
    """``("w", channel, event_id)`` for Windows events, ``("e", dataset, "")`` otherwise."""
    winlog = event.get("winlog")
    if isinstance(winlog, Mapping):
        # ETW records may lack a channel: still Windows events (rules without a
        # channel condition see them, as in the SQLite view where Channel is NULL).
        return ("w", str(winlog.get("channel") or "").lower(), str(winlog.get("event_id", "")))
    ev = event.get("event")
    dataset = ev.get("dataset") if isinstance(ev, Mapping) else None
    return ("e", str(dataset or ""), "")
