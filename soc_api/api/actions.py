"""Response actions over HTTP: the queue of actions proposed by playbooks, approve, reject, revert.

Decisions go through :class:`playbooks.executor.Executor` (the same code as ``soc actions``), which
checks the action's state and audits the decision with the caller's account.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from playbooks.actions import STATUSES, ActionQueue
from playbooks.config import ResponseConfig
from playbooks.executor import Executor
from soc_api.accounts import Principal
from soc_api.api.common import Limit, PrincipalDep, StoreDep, next_offset_cursor, offset_cursor
from soc_core.contracts import Record

router = APIRouter(prefix="/api/v1/actions", tags=["responses"])
ActionId = Annotated[str, Path(max_length=100)]
ActionStatus = Literal[STATUSES]  # type: ignore[valid-type]


class ActionPage(BaseModel):
    actions: list[dict[str, Any]]
    cursor: str | None


class Decision(BaseModel):
    reason: str = Field(default="", max_length=2000)


def _executor(request: Request, principal: Principal) -> Executor:
    config: ResponseConfig = request.app.state.response_config
    return Executor(request.app.state.store, config, clock=request.app.state.clock, actor=principal.actor)


@router.get("", response_model=ActionPage)
def actions(store: StoreDep, status: ActionStatus | None = None,
            incident: Annotated[str | None, Query(max_length=100)] = None, limit: Limit = 100,
            cursor: Annotated[str | None, Query(max_length=100)] = None) -> ActionPage:
    """Actions (history included), most recently changed first, by status and incident."""
    filters = {k: v for k, v in (("status", status), ("incident_id", incident)) if v is not None}
    offset = offset_cursor(cursor)
    rows = store.records("actions").find(filters, limit=limit, offset=offset)
    return ActionPage(actions=rows, cursor=next_offset_cursor(offset, len(rows), limit))


@router.get("/{action_id}", response_model=dict[str, Any])
def action(store: StoreDep, action_id: ActionId) -> Record:
    """One action with its history."""
    return ActionQueue.of(store).get(action_id)


@router.post("/{action_id}/approve", response_model=dict[str, Any])
def approve(request: Request, principal: PrincipalDep, action_id: ActionId) -> Record:
    """Approve an action that waits for approval (a runner then executes it)."""
    return _executor(request, principal).approve(action_id, principal.actor)


@router.post("/{action_id}/reject", response_model=dict[str, Any])
def reject(request: Request, principal: PrincipalDep, action_id: ActionId, body: Decision) -> Record:
    """Reject a pending action."""
    return _executor(request, principal).reject(action_id, principal.actor, body.reason)


@router.post("/{action_id}/revert", response_model=dict[str, Any])
def revert(request: Request, principal: PrincipalDep, action_id: ActionId, body: Decision) -> Record:
    """Undo a done action now (e.g. unblock the address)."""
    executor = _executor(request, principal)
    executor.revert(action_id, who=principal.actor, reason=body.reason or "analyst")
    return executor.queue.get(action_id)
