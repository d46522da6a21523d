"""Log in, who am I, and the administration of users and API keys (role ``admin``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from soc_api.accounts import Accounts, AuthError, Role, public_user
from soc_api.api.common import ClockDep, PrincipalDep
from soc_api.api.errors import ApiError
from soc_core.audit import AUDIT_KIND, AuditLog

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    """A bearer token for ``Authorization: Bearer``, valid until ``expires``."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name
    expires: datetime


class Me(BaseModel):
    actor: str
    role: Role


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    password: str = Field(min_length=10, max_length=1024)


class UserChange(BaseModel):
    """Change a user's role and/or disable or enable them."""

    role: Role | None = None
    disabled: bool | None = None


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    expires_in_days: int = Field(default=90, ge=1, le=3650)


class KeyCreated(BaseModel):
    """The key's secret is shown here once and never again."""

    secret: str
    key: dict[str, Any]


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.authenticator.accounts
    return accounts


@router.post("/auth/login", response_model=TokenAnswer)
async def login(request: Request, body: Login) -> TokenAnswer:
    """Exchange a user name and password for a short-lived bearer token.

    Too many attempts from one address answer 429; too many failures for one account lock it."""
    state = request.app.state
    client = request.client.host if request.client else "?"
    if state.login_throttle.blocked(client):
        raise ApiError(429, "too_many_attempts", "too many login attempts: wait a minute")
    try:
        # argon2 verification takes tens of milliseconds: off the event loop.
        principal = await asyncio.to_thread(_accounts(request).login, body.username, body.password)
    except AuthError as exc:
        state.login_throttle.failed(client)
        audit = AuditLog(state.store.records(AUDIT_KIND), state.clock)
        await asyncio.to_thread(audit.append, f"client:{client}", "auth.login_failed", f"user:{body.username}",
                                {"reason": exc.reason})
        if exc.locked_until is not None:
            raise ApiError(401, "locked_out", "account locked after repeated failures",
                           {"until": exc.locked_until.isoformat()}) from None
        raise ApiError(401, "unauthenticated", "wrong user name or password") from None
    token, expires = state.authenticator.signer.issue(principal.actor.removeprefix("user:"))
    return TokenAnswer(token=token, expires=expires)


@router.get("/auth/me", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    """The account and role of the caller."""
    return Me(actor=principal.actor, role=principal.role)


@router.get("/users", response_model=list[dict[str, Any]])
def users(request: Request) -> list[dict[str, Any]]:
    """Every user (without password hashes)."""
    return [public_user(u) for u in _accounts(request).users()]


@router.post("/users", response_model=dict[str, Any], status_code=201)
def add_user(request: Request, principal: PrincipalDep, body: NewUser) -> dict[str, Any]:
    """Create a user."""
    return public_user(_accounts(request).add_user(body.name, body.role, body.password, principal.actor))


@router.patch("/users/{name}", response_model=dict[str, Any])
def change_user(request: Request, principal: PrincipalDep, name: Annotated[str, Path(max_length=64)],
                body: UserChange) -> dict[str, Any]:
    """Set a user's role, or disable / enable them."""
    accounts = _accounts(request)
    user = accounts.user(name)
    if body.role is not None:
        user = accounts.set_role(name, body.role, principal.actor)
    if body.disabled is not None:
        user = accounts.set_disabled(name, body.disabled, principal.actor)
    return public_user(user)


@router.get("/keys", response_model=list[dict[str, Any]])
def keys(request: Request) -> list[dict[str, Any]]:
    """Every API key record (hashes, never secrets)."""
    return _accounts(request).keys()


@router.post("/keys", response_model=KeyCreated, status_code=201)
def create_key(request: Request, principal: PrincipalDep, clock: ClockDep, body: NewKey) -> KeyCreated:
    """Create an API key for a program."""
    expires = clock.now() + timedelta(days=body.expires_in_days)
    secret, record = _accounts(request).create_key(body.name, body.role, expires, principal.actor)
    return KeyCreated(secret=secret, key=record)


@router.delete("/keys/{key_id}", response_model=dict[str, Any])
def revoke_key(request: Request, principal: PrincipalDep,
               key_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Revoke an API key at once."""
    return _accounts(request).revoke_key(key_id, principal.actor)
