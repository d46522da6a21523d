"""The incident service: groups handled alerts into incidents and carries out analysts' changes.

Every change is read → changed → written back with the version read (``Store.records``), so two
writers never lose each other's work: grouping replays its additions on a fresh copy after a
conflict; an analyst's change is refused with :class:`~soc_core.errors.VersionConflict` when the
analyst gave the version they saw and it is stale. Each stored change is appended to the audit trail
and then told to every :class:`~soc_core.contracts.IncidentObserver` (playbooks run from there).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from incidents.entities import ACTOR_FIELDS, TARGET_FIELDS
from incidents.grouping import Grouper, GroupingOptions
from incidents.handling import Duplicate
from incidents.record import (
    KIND,
    STATUSES,
    TRANSITIONS,
    add_duplicate,
    add_member,
    alert_summary,
    new_incident,
    note,
    rebuild,
    touch,
)
from soc_core.audit import AuditLog
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import IncidentObserver, Record, Store
from soc_core.errors import ConfigError, NotFound, SocError, VersionConflict
from soc_core.event import Event, format_timestamp

log = logging.getLogger(__name__)

GROUPING_ACTOR = "system:grouping"
_MAX_REPLAYS = 20
# Evidence files above this size are recorded by hash and path only, not copied into the record.
MAX_INLINE_EVIDENCE_BYTES = 256 * 1024
ASSET_KIND = "assets"


class IncidentService:
    """Grouping, lifecycle, merge and split over one store."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        options: GroupingOptions | None = None,
        observers: Sequence[IncidentObserver] = (),
    ) -> None:
        self._store = store
        self._repo = store.records(KIND)
        self._clock = clock or SystemClock()
        self.grouper = Grouper(options)
        self.observers = list(observers)
        self.audit = AuditLog(store.records("audit"), clock=self._clock)
        self._criticality: dict[str, int] = {}

    # -- grouping ------------------------------------------------------------------------

    def ingest(self, alerts: Sequence[Event], duplicates: Sequence[Duplicate] = ()) -> list[Record]:
        """Group new alerts (in time order) and count folded duplicates; returns changed incidents."""
        now = self._clock.now()
        pending: dict[str, Record] = {}
        created: set[str] = set()
        # What was done to each incident, to replay on a fresh copy after a version conflict.
        steps: dict[str, list[Callable[[Record], None]]] = {}

        def find(field_name: str, value: str) -> Iterable[Record]:
            stored = {r["id"]: r for r in self._repo.find({f"entities.{field_name}": value}, limit=50)}
            stored.update({i: r for i, r in pending.items() if value in r["entities"].get(field_name, [])})
            return [pending.get(i, r) for i, r in stored.items()]

        for alert in sorted(alerts, key=lambda a: str(a.get("@timestamp"))):
            member = alert_summary(alert)
            if any(member["alert_id"] in r["alert_ids"] for r in pending.values()) or self._repo.find(
                    {"alert_ids": member["alert_id"]}, limit=1):
                continue  # a replayed alert already belongs to an incident
            link = self.grouper.decide(member, find)
            member["reason"] = link.reason
            criticality = self._asset_criticality(member["entities"])
            if link.incident is None:
                if member["severity"] < self.grouper.options.open_min_severity:
                    continue  # stored and searchable, but not worth an incident of its own
                incident = new_incident(member, now, _title_entity(member["entities"]))
                created.add(incident["id"])
                note(incident, GROUPING_ACTOR, "created", "incident opened", now)
            else:
                incident = pending.get(link.incident["id"], link.incident)

            def join(record: Record, m: dict[str, Any] = member, c: int = criticality) -> None:
                add_member(record, m, now, c)

            join(incident)
            pending[incident["id"]] = incident
            steps.setdefault(incident["id"], []).append(join)

        for dup in duplicates:
            holders = self._repo.find({"alert_ids": dup.kept_alert_id}, limit=1)
            holder = next((r for r in pending.values() if dup.kept_alert_id in r["alert_ids"]), None) or (
                holders[0] if holders else None)
            if holder is None:
                continue  # its first alert was suppressed or never grouped: nothing to count on
            record = pending.get(holder["id"], holder)

            def count(r: Record, d: Duplicate = dup) -> None:
                add_duplicate(r, d.kept_alert_id, d.timestamp, now)

            count(record)
            pending[record["id"]] = record
            steps.setdefault(record["id"], []).append(count)

        changed = []
        for incident_id, record in pending.items():
            is_new = incident_id in created
            stored = self._write(record, steps[incident_id], is_new)
            self._audit(GROUPING_ACTOR, "incident.create" if is_new else "incident.update", stored,
                        {"alerts": len(stored["alert_ids"]), "severity": stored["severity"]})
            self._notify(stored, "created" if is_new else "updated")
            changed.append(stored)
        return changed

    def _write(self, record: Record, steps: list[Callable[[Record], None]], is_new: bool) -> Record:
        expected = None if is_new else record.get("version")
        for _ in range(_MAX_REPLAYS):
            try:
                return self._repo.put(record, expected)
            except VersionConflict:
                if is_new:
                    raise  # a deterministic id taken by another writer: the same alert grouped twice
                fresh = self._repo.get(record["id"])
                for step in steps:
                    step(fresh)
                record, expected = fresh, fresh["version"]
        raise VersionConflict(record["id"], expected or 0, -1)

    def _asset_criticality(self, entities: dict[str, list[str]]) -> int:
        """The highest criticality (0-4) of the assets named by target entities (kind ``assets``:
        records with ``ips``, ``hostnames`` and ``criticality``)."""
        best = 0
        for field_name in TARGET_FIELDS:
            attr = "hostnames" if field_name == "host.name" else "ips" if field_name.endswith(".ip") else None
            if attr is None:
                continue
            for value in entities.get(field_name, []):
                key = f"{attr}={value}"
                if key not in self._criticality:
                    assets = self._store.records(ASSET_KIND).find({attr: value}, limit=5)
                    self._criticality[key] = max((int(a.get("criticality", 0)) for a in assets), default=0)
                best = max(best, self._criticality[key])
        return best

    # -- analysts' changes ---------------------------------------------------------------

    def get(self, incident_id: str) -> Record:
        return self._repo.get(incident_id)

    def list(self, filters: dict[str, str] | None = None, limit: int = 100, offset: int = 0) -> list[Record]:
        """Incidents, newest change first, filtered by exact fields (status, severity, assignee,
        ``entities.source.ip``...)."""
        return self._repo.find(filters or {}, limit=limit, offset=offset)

    def _change(self, incident_id: str, actor: str, expected_version: int | None, action: str,
                change: str, apply: Callable[[Record], dict[str, Any]]) -> Record:
        record = self._repo.get(incident_id)
        if expected_version is not None and record["version"] != expected_version:
            raise VersionConflict(incident_id, expected_version, record["version"])
        details = apply(record)
        stored = self._repo.put(record, record["version"])
        self._audit(actor, action, stored, details)
        self._notify(stored, change)
        return stored

    def set_status(self, incident_id: str, status: str, actor: str, reason: str = "",
                   expected_version: int | None = None) -> Record:
        if status not in STATUSES:
            raise ConfigError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")

        def apply(r: Record) -> dict[str, Any]:
            old = r["status"]
            if status not in TRANSITIONS[old]:
                raise ConfigError(f"{r['id']}: cannot go from {old} to {status}")
            r["status"] = status
            note(r, actor, "status", f"{old} -> {status}" + (f": {reason}" if reason else ""), self._clock.now())
            return {"from": old, "to": status, "reason": reason}

        return self._change(incident_id, actor, expected_version, "incident.status", "status", apply)

    def assign(self, incident_id: str, assignee: str | None, actor: str,
               expected_version: int | None = None) -> Record:
        def apply(r: Record) -> dict[str, Any]:
            old, r["assignee"] = r.get("assignee"), assignee
            note(r, actor, "assign", f"assignee {old or '-'} -> {assignee or '-'}", self._clock.now())
            return {"from": old, "to": assignee}

        return self._change(incident_id, actor, expected_version, "incident.assign", "assigned", apply)

    def comment(self, incident_id: str, text: str, author: str, expected_version: int | None = None) -> Record:
        if not text.strip():
            raise ConfigError("an empty comment")

        def apply(r: Record) -> dict[str, Any]:
            now = format_timestamp(self._clock.now())
            r["comments"].append({"ts": now, "author": author, "text": text})
            note(r, author, "comment", text[:200], self._clock.now())
            return {"sha256": hashlib.sha256(text.encode()).hexdigest()}

        return self._change(incident_id, author, expected_version, "incident.comment", "commented", apply)

    def add_evidence(self, incident_id: str, author: str, *, path: str | None = None, text: str | None = None,
                     name: str | None = None, expected_version: int | None = None) -> Record:
        """Attach a file or a text; its SHA-256 goes into the record and the audit trail."""
        if (path is None) == (text is None):
            raise ConfigError("evidence is either a file or a text")
        data = Path(path).read_bytes() if path is not None else (text or "").encode()
        digest = hashlib.sha256(data).hexdigest()
        item: dict[str, Any] = {
            "id": f"EV-{digest[:12]}", "ts": format_timestamp(self._clock.now()), "author": author,
            "name": name or (Path(path).name if path else "text"), "sha256": digest, "size": len(data),
            "text": text, "path": str(Path(path).resolve()) if path else None,
            "content_base64": base64.b64encode(data).decode()
            if path is not None and len(data) <= MAX_INLINE_EVIDENCE_BYTES else None,
        }

        def apply(r: Record) -> dict[str, Any]:
            r["evidence"].append(item)
            note(r, author, "evidence", f"{item['name']} sha256={digest}", self._clock.now())
            return {"evidence_id": item["id"], "name": item["name"], "sha256": digest, "size": len(data)}

        return self._change(incident_id, author, expected_version, "incident.evidence", "evidence", apply)

    def merge(self, target_id: str, source_ids: Sequence[str], actor: str, reason: str = "") -> Record:
        """Move every member of the sources into the target; the sources are resolved as merged."""
        if target_id in source_ids or not source_ids:
            raise ConfigError("merge needs a target and at least one other incident")
        now = self._clock.now()
        target = self._repo.get(target_id)
        sources = [self._repo.get(s) for s in source_ids]
        for src in sources:
            if src.get("merged_into"):
                raise ConfigError(f"{src['id']} was already merged into {src['merged_into']}")
            for member in src["members"]:
                add_member(target, {**member, "reason": {**(member.get("reason") or {}),
                                                         "text": f"merged from {src['id']} by {actor}"}},
                           now, int(src.get("asset_criticality", 0)))
            target["merged_from"] = [*target.get("merged_from", []), src["id"]]
        note(target, actor, "merge", f"merged {', '.join(source_ids)}" + (f": {reason}" if reason else ""), now)
        stored = self._repo.put(target, target["version"])
        for src in sources:
            src["merged_into"] = target_id
            old = src["status"]
            src["status"] = "resolved"
            note(src, actor, "merge", f"merged into {target_id} ({old} -> resolved)", now)
            done = self._repo.put(src, src["version"])
            self._audit(actor, "incident.merged_into", done, {"into": target_id, "reason": reason})
            self._notify(done, "merged")
        self._audit(actor, "incident.merge", stored, {"sources": list(source_ids), "reason": reason})
        self._notify(stored, "merged")
        return stored

    def split(self, incident_id: str, alert_ids: Sequence[str], actor: str, reason: str = "") -> Record:
        """Move the given alerts out into a new incident; returns the new one."""
        now = self._clock.now()
        source = self._repo.get(incident_id)
        moving = [m for m in source["members"] if m["alert_id"] in set(alert_ids)]
        missing = set(alert_ids) - {m["alert_id"] for m in moving}
        if missing:
            raise NotFound(f"{incident_id} has no alert(s) {', '.join(sorted(missing))}")
        if len(moving) == len(source["members"]):
            raise ConfigError("a split must leave at least one alert behind")
        source["members"] = [m for m in source["members"] if m["alert_id"] not in set(alert_ids)]
        first = min(moving, key=lambda m: m["timestamp"])
        new = new_incident(first, now, _title_entity(first["entities"]))
        new["id"] = f"{new['id']}-s{source['version']}"
        new["split_from"] = incident_id
        new["asset_criticality"] = int(source.get("asset_criticality", 0))
        for member in sorted(moving, key=lambda m: m["timestamp"]):
            add_member(new, {**member, "reason": {"text": f"split from {incident_id} by {actor}"}}, now)
        note(new, actor, "split", f"split from {incident_id}" + (f": {reason}" if reason else ""), now)
        created = self._repo.put(new, None)
        rebuild(source, now)
        note(source, actor, "split", f"{len(moving)} alert(s) moved to {created['id']}", now)
        stored = self._repo.put(source, source["version"])
        self._audit(actor, "incident.split", stored, {"into": created["id"], "alert_ids": list(alert_ids),
                                                     "reason": reason})
        self._audit(actor, "incident.create", created, {"split_from": incident_id})
        self._notify(stored, "split")
        self._notify(created, "created")
        return created

    def rescore(self, incident_id: str, actor: str) -> Record:
        """Recompute severity (after an asset's criticality changed)."""
        def apply(r: Record) -> dict[str, Any]:
            crit = max((self._asset_criticality(m["entities"]) for m in r["members"]), default=0)
            before = r["severity_score"]
            touch(r, self._clock.now(), crit)
            return {"from": before, "to": r["severity_score"]}

        return self._change(incident_id, actor, None, "incident.rescore", "updated", apply)

    # -- audit and observers ---------------------------------------------------------------

    def _audit(self, actor: str, action: str, record: Record, details: dict[str, Any]) -> None:
        self.audit.append(actor, action, f"incident:{record['id']}", {"version": record["version"], **details})

    def _notify(self, incident: Record, change: str) -> None:
        for observer in self.observers:
            try:
                observer.on_incident(incident, change)
            except SocError as exc:
                # A playbook failing must not undo the incident; it is logged and audited.
                log.warning("observer %s failed on %s (%s): %s", type(observer).__name__, incident["id"], change, exc)
                self.audit.append(f"observer:{type(observer).__name__}", "observer.error",
                                  f"incident:{incident['id']}", {"change": change, "error": str(exc)})


def _title_entity(entities: dict[str, list[str]]) -> tuple[str, str] | None:
    for field_name in (*ACTOR_FIELDS, *TARGET_FIELDS):
        values = entities.get(field_name)
        if values:
            return field_name, values[0]
    return None

