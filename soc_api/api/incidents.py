"""Incidents over HTTP: the queue with filters, one incident with its alerts, and every change.

Each change carries the ``version`` of the incident it was made on; when someone changed the
incident since, the answer is 409 ``version_conflict`` and nothing is written (the attempt is in
the audit trail all the same, see :mod:`soc_api.middleware`). The changes are those of
:class:`incidents.service.IncidentService`, which audits each one with the caller's account.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from incidents.record import STATUSES
from incidents.service import IncidentService
from soc_api.api.common import (
    ClockDep,
    End,
    Limit,
    PrincipalDep,
    Start,
    StoreDep,
    next_offset_cursor,
    offset_cursor,
    time_range,
)
from soc_core.contracts import Record
from soc_core.errors import VersionConflict

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
IncidentId = Annotated[str, Path(max_length=100)]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Severity = Literal["low", "medium", "high", "critical"]
# How many records one queue request reads while filtering on time and age.
_SCAN_LIMIT = 5000
_SCAN_PAGE = 200
# An incident's detail carries at most this many of its alerts; the rest by search.
_DETAIL_ALERTS = 200


def service_of(request: Request) -> IncidentService:
    """The incident service of the app (with the pipeline's observers: playbooks plan on changes)."""
    service: IncidentService = request.app.state.incidents
    return service


ServiceDep = Annotated[IncidentService, Depends(service_of)]


class QueueItem(BaseModel):
    """One incident in the queue."""

    id: str
    version: int
    title: str
    status: str
    severity: str
    severity_score: float
    assignee: str | None
    created: str
    updated: str
    first_seen: str
    last_seen: str
    alert_count: int
    tactics: list[str]
    techniques: list[str]
    entities: dict[str, list[str]]


class QueuePage(BaseModel):
    incidents: list[QueueItem]
    cursor: str | None


class Detail(BaseModel):
    """The incident record (members, entities, timeline, evidence, comments) and its alerts."""

    incident: dict[str, Any]
    alerts: list[dict[str, Any]]


class Versioned(BaseModel):
    version: int = Field(ge=1, description="The version of the incident this change was made on.")


class Assign(Versioned):
    assignee: str | None = Field(default=None, max_length=64)


class StatusChange(Versioned):
    status: Status
    reason: str = Field(default="", max_length=2000)


class Comment(Versioned):
    text: str = Field(min_length=1, max_length=20_000)


class Evidence(Versioned):
    """A text (a log excerpt, a note, a hash list) attached with its SHA-256."""

    name: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=512 * 1024)


class Merge(Versioned):
    sources: list[Annotated[str, Field(max_length=100)]] = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class Split(Versioned):
    alert_ids: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=1000)
    reason: str = Field(default="", max_length=2000)


class FalsePositive(Versioned):
    reason: str = Field(min_length=1, max_length=2000)


def _item(record: Record) -> QueueItem:
    wanted = {name: record.get(name) for name in QueueItem.model_fields if name != "alert_count"}
    return QueueItem.model_validate({**wanted, "alert_count": len(record.get("alert_ids", []))})


def _current(service: IncidentService, incident_id: str, version: int) -> Record:
    """The incident, if it is still at ``version`` (VersionConflict otherwise: 409)."""
    record = service.get(incident_id)
    if record["version"] != version:
        raise VersionConflict(incident_id, version, record["version"])
    return record


