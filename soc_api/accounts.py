"""Accounts of the SOC API: people (argon2 password hashes) and programs (API keys), with roles.

Both live in the store's record repositories (kind ``users`` keyed by user name, kind ``api_keys``
keyed by key id), so the embedded and the Elasticsearch store hold them alike and every API process
sees the same accounts. Passwords are argon2id hashes; an API key is 32 random bytes, so its SHA-256
is enough (no offline guessing is possible on that entropy) and lets a request look its key up by id.

A person who fails ``MAX_FAILURES`` logins in a row is locked out for ``LOCKOUT``; the counter lives
in the user record so a lockout holds across API processes and restarts. Every change of an account
is appended to the audit trail with the account that made it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from soc_core.audit import AUDIT_KIND, AuditLog
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Record, Store
from soc_core.errors import ConfigError, NotFound, SocError, VersionConflict

Role = Literal["analyst", "rule_admin", "responder", "auditor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
USERS_KIND = "users"
KEYS_KIND = "api_keys"
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_KEY_PREFIX = "soc_"
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = PasswordHasher().hash("not a password of anyone")


class AuthError(SocError):
    """Credentials refused; ``reason`` is for the log and audit, never for the caller."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: ``user:NAME``, ``key:ID`` or ``service:static``, and the role they act in."""

    actor: str
    role: Role


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def check_role(role: str) -> Role:
    """The role named ``role``, or a ConfigError naming the valid ones."""
    for known in ROLES:
        if role == known:
            return known
    raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


