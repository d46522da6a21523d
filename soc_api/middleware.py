"""The API's outer layer: security headers, request size limit, and the audit of every write.

A pure ASGI middleware (no buffering of reads, so server-sent events stream). For a write (POST,
PUT, PATCH, DELETE) under ``/api/v1`` by an authenticated caller, the answer is held until an
``api.request`` entry (account, method, path, status) is in the audit trail: a client that got its
answer can already read the entry, and refused attempts (403, 409, 400) are recorded as well as
successful ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soc_api.accounts import Principal
from soc_api.api.errors import error_response
from soc_core.audit import AuditLog

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Login is audited by its route (failures with the client address); the token is not an account change.
_NOT_AUDITED = frozenset({"/api/v1/auth/login"})
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
    "cross-origin-resource-policy": "same-origin",
}


class BodyTooLarge(HTTPException):
    """The request body went over the limit while being read (an HTTP error, so that FastAPI's
    body reading passes it on as 413 instead of calling the body unparsable)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class ApiMiddleware:
    """Security headers on every answer, 413 over ``max_body_bytes``, audited writes."""

    def __init__(self, app: ASGIApp, audit: Callable[[], AuditLog], max_body_bytes: int = 1 << 20,
                 hsts: bool = False) -> None:
        self.app = app
        self._audit = audit
        self._max_body = max_body_bytes
        self._headers = dict(SECURITY_HEADERS)
        if hsts:
            self._headers["strict-transport-security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body):
            await self._too_large(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        method: str = scope["method"]
        path: str = scope["path"]
        audited = method in WRITE_METHODS and path.startswith("/api/v1/") and path not in _NOT_AUDITED
        seen = 0
        held: list[Message] = []
        status = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self._max_body:
                raise BodyTooLarge(self._max_body)
            return message

        async def headed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in self._headers.items():
                    headers.setdefault(name, value)
            principal = state.get("principal")
            if not (audited and isinstance(principal, Principal)):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                details = {"method": method, "status": status}
                await asyncio.to_thread(self._audit().append, principal.actor, "api.request", path, details)
                for kept in held:
                    await send(kept)

        try:
            await self.app(scope, counted, headed)
        except BodyTooLarge:
            if status == 0:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = error_response(413, "too_large", f"request body over {self._max_body} bytes")
        answer.headers.update(self._headers)
        await answer(scope, receive, send)


__all__ = ["SECURITY_HEADERS", "ApiMiddleware"]