@router.get("", response_model=QueuePage)
def queue(service: ServiceDep, clock: ClockDep, status: Status | None = None, severity: Severity | None = None,
          assignee: Annotated[str | None, Query(max_length=64)] = None,
          asset: Annotated[str | None, Query(max_length=255, description="A host name among the entities")] = None,
          tactic: Annotated[str | None, Query(max_length=64, description="ATT&CK tactic, e.g. credential-access")]
          = None,
          max_age_hours: Annotated[float | None, Query(gt=0)] = None,
          start: Start = None, end: End = None, limit: Limit = 50,
          cursor: Annotated[str | None, Query(max_length=100)] = None) -> QueuePage:
    """Incidents, most recently changed first, filtered; ``start``/``end`` bound when they were
    created, ``max_age_hours`` keeps those created within that many hours."""
    filters = {name: value for name, value in (("status", status), ("severity", severity),
                                               ("assignee", assignee), ("entities.host.name", asset),
                                               ("tactics", tactic)) if value is not None}
    window = time_range(start, end)
    oldest = clock.now() - timedelta(hours=max_age_hours) if max_age_hours else None
    offset = offset_cursor(cursor)
    found: list[QueueItem] = []
    scanned = 0
    more = True
    # Without a time or age filter every record read is kept: read just one page.
    batch_size = _SCAN_PAGE if (window.start or window.end or oldest) else limit
    while more and len(found) < limit and scanned < _SCAN_LIMIT:
        batch = service.list(filters, limit=batch_size, offset=offset + scanned)
        used = 0
        for record in batch:
            used += 1
            created = datetime.fromisoformat(record["created"])
            if ((window.start is None or created >= window.start) and (window.end is None or created < window.end)
                    and (oldest is None or created >= oldest)):
                found.append(_item(record))
            if len(found) >= limit:
                break
        scanned += used
        # More to read: a full batch, or a batch we stopped reading early.
        more = len(batch) == batch_size or used < len(batch)
    return QueuePage(incidents=found, cursor=next_offset_cursor(offset, scanned, 0) if more else None)


@router.get("/{incident_id}", response_model=Detail)
def detail(service: ServiceDep, store: StoreDep, incident_id: IncidentId) -> Detail:
    """One incident with its alerts (the first 200), entities, timeline, evidence and comments."""
    record = service.get(incident_id)
    alerts = [a for a in (store.get("alerts", i) for i in record.get("alert_ids", [])[:_DETAIL_ALERTS]) if a]
    return Detail(incident=record, alerts=alerts)


@router.post("/{incident_id}/assign", response_model=dict[str, Any])
def assign(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId, body: Assign) -> Record:
    """Assign the incident (``assignee: null`` unassigns)."""
    return service.assign(incident_id, body.assignee, principal.actor, expected_version=body.version)


@router.post("/{incident_id}/status", response_model=dict[str, Any])
def set_status(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId,
               body: StatusChange) -> Record:
    """Move the incident to another status (allowed moves only; 400 otherwise)."""
    return service.set_status(incident_id, body.status, principal.actor, body.reason, expected_version=body.version)


@router.post("/{incident_id}/false-positive", response_model=dict[str, Any])
def false_positive(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId,
                   body: FalsePositive) -> Record:
    """Close the incident as a false positive, with the reason."""
    return service.set_status(incident_id, "false_positive", principal.actor, body.reason,
                              expected_version=body.version)


@router.post("/{incident_id}/comments", response_model=dict[str, Any])
def comment(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId, body: Comment) -> Record:
    """Add a comment."""
    return service.comment(incident_id, body.text, principal.actor, expected_version=body.version)


@router.post("/{incident_id}/evidence", response_model=dict[str, Any])
def evidence(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId, body: Evidence) -> Record:
    """Attach a text as evidence (its SHA-256 goes to the record and the audit trail)."""
    return service.add_evidence(incident_id, principal.actor, text=body.text, name=body.name,
                                expected_version=body.version)


@router.post("/{incident_id}/merge", response_model=dict[str, Any])
def merge(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId, body: Merge) -> Record:
    """Merge the ``sources`` incidents into this one (they are resolved as merged)."""
    _current(service, incident_id, body.version)
    return service.merge(incident_id, body.sources, principal.actor, body.reason)


@router.post("/{incident_id}/split", response_model=dict[str, Any])
def split(service: ServiceDep, principal: PrincipalDep, incident_id: IncidentId, body: Split) -> Record:
    """Move the given alerts out into a new incident; answers the new incident."""
    _current(service, incident_id, body.version)
    return service.split(incident_id, body.alert_ids, principal.actor, body.reason)
