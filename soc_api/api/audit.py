"""The audit trail over HTTP: entries filtered by actor, action, target and time, and its verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from soc_api.api.common import End, Start, StoreDep, time_range
from soc_core.audit import AUDIT_KIND, AuditLog

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
# One request reads at most this many entries while filtering, so a filter that matches
# nothing in a long trail still answers quickly; the cursor goes on from where it stopped.
_SCAN_LIMIT = 5000


class AuditPage(BaseModel):
    """Entries in chain order; ``next_seq`` continues the scan (None at the end of the chain)."""

    entries: list[dict[str, Any]]
    next_seq: int | None


class Verification(BaseModel):
    """``ok`` when every link holds; otherwise the first broken entry and why."""

    ok: bool
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str | None = None


@router.get("", response_model=AuditPage)
def entries(store: StoreDep, actor: str | None = None, action: str | None = None, target: str | None = None,
            start: Start = None, end: End = None, from_seq: Annotated[int, Query(ge=1)] = 1,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditPage:
    """Entries from ``from_seq`` on that match every given filter (exact actor, action prefix, target)."""
    window = time_range(start, end)
    found: list[dict[str, Any]] = []
    next_seq: int | None = None
    for scanned, entry in enumerate(AuditLog(store.records(AUDIT_KIND)).entries(from_seq, _SCAN_LIMIT + 1), 1):
        if scanned > _SCAN_LIMIT or len(found) >= limit:
            next_seq = int(entry["seq"])
            break
        moment = datetime.fromisoformat(entry["ts"])
        if ((actor is None or entry["actor"] == actor)
                and (action is None or entry["action"].startswith(action))
                and (target is None or entry["target"] == target)
                and (window.start is None or moment >= window.start)
                and (window.end is None or moment < window.end)):
            found.append(entry)
    return AuditPage(entries=found, next_seq=next_seq)


@router.get("/verify", response_model=Verification)
def verify(store: StoreDep) -> Verification:
    """Check the whole hash chain."""
    broken = AuditLog(store.records(AUDIT_KIND)).verify()
    if broken is None:
        return Verification(ok=True)
    return Verification(ok=False, broken_seq=broken.seq, broken_id=broken.id, reason=broken.reason)