class Accounts:
    """Users and API keys over one store; audited with ``actor`` on every change."""

    def __init__(self, store: Store, clock: Clock | None = None, hasher: PasswordHasher | None = None) -> None:
        self._users = store.records(USERS_KIND)
        self._keys = store.records(KEYS_KIND)
        self._clock = clock or SystemClock()
        self._audit = AuditLog(store.records(AUDIT_KIND), self._clock)
        # argon2id with the library's defaults (RFC 9106's second recommended setting); tests pass
        # a cheaper hasher, since a verify reads the cost from the stored hash itself.
        self._hasher = hasher or PasswordHasher()

    # -- people ---------------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, actor: str) -> Record:
        """Create a user; refuses an existing name, a bad name or a short password."""
        if not _NAME.match(name):
            raise ConfigError(f"bad user name {name!r}: letters, digits, . _ @ - (at most 64)")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ConfigError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
        record: Record = {"id": name, "role": check_role(role), "password_hash": self._hasher.hash(password),
                          "disabled": False, "failed_logins": 0, "locked_until": None,
                          "created": _iso(self._clock.now())}
        try:
            stored = self._users.put(record, None)
        except VersionConflict:
            raise ConfigError(f"user {name!r} already exists") from None
        self._audit.append(actor, "user.add", f"user:{name}", {"role": record["role"]})
        return stored

    def user(self, name: str) -> Record:
        """One user record (NotFound when there is none)."""
        return self._users.get(name)

    def users(self, limit: int = 1000) -> list[Record]:
        """Every user, newest change first (hashes included: callers strip them)."""
        return self._users.list(limit)

    def _update_user(self, name: str, actor: str, action: str, **changes: object) -> Record:
        current = self._users.get(name)
        stored = self._users.put({**current, **changes}, current["version"])
        self._audit.append(actor, action, f"user:{name}", {k: v for k, v in changes.items() if k != "password_hash"})
        return stored

    def set_role(self, name: str, role: str, actor: str) -> Record:
        """Give a user another role."""
        return self._update_user(name, actor, "user.set_role", role=check_role(role))

    def set_disabled(self, name: str, disabled: bool, actor: str) -> Record:
        """Disable (or enable again) a user: a disabled user's tokens stop working at once."""
        return self._update_user(name, actor, "user.disable" if disabled else "user.enable", disabled=disabled)

    def login(self, name: str, password: str) -> Principal:
        """Check a password; counts failures and locks the account after ``MAX_FAILURES``."""
        now = self._clock.now()
        try:
            user = self._users.get(name)
        except NotFound:
            self._verify(_DUMMY_HASH, password)
            raise AuthError(f"unknown user {name!r}") from None
        locked = user.get("locked_until")
        if locked and datetime.fromisoformat(locked) > now:
            raise AuthError(f"user {name!r} is locked out", datetime.fromisoformat(locked))
        if not self._verify(user["password_hash"], password):
            failures = int(user.get("failed_logins", 0)) + 1
            until = now + LOCKOUT if failures >= MAX_FAILURES else None
            self._record_attempt(user, failures=0 if until else failures, locked_until=_iso(until) if until else None)
            if until:
                self._audit.append(f"user:{name}", "user.lockout", f"user:{name}", {"until": _iso(until)})
            raise AuthError(f"wrong password for {name!r}", until)
        if user.get("disabled"):
            raise AuthError(f"user {name!r} is disabled")
        if user.get("failed_logins") or user.get("locked_until"):
            self._record_attempt(user, failures=0, locked_until=None)
        return Principal(f"user:{name}", check_role(user["role"]))

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _record_attempt(self, user: Record, failures: int, locked_until: str | None) -> None:
        # A concurrent attempt that updated the counter first: its count is as good as ours.
        with contextlib.suppress(VersionConflict):
            self._users.put({**user, "failed_logins": failures, "locked_until": locked_until}, user["version"])

    def active_user(self, name: str) -> Principal:
        """The principal of an enabled user (a token names the user; the role is read afresh)."""
        try:
            user = self._users.get(name)
        except NotFound:
            raise AuthError(f"unknown user {name!r}") from None
        if user.get("disabled"):
            raise AuthError(f"user {name!r} is disabled")
        return Principal(f"user:{name}", check_role(user["role"]))

    # -- programs -------------------------------------------------------------------------------

    def create_key(self, name: str, role: str, expires: datetime, actor: str) -> tuple[str, Record]:
        """A new API key: (the secret, shown once; its record, which holds only the hash)."""
        if expires <= self._clock.now():
            raise ConfigError("an API key must expire in the future")
        key_id = secrets.token_hex(6)
        secret = f"{_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record: Record = {"id": key_id, "name": name, "role": check_role(role), "expires": _iso(expires),
                          "revoked": False, "sha256": hashlib.sha256(secret.encode()).hexdigest(),
                          "created": _iso(self._clock.now()), "created_by": actor}
        stored = self._keys.put(record, None)
        self._audit.append(actor, "key.create", f"key:{key_id}", {"name": name, "role": record["role"],
                                                                  "expires": record["expires"]})
        return secret, stored

    def keys(self, limit: int = 1000) -> list[Record]:
        """Every API key record (hashes only)."""
        return self._keys.list(limit)

    def revoke_key(self, key_id: str, actor: str) -> Record:
        """Revoke a key: it stops working at once."""
        current = self._keys.get(key_id)
        stored = self._keys.put({**current, "revoked": True}, current["version"])
        self._audit.append(actor, "key.revoke", f"key:{key_id}", {"name": current.get("name")})
        return stored

    def check_key(self, secret: str) -> Principal:
        """The principal of a valid, unexpired, unrevoked key."""
        body = secret.removeprefix(_KEY_PREFIX)
        key_id, _, _ = body.partition("_")
        if not secret.startswith(_KEY_PREFIX) or not key_id:
            raise AuthError("not an API key")
        try:
            record = self._keys.get(key_id)
        except NotFound:
            raise AuthError(f"unknown API key {key_id}") from None
        if not hmac.compare_digest(record["sha256"], hashlib.sha256(secret.encode()).hexdigest()):
            raise AuthError(f"wrong secret for API key {key_id}")
        if record.get("revoked"):
            raise AuthError(f"API key {key_id} is revoked")
        if datetime.fromisoformat(record["expires"]) <= self._clock.now():
            raise AuthError(f"API key {key_id} expired")
        return Principal(f"key:{key_id}", check_role(record["role"]))


def public_user(user: Record) -> Record:
    """A user record without its password hash, as the API and CLI show it."""
    return {k: v for k, v in user.items() if k != "password_hash"}


__all__ = ["ROLES", "Accounts", "AuthError", "Principal", "Role", "check_role", "public_user"]
