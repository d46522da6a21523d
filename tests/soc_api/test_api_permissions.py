"""The permission matrix, generated from the application's own route table.

Every route the app serves must have a row in ``soc_api.permissions.ROUTE_PERMISSIONS``; every role
is tried on every route (403 exactly when the table says so); anonymous callers get 401 on every
route of the OpenAPI schema except ``/health``. A route added later without a permission fails here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from soc_api.accounts import ROLES
from soc_api.permissions import ROUTE_PERMISSIONS, allowed, route_permission, served_routes
from tests.soc_api.api_helpers import Api, make_api

# A value for each path parameter: the route must be reached, not necessarily find anything.
PARAMETER_VALUES = {"collection": "events"}
# Query parameters every request carries: the live stream then ends after a second (others ignore them).
QUERY = {"max_secs": 1, "poll_secs": 0.5}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return make_api(tmp_path_factory.mktemp("perm"))


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMETER_VALUES.get(m.group(1), "none-such"), path)


def request(api: Api, method: str, path: str, role: str | None) -> Any:
    body = {"json": {"username": "nobody", "password": "wrong password"}} if method in ("POST", "PATCH") else {}
    return api.call(method, concrete(path), role, params=QUERY, **body)


def test_every_served_route_has_a_permission_and_every_permission_a_route(api: Api) -> None:
    served = served_routes(api.app)
    assert served, "the app serves no route"
    missing = [r for r in served if route_permission(*r) is None]
    assert missing == [], f"routes without a permission: {missing}"
    stale = sorted(set(ROUTE_PERMISSIONS) - set(served))
    assert stale == [], f"permissions of routes the app does not serve: {stale}"


def test_a_route_without_permission_is_refused_to_everyone(api: Api, tmp_path: Path) -> None:
    fresh = make_api(tmp_path, events=False)

    @fresh.app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    for role in (None, "admin"):
        answer = fresh.call("GET", "/api/v1/forgotten", role)
        assert answer.status_code == 500 and answer.json()["error"]["code"] == "no_permission"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_routes(api: Api, role: str) -> None:
    wrong = []
    for method, path in served_routes(api.app):
        permission = route_permission(method, path)
        assert permission is not None
        status = request(api, method, path, role).status_code
        if permission == "public":
            continue
        expected_forbidden = not allowed(role, permission)  # type: ignore[arg-type]
        if (status == 403) != expected_forbidden or status == 401:
            wrong.append((method, path, permission, status))
    assert wrong == []


def test_anonymous_gets_401_on_every_route_of_the_schema_but_health(api: Api) -> None:
    schema = api.call("GET", "/api/v1/openapi.json", "auditor").json()
    api.clock.advance(timedelta(minutes=2))  # earlier failed logins of this module leave the throttle window
    operations = [(method.upper(), path) for path, item in schema["paths"].items() for method in item]
    assert ("GET", "/api/v1/incidents") in operations or ("GET", "/api/v1/{collection}/search") in operations
    answers = {(m, p): request(api, m, p, None).status_code for m, p in operations if p != "/health"}
    assert answers and set(answers.values()) == {401}, answers
    # The routes outside the schema too: the schema itself needs a login; health and metrics do not.
    assert api.call("GET", "/api/v1/openapi.json").status_code == 401
    assert api.call("GET", "/health").status_code == 200


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-API-Key": "soc_nothere_xxxxxxxx"},
    {"Authorization": "Bearer "},
])
def test_bad_credentials_are_401(api: Api, headers: dict[str, str]) -> None:
    answer = api.call("GET", "/api/v1/events/count", headers=headers)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthenticated"


def test_every_role_reads_the_schema(api: Api) -> None:
    for role in ROLES:
        assert api.call("GET", "/api/v1/openapi.json", role).status_code == 200
