"""The one permission table of the API: which permission each route needs, which roles hold it.

Every route of the application runs :func:`authorize` (a dependency of the whole app); it looks the
matched route up in ``ROUTE_PERMISSIONS`` by method and path template. A route missing from the
table is refused for everyone (500 ``no_permission``), so a route added without a permission fails
loudly, and tests/soc_api/test_permissions.py checks the table against the app's own route table.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from soc_api.accounts import ROLES, AuthError, Principal, Role
from soc_api.api.errors import ApiError

Permission = Literal[
    "public", "authenticated", "data:read", "incidents:read", "incidents:write", "rules:read",
    "actions:read", "actions:decide", "audit:read", "accounts:admin",
]
V1 = "/api/v1"

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "analyst": frozenset({"data:read", "incidents:read", "incidents:write", "rules:read", "actions:read"}),
    "rule_admin": frozenset({"data:read", "incidents:read", "rules:read"}),
    "responder": frozenset({"data:read", "incidents:read", "actions:read", "actions:decide"}),
    "auditor": frozenset({"data:read", "incidents:read", "rules:read", "actions:read", "audit:read"}),
    "admin": frozenset({"data:read", "incidents:read", "incidents:write", "rules:read", "actions:read",
                        "actions:decide", "audit:read", "accounts:admin"}),
}

_DATA = f"{V1}/{{collection}}"
_INC = f"{V1}/incidents/{{incident_id}}"
ROUTE_PERMISSIONS: dict[tuple[str, str], Permission] = {
    ("GET", "/health"): "public",
    ("GET", "/metrics"): "public",
    ("POST", f"{V1}/auth/login"): "public",
    ("GET", f"{V1}/auth/me"): "authenticated",
    ("GET", f"{V1}/openapi.json"): "authenticated",
    ("GET", "/search"): "data:read",
    ("GET", "/count"): "data:read",
    ("GET", f"{_DATA}/search"): "data:read",
    ("GET", f"{_DATA}/count"): "data:read",
    ("GET", f"{_DATA}/terms"): "data:read",
    ("GET", f"{_DATA}/histogram"): "data:read",
    ("GET", f"{_DATA}/docs/{{doc_id}}"): "data:read",
    ("GET", f"{V1}/stream"): "incidents:read",
    ("GET", f"{V1}/audit"): "audit:read",
    ("GET", f"{V1}/audit/verify"): "audit:read",
    ("GET", f"{V1}/users"): "accounts:admin",
    ("POST", f"{V1}/users"): "accounts:admin",
    ("PATCH", f"{V1}/users/{{name}}"): "accounts:admin",
    ("GET", f"{V1}/keys"): "accounts:admin",
    ("POST", f"{V1}/keys"): "accounts:admin",
    ("DELETE", f"{V1}/keys/{{key_id}}"): "accounts:admin",
    ("GET", f"{V1}/incidents"): "incidents:read",
    ("GET", _INC): "incidents:read",
    ("POST", f"{_INC}/assign"): "incidents:write",
    ("POST", f"{_INC}/status"): "incidents:write",
    ("POST", f"{_INC}/comments"): "incidents:write",
    ("POST", f"{_INC}/evidence"): "incidents:write",
    ("POST", f"{_INC}/merge"): "incidents:write",
    ("POST", f"{_INC}/split"): "incidents:write",
    ("POST", f"{_INC}/false-positive"): "incidents:write",
    ("GET", f"{V1}/actions"): "actions:read",
    ("GET", f"{V1}/actions/{{action_id}}"): "actions:read",
    ("POST", f"{V1}/actions/{{action_id}}/approve"): "actions:decide",
    ("POST", f"{V1}/actions/{{action_id}}/reject"): "actions:decide",
    ("POST", f"{V1}/actions/{{action_id}}/revert"): "actions:decide",
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` may use a route that needs ``permission``."""
    return permission in ("public", "authenticated") or permission in ROLE_PERMISSIONS[role]


def route_permission(method: str, path: str) -> Permission | None:
    """The permission of a route (by method and path template), None when it has none."""
    return ROUTE_PERMISSIONS.get((method, path))


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route ``app`` serves, routers included (HEAD aside)."""
    return sorted({(method, context.path) for context in iter_route_contexts(app.routes)
                   if isinstance(context.original_route, APIRoute) and context.path
                   for method in (context.methods or ()) if method != "HEAD"})


def authorize(request: Request) -> Principal | None:
    """The app-wide dependency: authenticate unless public, then check the route's permission.

    The principal is kept in ``request.state`` for the audit of writes."""
    # FastAPI puts the matched route (as declared, its router's prefix included) in the scope.
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    permission = route_permission(request.method, path)
    if permission is None:
        raise ApiError(500, "no_permission", f"route {request.method} {path} has no permission: refused")
    if permission == "public":
        return None
    state = request.app.state
    try:
        principal: Principal = state.authenticator.principal(
            request.headers.get("authorization"), request.headers.get("x-api-key"))
    except AuthError as exc:
        request.state.auth_failure = exc.reason
        raise ApiError(401, "unauthenticated", "missing, wrong or expired credentials") from None
    request.state.principal = principal
    if not allowed(principal.role, permission):
        raise ApiError(403, "forbidden", f"role {principal.role} may not do this",
                       {"needs": permission, "role": principal.role})
    return principal


__all__ = ["ROLES", "ROLE_PERMISSIONS", "ROUTE_PERMISSIONS", "Permission", "allowed", "authorize",
           "route_permission", "served_routes"]
