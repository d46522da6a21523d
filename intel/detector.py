"""Indicator matching as a Detector: an event's observables against the active indicators.

A matching event gives exactly one alert (``rule.ruleset: intel``) whose
``threat.enrichments`` lists every indicator it matched (ECS ``threat.enrichments.*``:
the indicator with its provider, confidence and TLP marking, and what matched where).
The alert id derives from the event id, so the same event matched again (ingest, then a
retro-match) is stored once. Sightings are kept in memory (``detect`` does no I/O)
and handed to the caller by :meth:`IntelDetector.take_sightings`.
"""

from __future__ import annotations

import copy
import gc
import hashlib
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Final

from intel.indicators import EMAIL, MD5, SHA1, SHA256, URL, is_active, url_key
from intel.matcher import Hit, IndicatorIndex
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import ALL_TIME, Store, TimeRange
from soc_core.event import KIND_ALERT, Event, format_timestamp, get_field
from soc_core.query.ast import MatchAll

RULE: Final = {"id": "intel-indicator-match", "ruleset": "intel",
               "name": "Threat intelligence indicator match / Khớp chỉ dấu tình báo mối đe dọa"}
IP_FIELDS: Final = ("source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "related.ip")
DOMAIN_FIELDS: Final = ("url.domain", "destination.domain", "source.domain", "client.domain", "server.domain",
                        "dns.question.name", "tls.client.server_name", "related.hosts")
URL_FIELDS: Final = ("url.full", "url.original")
HASH_FIELDS: Final = tuple(f"{p}.hash.{h}" for p in ("file", "process", "dll") for h in ("md5", "sha1", "sha256"))
EMAIL_FIELDS: Final = ("email.from.address", "email.to.address", "email.sender.address", "user.email",
                       "source.user.email", "destination.user.email")
_HASH_BY_LENGTH: Final = {32: MD5, 40: SHA1, 64: SHA256}


def _fields_by_top() -> dict[str, list[tuple[tuple[str, ...], str, str]]]:
    """The observable fields grouped by their top-level object: an event is walked once
    per object it has, not once per field name."""
    table: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    for kind, paths in (("ip", IP_FIELDS), ("domain", DOMAIN_FIELDS), (URL, URL_FIELDS),
                        ("hash", (*HASH_FIELDS, "related.hash")), (EMAIL, EMAIL_FIELDS)):
        for path in paths:
            top, *rest = path.split(".")
            table.setdefault(top, []).append((tuple(rest), kind, path))
    return table


_FIELDS_BY_TOP: Final = _fields_by_top()
_ECS_TYPE: Final = {"ipv4-addr": "ipv4-addr", "ipv6-addr": "ipv6-addr", "domain-name": "domain-name", "url": "url",
                    "email-addr": "email-addr"}


def _confidence_word(score: int) -> str:
    # ECS threat.indicator.confidence is a keyword scale; the number stays in the record.
    return "High" if score >= 70 else "Medium" if score >= 40 else "Low" if score > 0 else "None"


def enrichment(hit: Hit, field: str, atomic: str) -> dict[str, Any]:
    """One ``threat.enrichments`` entry (ECS 8.x)."""
    indicator: dict[str, Any] = {
        "type": "file" if hit.type.startswith("file:") else _ECS_TYPE[hit.type],
        "name": hit.value, "provider": ", ".join(hit.sources), "confidence": _confidence_word(hit.confidence),
        "marking": {"tlp": hit.tlp}, "first_seen": hit.first_seen, "last_seen": hit.last_seen,
        "id": [hit.id], "sighting_confidence_score": hit.confidence,
    }
    if hit.type in ("ipv4-addr", "ipv6-addr"):
        indicator["ip"] = hit.value
    elif hit.type == "domain-name":
        indicator["url"] = {"domain": hit.value}
    elif hit.type == URL:
        indicator["url"] = {"full": hit.value}
    elif hit.type == EMAIL:
        indicator["email"] = {"address": hit.value}
    else:
        indicator["file"] = {"hash": {hit.type.rpartition(".")[2].replace("-", "").lower(): hit.value}}
    return {"indicator": indicator,
            "matched": {"atomic": atomic, "field": field, "id": hit.id, "type": "indicator_match_rule"}}


class IntelDetector:
    """The Detector of indicator matches over an :class:`IndicatorIndex`."""

    name = "intel"

    def __init__(self, index: IndicatorIndex, clock: Clock | None = None,
                 on_sightings: Callable[[dict[str, tuple[int, str, str]]], None] | None = None) -> None:
        self.index = index
        self.clock = clock or SystemClock()
        self.on_sightings = on_sightings
        self._pending: dict[str, tuple[str, list[str]]] = {}  # alert id -> (event time, indicator ids)

    def matches(self, event: Event) -> list[tuple[Hit, str, str]]:
        """(indicator, field, value) for every indicator the event's observables hit, once each."""
        found: dict[str, tuple[Hit, str, str]] = {}
        checked: set[tuple[str, str]] = set()  # related.* repeats the other fields' values
        for top, specs in _FIELDS_BY_TOP.items():
            node = event.get(top)
            if node is None:
                continue
            for rest, kind, path in specs:
                value: Any = node
                for part in rest:
                    value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    continue
                for item in value if isinstance(value, list) else (value,):
                    if not isinstance(item, str) or not item or (kind, item) in checked:
                        continue
                    checked.add((kind, item))
                    for hit in self._lookup(kind, item):
                        found.setdefault(hit.id, (hit, path, item))
        return list(found.values())

    def _lookup(self, kind: str, value: str) -> list[Hit]:
        index = self.index
        if kind == "ip":
            return index.ip(value)
        if kind == "domain":
            return index.domain(value)
        if kind == URL:
            key = url_key(value)
            return index.value(URL, key) if key else []
        if kind == "hash":
            hash_type = _HASH_BY_LENGTH.get(len(value))
            return index.value(hash_type, value.lower()) if hash_type else []
        return index.value(EMAIL, value.lower())

    def detect(self, event: Event) -> list[Event]:
        if not self.index.size or get_field(event, "event.kind") == KIND_ALERT:
            return []
        found = self.matches(event)
        if not found:
            return []
        alert = self._alert(event, found)
        self._pending[alert["event"]["id"]] = (str(event.get("@timestamp") or alert["event"]["created"]),
                                               [hit.id for hit, _, _ in found])
        return [alert]

    def _alert(self, event: Event, found: list[tuple[Hit, str, str]]) -> Event:
        alert: Event = copy.deepcopy(dict(event))
        meta = dict(alert.get("event") or {})
        source_id = str(meta.get("id", ""))
        meta["kind"] = KIND_ALERT
        meta["id"] = hashlib.blake2b(f"intel\x00{source_id}".encode(), digest_size=16).hexdigest()
        meta["created"] = format_timestamp(self.clock.now())
        meta["severity"] = max(hit.confidence for hit, _, _ in found)
        alert["event"] = meta
        # One rule id per set of indicators: alert handling folds repeats of the same rule
        # on the same entities, and two different indicators are two findings.
        key = hashlib.blake2b(",".join(sorted(h.id for h, _, _ in found)).encode(), digest_size=8).hexdigest()
        alert["rule"] = {**RULE, "id": f"{RULE['id']}-{key}"}
        # The indicator ids again as a flat list: a query reaches them there on both stores.
        alert["alert"] = {"event_ids": [source_id] if source_id else [], "indicator_ids": [h.id for h, _, _ in found]}
        threat = dict(alert.get("threat") or {})
        threat["enrichments"] = [enrichment(hit, path, value) for hit, path, value in found]
        alert["threat"] = threat
        return alert

    def flush(self, now: datetime) -> list[Event]:
        """No time-driven alerts; hands the sightings to ``on_sightings`` when one is given."""
        if self.on_sightings is not None and self._pending:
            self.on_sightings(self.take_sightings())
        return []

    def take_sightings(self, already_stored: Collection[str] = ()) -> dict[str, tuple[int, str, str]]:
        """Sightings since the last call, ``{indicator id: (count, first, last)}``, leaving
        out the alerts in ``already_stored`` (a retro-match finding what ingest found)."""
        out: dict[str, tuple[int, str, str]] = {}
        for alert_id, (stamp, ids) in self._pending.items():
            if alert_id in already_stored:
                continue
            for hit_id in ids:
                count, first, last = out.get(hit_id, (0, stamp, stamp))
                out[hit_id] = (count + 1, min(first, stamp), max(last, stamp))
        self._pending.clear()
        return out


def build_index(records: Any, now: datetime) -> IndicatorIndex:
    """The index of the active ones among indicator records."""
    index = IndicatorIndex()
    index.extend(r for r in records if is_active(r, now))
    return index


def retro_match(store: Store, detector: IntelDetector, time_range: TimeRange = ALL_TIME,
                page_size: int = 1000, max_events: int = 10_000_000) -> tuple[int, list[Event]]:
    """Run the detector over the stored events of a window: (events read, alerts).

    The alerts are returned, not written: the caller stores them (their ids derive from
    the events', so alerts already stored from ingest are not stored twice)."""
    cursor: str | None = None
    read = 0
    alerts: list[Event] = []
    while read < max_events:
        page = store.search("events", MatchAll(), time_range, limit=page_size, cursor=cursor, order="asc")
        read += len(page.events)
        for event in page.events:
            alerts.extend(detector.detect(event))
        cursor = page.cursor
        if cursor is None or not page.events:
            break
    return read, alerts


def detector_for(store: Store, clock: Clock,
                 on_sightings: Callable[[dict[str, tuple[int, str, str]]], None] | None = None) -> IntelDetector | None:
    """The detector over the store's active indicators, or None when it holds none.

    ``on_sightings``: called from :meth:`IntelDetector.flush` with the sightings counted
    since the last flush (the running service records them there)."""
    from intel.repository import IndicatorRepository

    index = build_index(IndicatorRepository(store, clock).all(), clock.now())
    if not index.size:
        return None
    # The index lives as long as the process: move it out of the collector's reach, or every
    # full collection walks its (up to millions of) entries while events flow.
    gc.collect()
    gc.freeze()
    return IntelDetector(index, clock, on_sightings)
