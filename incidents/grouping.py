"""Which incident an alert joins, and why: shared entities, time proximity, and no hub glue.

The rules (docs/incidents.md says why):

1. An alert that names an *actor* (``source.ip``, ``file.hash.sha256``) joins the open incident
   that saw the same actor value most recently, within ``max_gap_secs`` of it.
2. An alert that names no attacking address (antivirus on a host, a local event) and whose other
   actors (a file hash) link nowhere joins, through its *target* entities (the host, its address,
   the account), the open incident touching that target that got furthest along the kill chain
   (then the most recent), within ``max_gap_secs``.
3. Values in ``never_link`` (addresses or CIDRs of the SOC's gateways, NAT, its own scanners, and
   any exact value) never link anything. A target seen from more than ``hub_max_sources`` distinct
   source addresses within ``hub_window_secs`` is a hub (a shared server, a proxy) and stops linking.
4. Otherwise the alert opens its own incident. Every decision is recorded as the member's
   ``reason``: which entity, which earlier alert, how many seconds apart; or why nothing linked.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.entities import ACTOR_FIELDS, SAME_ENTITY, TARGET_FIELDS, progress
from incidents.record import CLOSED, gap_seconds
from soc_core.contracts import Record
from soc_core.errors import ConfigError
from soc_core.event import parse_timestamp

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FindIncidents = Callable[[str, str], Iterable[Record]]


@dataclass(frozen=True)
class GroupingOptions:
    """Tunable grouping; the defaults suit a provincial SOC's volume."""

    max_gap_secs: float = 86_400.0
    hub_max_sources: int = 10
    hub_window_secs: float = 86_400.0
    max_tracked_entities: int = 50_000
    never_link: tuple[str, ...] = ()
    # Alerts below this ECS severity (informational rules, the building blocks of correlations
    # such as a single firewall deny) join an incident they link to but never open one.
    open_min_severity: int = 1
    _networks: tuple[Network, ...] = field(default=(), repr=False, compare=False)
    _values: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        networks: list[Network] = []
        values: set[str] = set()
        for item in self.never_link:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                values.add(item)
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_values", frozenset(values))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GroupingOptions:
        """From a configuration mapping (YAML/TOML); unknown keys are errors."""
        known = {"max_gap_secs", "hub_max_sources", "hub_window_secs", "max_tracked_entities", "never_link",
                 "open_min_severity"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown incident grouping option(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "never_link" in values:
            values["never_link"] = tuple(str(v) for v in values["never_link"] or ())
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"incident grouping options: {exc}") from None

    def never_links(self, value: str) -> bool:
        if value in self._values:
            return True
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in net for net in self._networks)


@dataclass(slots=True)
class _Seen:
    since: datetime
    sources: set[str]


class HubTracker:
    """Counts distinct source addresses per target entity over a tumbling window (bounded)."""

    def __init__(self, options: GroupingOptions) -> None:
        self._options = options
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    @staticmethod
    def key(field_name: str, value: str) -> str:
        # One key for an address whichever target field carries it.
        return f"{min(SAME_ENTITY.get(field_name, (field_name,)))}={value}"

    def observe(self, entities: Mapping[str, list[str]], when: datetime) -> None:
        sources = entities.get("source.ip", [])
        if not sources:
            return
        limit = self._options.hub_max_sources + 1
        for field_name in TARGET_FIELDS:
            for value in entities.get(field_name, []):
                key = self.key(field_name, value)
                seen = self._seen.get(key)
                if seen is None or (when - seen.since).total_seconds() > self._options.hub_window_secs:
                    seen = self._seen[key] = _Seen(when, set())
                for source in sources:
                    if len(seen.sources) < limit:
                        seen.sources.add(source)
                self._seen.move_to_end(key)
        while len(self._seen) > self._options.max_tracked_entities:
            self._seen.popitem(last=False)

    def sources(self, field_name: str, value: str) -> int:
        seen = self._seen.get(self.key(field_name, value))
        return len(seen.sources) if seen else 0

    def is_hub(self, field_name: str, value: str) -> bool:
        return self.sources(field_name, value) > self._options.hub_max_sources


