"""Entity behaviour: per source address, user or host, features over tumbling windows
compared with the entity's own baseline, or its peer group's while it has little history.

Three kinds (:data:`SPECS`), each keyed by one ECS field:

* ``network`` by ``source.ip``: connections, distinct destination ports, distinct
  destinations, deny ratio, bytes;
* ``auth`` by ``user.name``: logon failures, source addresses never seen for the user,
  events outside working hours;
* ``host`` by ``host.name`` (or the observer that logged it: a camera node's own
  iptables log): events, error ratio, outbound
  destinations never seen for the host. The peer group is ``host.type`` (``camera``...).

Windows are aligned to multiples of ``window_secs`` in event time. When a window closes
its features are scored: for each feature ``z = (x - mean) / max(std, floor)`` against
the entity's baseline once it has ``min_history`` windows, else against its peer group's;
the window's score is the largest ``z``. Windows below the threshold are learnt (running
mean and variance per feature, Welford), anomalous ones are not, so an attacker cannot
teach the baseline by repeating. Sets of known sources/destinations are learnt always
(an alert is raised once for a new destination, not every window).

Memory is bounded: at most ``max_entities`` entities (least recently seen evicted, their
open window scored first), distinct values per window capped at :data:`MAX_DISTINCT`,
known values per entity capped at :data:`MAX_KNOWN` (least recently seen forgotten).
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from correlation.anomaly.explain import Reason
from correlation.anomaly.stats import Stats
from soc_core.event import Event, get_field, timestamp_micros

MAX_DISTINCT: Final = 4096
MAX_KNOWN: Final = 1024
MAX_EVENT_IDS: Final = 100  # ids kept per window for the alert (the first ones)
DENY_ACTIONS: Final = frozenset({"deny", "denied", "drop", "dropped", "block", "blocked", "reject", "rejected",
                                 "reset-both", "reset"})
ERROR_LEVELS: Final = frozenset({"error", "err", "critical", "crit", "alert", "emergency", "emerg", "fatal"})


@dataclass(frozen=True)
class EntitySpec:
    kind: str
    key: str
    peer_field: str | None
    features: tuple[str, ...]
    floors: tuple[float, ...]  # the smallest spread a feature's z divides by
    fallbacks: tuple[str, ...] = ()  # fields naming the entity when ``key`` is absent

    def entity_of(self, event: Mapping[str, Any]) -> str | None:
        for name in (self.key, *self.fallbacks):
            value = get_field(event, name)
            if value is not None and value != "":
                return str(value)
        return None


SPECS: Final[dict[str, EntitySpec]] = {
    "network": EntitySpec("network", "source.ip", None,
                          ("connections", "destination_ports", "destinations", "deny_ratio", "bytes"),
                          (2.0, 1.0, 1.0, 0.1, 1000.0)),
    "auth": EntitySpec("auth", "user.name", None, ("logon_failures", "new_source_addresses", "off_hours_events"),
                       (1.0, 0.5, 1.0)),
    # A node logging its own traffic (iptables on a camera) names itself as the observer.
    "host": EntitySpec("host", "host.name", "host.type", ("events", "error_ratio", "new_destinations"),
                       (2.0, 0.1, 0.5), ("host.hostname", "observer.name", "observer.hostname")),
}


def schema_of(kind: str) -> dict[str, Any]:
    spec = SPECS[kind]
    return {"kind": kind, "version": 1, "key": spec.key, "fallbacks": list(spec.fallbacks),
            "peer_field": spec.peer_field,
            "features": list(spec.features), "floors": list(spec.floors)}


def _is_outbound(event: Mapping[str, Any], destination: str) -> bool:
    direction = get_field(event, "network.direction")
    if direction in ("outbound", "egress", "external"):
        return True
    if direction in ("inbound", "ingress", "internal"):
        return False
    try:
        return ipaddress.ip_address(destination).is_global
    except ValueError:
        return True  # a domain name: outbound unless said otherwise


@dataclass
class Window:
    start_us: int
    counts: dict[str, float] = field(default_factory=dict)
    distinct: dict[str, set[str]] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    events: int = 0

    def bump(self, name: str, by: float = 1.0) -> None:
        self.counts[name] = self.counts.get(name, 0.0) + by

    def note(self, name: str, value: str) -> None:
        values = self.distinct.setdefault(name, set())
        if len(values) < MAX_DISTINCT:
            values.add(value)


@dataclass
class EntityState:
    peer: str
    window: Window | None = None
    touched_us: int = 0  # wall-clock time of the entity's last event (for idle closing)
    stats: dict[str, Stats] = field(default_factory=dict)
    known: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def remember(self, values: Iterable[str]) -> None:
        for value in values:
            self.known[value] = None
            self.known.move_to_end(value)
        while len(self.known) > MAX_KNOWN:
            self.known.popitem(last=False)


@dataclass(frozen=True)
class WindowResult:
    """A closed window: its entity, features, score and reasons."""

    kind: str
    entity: str
    peer: str
    start_us: int
    end_us: int
    features: dict[str, float]
    score: float
    reasons: list[Reason]
    event_ids: list[str]
    baseline: str  # "entity", "peer" or "none"


class EntityModel:
    """Per-entity windows and baselines of one kind (see the module docstring)."""

    def __init__(self, kind: str, *, window_secs: int = 300, min_history: int = 6, max_entities: int = 50_000,
                 work_hours: tuple[int, int] = (7, 19), tz: str = "Asia/Ho_Chi_Minh",
                 threshold: float = math.inf) -> None:
        self.spec = SPECS[kind]
        self.kind = kind
        self.window_us = window_secs * 1_000_000
        self.min_history = min_history
        self.max_entities = max_entities
        self.work_hours = work_hours
        self.tz_name = tz
        self._tz = ZoneInfo(tz)
        self.threshold = threshold
        self.entities: OrderedDict[str, EntityState] = OrderedDict()
        self.peers: dict[str, dict[str, Stats]] = {}
        self.evicted = 0

    # --- events ----------------------------------------------------------------------

    def observe(self, event: Event, on_close: Callable[[WindowResult], None],
                touched_us: int = 0) -> tuple[str, int] | None:
        """Add one event (received at wall-clock ``touched_us``); closed windows go to
        ``on_close``. Returns (entity, window start) of the window that took the event, or
        None when the event has no entity."""
        entity = self.spec.entity_of(event)
        stamp = event.get("@timestamp")
        if entity is None or not isinstance(stamp, str):
            return None
        ts = timestamp_micros(stamp)
        state = self.entities.get(entity)
        if state is None:
            peer = get_field(event, self.spec.peer_field) if self.spec.peer_field else None
            state = self.entities[entity] = EntityState(peer=str(peer) if peer is not None else "all")
            while len(self.entities) > self.max_entities:
                old_entity, old = self.entities.popitem(last=False)
                self.evicted += 1
                if old.window is not None:
                    on_close(self._close(old_entity, old))
        else:
            self.entities.move_to_end(entity)
        start = ts - ts % self.window_us
        if state.window is not None and start >= state.window.start_us + self.window_us:
            on_close(self._close(entity, state))
        if state.window is None:
            state.window = Window(start)
        state.touched_us = touched_us
        self._accumulate(state.window, event, ts)
        return entity, state.window.start_us

    def _accumulate(self, window: Window, event: Event, ts: int) -> None:
        window.events += 1
        event_id = get_field(event, "event.id")
        if event_id and len(window.event_ids) < MAX_EVENT_IDS:
            window.event_ids.append(str(event_id))
        outcome = get_field(event, "event.outcome")
        action = str(get_field(event, "event.action") or "").lower()
        destination = get_field(event, "destination.ip") or get_field(event, "destination.domain")
        kind = self.kind
        if kind == "network":
            if destination is not None or get_field(event, "destination.port") is not None:
                window.bump("connections")
            port = get_field(event, "destination.port")
            if port is not None:
                window.note("destination_ports", str(port))
            if destination is not None:
                window.note("destinations", str(destination))
            if outcome == "failure" or action in DENY_ACTIONS:
                window.bump("denied")
            total = get_field(event, "network.bytes")
            if total is None:
                total = (get_field(event, "source.bytes") or 0) + (get_field(event, "destination.bytes") or 0)
            if isinstance(total, int | float):
                window.bump("bytes", float(total))
        elif kind == "auth":
            categories = get_field(event, "event.category") or []
            if outcome == "failure" and "authentication" in categories:
                window.bump("logon_failures")
            source = get_field(event, "source.ip")
            if source is not None:
                window.note("sources", str(source))
            hour = datetime.fromtimestamp(ts / 1_000_000, UTC).astimezone(self._tz).hour
            if not self.work_hours[0] <= hour < self.work_hours[1]:
                window.bump("off_hours_events")
        else:
            level = str(get_field(event, "log.level") or "").lower()
            status = get_field(event, "http.response.status_code")
            if outcome == "failure" or level in ERROR_LEVELS or (isinstance(status, int) and status >= 500):
                window.bump("errors")
            if destination is not None and _is_outbound(event, str(destination)):
                window.note("destinations", str(destination))

    # --- windows ---------------------------------------------------------------------

    def _features(self, state: EntityState, window: Window) -> dict[str, float]:
        c, d = window.counts, window.distinct
        if self.kind == "network":
            connections = c.get("connections", 0.0)
            return {"connections": connections, "destination_ports": float(len(d.get("destination_ports", ()))),
                    "destinations": float(len(d.get("destinations", ()))),
                    "deny_ratio": c.get("denied", 0.0) / connections if connections else 0.0,
                    "bytes": c.get("bytes", 0.0)}
        if self.kind == "auth":
            sources = d.get("sources", set())
            return {"logon_failures": c.get("logon_failures", 0.0),
                    "new_source_addresses": float(len(sources - state.known.keys())),
                    "off_hours_events": c.get("off_hours_events", 0.0)}
        destinations = d.get("destinations", set())
        return {"events": float(window.events),
                "error_ratio": c.get("errors", 0.0) / window.events if window.events else 0.0,
                "new_destinations": float(len(destinations - state.known.keys()))}

    def _score(self, state: EntityState, features: dict[str, float]) -> tuple[float, list[Reason], str]:
        peer = self.peers.get(state.peer, {})
        own_history = min((s.n for s in state.stats.values()), default=0)
        peer_history = min((s.n for s in peer.values()), default=0)
        if own_history >= self.min_history:
            baseline, source = state.stats, "entity"
        elif peer_history >= self.min_history:
            baseline, source = peer, "peer"
        else:
            return 0.0, [], "none"
        score = 0.0
        reasons: list[Reason] = []
        for name, floor in zip(self.spec.features, self.spec.floors, strict=True):
            stats = baseline.get(name)
            if stats is None:
                continue
            spread = max(stats.std, floor)
            z = (features[name] - stats.mean) / spread
            score = max(score, z)
            if z >= 1.0:
                who = "entity" if source == "entity" else f"peer group {state.peer!r}"
                reasons.append(Reason("entity.high", name, features[name],
                                      f"{who} typical {max(0.0, stats.mean - 2 * stats.std):.3g} to "
                                      f"{stats.mean + 2 * stats.std:.3g} (mean {stats.mean:.3g} over {stats.n} "
                                      "windows)", z))
        return score, sorted(reasons, key=lambda r: -r.contribution), source

    def _close(self, entity: str, state: EntityState) -> WindowResult:
        window = state.window
        assert window is not None  # callers check
        state.window = None
        features = self._features(state, window)
        score, reasons, source = self._score(state, features)
        if score <= self.threshold:
            for name, value in features.items():
                state.stats.setdefault(name, Stats()).add(value)
                self.peers.setdefault(state.peer, {}).setdefault(name, Stats()).add(value)
        new_values = window.distinct.get("sources" if self.kind == "auth" else "destinations", set())
        state.remember(sorted(new_values))
        return WindowResult(self.kind, entity, state.peer, window.start_us, window.start_us + self.window_us,
                            features, score, reasons, window.event_ids, source)

    def close_due(self, watermark_us: int, on_close: Callable[[WindowResult], None],
                  now_us: int | None = None, idle_before_us: int | None = None) -> None:
        """Close every open window that ended at or before ``watermark_us`` (event time),
        and, when ``now_us`` is given, every window that ended before ``now_us`` whose
        entity has been quiet since ``idle_before_us`` (wall clock): a replay of old logs
        keeps its windows open while their events are still arriving."""
        for entity, state in list(self.entities.items()):
            window = state.window
            if window is None:
                continue
            end = window.start_us + self.window_us
            idle = now_us is not None and idle_before_us is not None and end <= now_us and \
                state.touched_us <= idle_before_us
            if end <= watermark_us or idle:
                on_close(self._close(entity, state))

    def close_all(self, on_close: Callable[[WindowResult], None]) -> None:
        self.close_due(2**62, on_close)

    # --- persistence -----------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return {"window_secs": self.window_us // 1_000_000, "min_history": self.min_history,
                "max_entities": self.max_entities, "work_hours": list(self.work_hours), "tz": self.tz_name}

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings(),
            "entities": {name: {"peer": st.peer, "stats": {k: s.to_json() for k, s in sorted(st.stats.items())},
                                "known": list(st.known)}
                         for name, st in sorted(self.entities.items())},
            "peers": {peer: {k: s.to_json() for k, s in sorted(stats.items())}
                      for peer, stats in sorted(self.peers.items())},
        }

    @classmethod
    def from_json(cls, kind: str, data: Mapping[str, Any], threshold: float) -> EntityModel:
        s = data["settings"]
        model = cls(kind, window_secs=s["window_secs"], min_history=s["min_history"],
                    max_entities=s["max_entities"], work_hours=tuple(s["work_hours"]), tz=s["tz"],
                    threshold=threshold)
        for name, st in data["entities"].items():
            state = EntityState(peer=st["peer"], stats={k: Stats.from_json(v) for k, v in st["stats"].items()})
            state.remember(st["known"])
            model.entities[name] = state
        model.peers = {peer: {k: Stats.from_json(v) for k, v in stats.items()} for peer, stats in data["peers"].items()}
        return model
