"""Authentication of API requests: signed short-lived bearer tokens, API keys, login throttling.

A token is ``base64url(claims).base64url(HMAC-SHA256(secret, claims))`` with the user name, the
issue and expiry times. The signing secret has no working default: it is given (``--api-secret``),
or generated once and kept in the store (record kind ``api_settings``) so every API process of one
store accepts the same tokens; only ``--dev`` uses a fixed, publicly known secret. A token names
the user, not the role: the role and the ``disabled`` flag are read from the user record on each
request, so a role change or a disabled account takes effect at once.

``LoginThrottle`` bounds login attempts per client address (sliding window, in memory, per API
process); the per-account lockout lives in :mod:`soc_api.accounts`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import threading
from collections import deque
from datetime import datetime, timedelta

import orjson

from soc_api.accounts import Accounts, AuthError, Principal
from soc_core.clock import Clock, SystemClock
from soc_core.contracts import Store
from soc_core.errors import ConfigError, NotFound, VersionConflict

SETTINGS_KIND = "api_settings"
SECRET_ID = "token_secret"  # noqa: S105 - a record id, not a secret
DEV_SECRET = b"soc-dev-mode-secret: never use outside --dev"
TOKEN_TTL = timedelta(minutes=15)
MIN_SECRET_BYTES = 32


def token_secret(store: Store, configured: str | None = None, dev: bool = False) -> bytes:
    """The signing secret: the configured one, the dev one, or the store's (made on first use)."""
    if configured is not None:
        if len(configured.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"the API secret must have at least {MIN_SECRET_BYTES} bytes")
        return configured.encode()
    if dev:
        return DEV_SECRET
    settings = store.records(SETTINGS_KIND)
    try:
        return bytes.fromhex(settings.get(SECRET_ID)["hex"])
    except NotFound:
        pass
    # Another process that made it first wins: everyone then uses theirs.
    with contextlib.suppress(VersionConflict):
        settings.put({"id": SECRET_ID, "hex": secrets.token_hex(MIN_SECRET_BYTES)}, None)
    return bytes.fromhex(settings.get(SECRET_ID)["hex"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks bearer tokens for user names."""

    def __init__(self, secret: bytes, clock: Clock | None = None, ttl: timedelta = TOKEN_TTL) -> None:
        self._secret = secret
        self._clock = clock or SystemClock()
        self.ttl = ttl

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def issue(self, username: str) -> tuple[str, datetime]:
        """A token for ``username`` and its expiry."""
        now = self._clock.now()
        expires = now + self.ttl
        body = _b64(orjson.dumps({"sub": username, "iat": int(now.timestamp()), "exp": int(expires.timestamp())}))
        return f"{body}.{self._sign(body)}", expires

    def user_of(self, token: str) -> str:
        """The user name in a valid, unexpired token (AuthError otherwise)."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise AuthError("bad token signature")
        try:
            claims = orjson.loads(_unb64(body))
            username, expires = str(claims["sub"]), int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            raise AuthError("malformed token") from None
        if expires <= self._clock.now().timestamp():
            raise AuthError("token expired")
        return username


class LoginThrottle:
    """At most ``attempts`` failed logins per client address within ``window`` (then 429 until
    the oldest failure leaves the window). Successful logins do not count."""

    def __init__(self, clock: Clock | None = None, attempts: int = 10,
                 window: timedelta = timedelta(minutes=1), max_clients: int = 100_000) -> None:
        self._clock = clock or SystemClock()
        self._attempts = attempts
        self._window = window
        self._max_clients = max_clients
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        """Whether ``client`` has used up its failures for now."""
        with self._lock:
            return len(self._recent(client, self._clock.now())) >= self._attempts

    def failed(self, client: str) -> None:
        """Count one failed login of ``client``."""
        now = self._clock.now()
        with self._lock:
            if len(self._failures) >= self._max_clients:
                # Bounded memory under a flood of addresses: forget those with no recent failure.
                for quiet in [c for c, q in self._failures.items() if not q or q[-1] <= now - self._window]:
                    del self._failures[quiet]
            self._recent(client, now).append(now)


class Authenticator:
    """Turns a request's credentials into a :class:`Principal`."""

    def __init__(self, accounts: Accounts, signer: TokenSigner, static_keys: list[str] | None = None) -> None:
        self.accounts = accounts
        self.signer = signer
        self._static = [k.encode() for k in (static_keys or []) if k]

    def principal(self, authorization: str | None, api_key: str | None) -> Principal:
        """Who presents ``Authorization: Bearer ...`` (a token or an API key) or ``X-API-Key``."""
        given = api_key or ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() not in ("bearer", "apikey"):
                raise AuthError(f"unsupported authorization scheme {scheme!r}")
            given = value.strip()
        if not given:
            raise AuthError("no credentials")
        if given.startswith("soc_"):
            return self.accounts.check_key(given)
        found = False
        for key in self._static:
            found |= hmac.compare_digest(given.encode(), key)
        if found:
            # The keys of ``soc run --api-key`` (shared with the HTTP receiver) read, nothing more.
            return Principal("service:api-key", "analyst")
        return self.accounts.active_user(self.signer.user_of(given))


__all__ = ["Authenticator", "LoginThrottle", "TokenSigner", "token_secret"]