@dataclass(frozen=True)
class Link:
    """The decision for one alert: the incident to join (or None) and the explanation."""

    incident: Record | None
    reason: dict[str, Any]


def _open_and_near(incident: Record, when: str, max_gap: float) -> bool:
    if incident.get("status") in CLOSED or incident.get("merged_into"):
        return False
    start, end = parse_timestamp(incident["first_seen"]), parse_timestamp(incident["last_seen"])
    at = parse_timestamp(when)
    return (start - at).total_seconds() <= max_gap and (at - end).total_seconds() <= max_gap


def _linked_member(incident: Record, fields: tuple[str, ...], value: str, when: str) -> Mapping[str, Any] | None:
    """The member nearest in time that carries ``value`` in one of ``fields``."""
    holders = [m for m in incident["members"] if any(value in m.get("entities", {}).get(f, []) for f in fields)]
    if not holders:
        return None
    nearest: Mapping[str, Any] = min(holders, key=lambda m: gap_seconds(m.get("last_seen", m["timestamp"]), when))
    return nearest


class Grouper:
    """Decides links; the caller supplies ``find(field, value)`` over stored and pending incidents."""

    def __init__(self, options: GroupingOptions | None = None) -> None:
        self.options = options or GroupingOptions()
        self.hubs = HubTracker(self.options)

    def decide(self, member: Mapping[str, Any], find: FindIncidents) -> Link:
        entities: Mapping[str, list[str]] = member["entities"]
        when = member["timestamp"]
        self.hubs.observe(entities, parse_timestamp(when))
        skipped: list[str] = []
        actors = [(f, v) for f in ACTOR_FIELDS for v in entities.get(f, [])]
        usable = []
        for f, v in actors:
            if self.options.never_links(v):
                skipped.append(f"{f}={v} is in the never-link list")
            else:
                usable.append((f, v))
        by_actor = self._best(usable, member, find, skipped, by_progress=False)
        if by_actor.incident is not None or entities.get("source.ip"):
            # An attacking address not seen before is a new attacker: a new incident, even
            # when it hits a host that others hit too.
            return by_actor
        targets = []
        for f in TARGET_FIELDS:
            for v in entities.get(f, []):
                if self.options.never_links(v):
                    skipped.append(f"{f}={v} is in the never-link list")
                elif self.hubs.is_hub(f, v):
                    skipped.append(f"{f}={v} is a hub (seen from {self.hubs.sources(f, v)} sources)")
                else:
                    targets.append((f, v))
        return self._best(targets, member, find, skipped, by_progress=True)

    def _best(self, keys: list[tuple[str, str]], member: Mapping[str, Any], find: FindIncidents,
              skipped: list[str], *, by_progress: bool) -> Link:
        when = member["timestamp"]
        best: tuple[tuple[Any, ...], Record, str, str, tuple[str, ...]] | None = None
        for f, v in keys:
            fields = SAME_ENTITY.get(f, (f,))
            for search_field in fields:
                for incident in find(search_field, v):
                    if not _open_and_near(incident, when, self.options.max_gap_secs):
                        continue
                    rank = ((progress(incident["tactics"]),) if by_progress else ()) + (
                        incident["last_seen"], incident["id"])
                    if best is None or rank > best[0]:
                        best = (rank, incident, f, v, fields)
        if best is None:
            text = "first alert" + (f" (not linked: {'; '.join(skipped)})" if skipped else "")
            return Link(None, {"text": text, "skipped": skipped} if skipped else {"text": text})
        _, incident, f, v, fields = best
        linked = _linked_member(incident, fields, v, when)
        gap = gap_seconds(linked.get("last_seen", linked["timestamp"]), when) if linked else None
        how = "target, furthest kill-chain progress" if by_progress else "actor"
        reason: dict[str, Any] = {
            "entity_field": f, "entity_value": v, "link": "target" if by_progress else "actor",
            "linked_alert_id": linked["alert_id"] if linked else None,
            "gap_seconds": round(gap, 3) if gap is not None else None,
            "text": f"shares {f}={v} ({how}) with alert {linked['alert_id'] if linked else '?'}"
                    + (f", {gap:.0f} s apart" if gap is not None else ""),
        }
        if skipped:
            reason["skipped"] = skipped
        return Link(incident, reason)
