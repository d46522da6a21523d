"""A read-only TAXII 2.1 server of our indicators, per partner, with TLP enforced.

Endpoints (TAXII 2.1 section 4 and 5): discovery (``/taxii2/``), the API root
(``/api/``), its collections, one collection, objects (filters ``added_after``,
``match[id]``, ``match[type]``, ``limit`` + ``next`` paging), one object, its versions,
the manifest. Each partner authenticates with HTTP Basic (its name and password);
every object it may see passes :func:`intel.sharing.shareable` for that partner, on
every route and filter, so a RED indicator, or an AMBER one for a partner not named
for AMBER, is never served, not even as a manifest entry or a "not found" difference.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from intel.sharing import Partner, bundle_for

TAXII: Final = "application/taxii+json;version=2.1"
COLLECTION_ID: Final = "9c5a4c2e-7f0a-4c1f-8d6e-2b1f0c3e5a77"
_API: Final = "/api/"


@dataclass(frozen=True)
class PartnerLogin:
    partner: Partner
    password: str


def _reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=TAXII, headers=headers)


def _error(status: int, title: str) -> JSONResponse:
    return _reply({"title": title, "http_status": str(status)}, status)


def build_app(records: Callable[[], Iterable[dict[str, Any]]], logins: list[PartnerLogin], our_name: str,
              page_size: int = 100) -> FastAPI:
    """The ASGI app; ``records`` returns the current indicator records (re-read per request)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    by_name = {login.partner.name: login for login in logins}

    def partner_of(request: Request) -> Partner | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        login = by_name.get(name)
        if login is None or not hmac.compare_digest(login.password.encode(), password.encode()):
            return None
        return login.partner

    def visible(partner: Partner) -> list[tuple[str, dict[str, Any]]]:
        """(date_added, object) the partner may see, oldest first."""
        active = [r for r in records() if r.get("status") == "active"]
        bundle, _ = bundle_for(active, partner, our_name)
        added = {o["id"]: o.get("modified", o["created"]) for o in bundle["objects"]}
        return sorted(((added[o["id"]], o) for o in bundle["objects"]), key=lambda pair: (pair[0], pair[1]["id"]))

    def filtered(request: Request, partner: Partner) -> list[tuple[str, dict[str, Any]]]:
        items = visible(partner)
        after = request.query_params.get("added_after")
        ids = request.query_params.get("match[id]")
        types = request.query_params.get("match[type]")
        if after:
            items = [(d, o) for d, o in items if d > after]
        if ids:
            wanted = set(ids.split(","))
            items = [(d, o) for d, o in items if o["id"] in wanted]
        if types:
            kinds = set(types.split(","))
            items = [(d, o) for d, o in items if o["type"] in kinds]
        return items

    def page(request: Request, items: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
        try:
            limit = min(int(request.query_params.get("limit", page_size)), page_size)
            start = int(request.query_params.get("next", "0"))
        except ValueError:
            return [], {"error": True}
        chunk = items[start:start + max(limit, 1)]
        more = start + len(chunk) < len(items)
        extra: dict[str, Any] = {"more": more}
        if more:
            extra["next"] = str(start + len(chunk))
        return chunk, extra

    def headers_for(chunk: list[tuple[str, Any]]) -> dict[str, str]:
        if not chunk:
            return {}
        return {"X-TAXII-Date-Added-First": chunk[0][0], "X-TAXII-Date-Added-Last": chunk[-1][0]}

    @app.get("/taxii2/")
    async def discovery(request: Request) -> JSONResponse:
        if partner_of(request) is None:
            return _error(401, "Unauthorized")
        base = str(request.base_url).rstrip("/")
        return _reply({"title": f"{our_name} TAXII 2.1", "default": f"{base}{_API}", "api_roots": [f"{base}{_API}"]})

    @app.get(_API)
    async def api_root(request: Request) -> JSONResponse:
        if partner_of(request) is None:
            return _error(401, "Unauthorized")
        return _reply({"title": f"{our_name} indicators", "versions": [TAXII], "max_content_length": 10_000_000})

    def collection_info() -> dict[str, Any]:
        return {"id": COLLECTION_ID, "title": "indicators", "can_read": True, "can_write": False,
                "media_types": ["application/stix+json;version=2.1"]}

    @app.get(_API + "collections/")
    async def collections(request: Request) -> JSONResponse:
        if partner_of(request) is None:
            return _error(401, "Unauthorized")
        return _reply({"collections": [collection_info()]})

    @app.get(_API + "collections/{cid}/")
    async def collection(request: Request, cid: str) -> JSONResponse:
        if partner_of(request) is None:
            return _error(401, "Unauthorized")
        return _reply(collection_info()) if cid == COLLECTION_ID else _error(404, "Collection not found")

    def listed(request: Request, cid: str) -> JSONResponse | tuple[list[tuple[str, Any]], dict[str, Any]]:
        """One page of what the partner may see in the collection, or the error to answer."""
        partner = partner_of(request)
        if partner is None:
            return _error(401, "Unauthorized")
        if cid != COLLECTION_ID:
            return _error(404, "Collection not found")
        chunk, extra = page(request, filtered(request, partner))
        if "error" in extra:
            return _error(400, "Bad limit or next")
        return chunk, extra

    @app.get(_API + "collections/{cid}/objects/")
    async def objects(request: Request, cid: str) -> JSONResponse:
        result = listed(request, cid)
        if isinstance(result, JSONResponse):
            return result
        chunk, extra = result
        return _reply({"objects": [o for _, o in chunk], **extra}, headers=headers_for(chunk))

    @app.get(_API + "collections/{cid}/manifest/")
    async def manifest(request: Request, cid: str) -> JSONResponse:
        result = listed(request, cid)
        if isinstance(result, JSONResponse):
            return result
        chunk, extra = result
        entries = [{"id": o["id"], "date_added": d, "version": o.get("modified", d),
                    "media_type": "application/stix+json;version=2.1"} for d, o in chunk]
        return _reply({"objects": entries, **extra}, headers=headers_for(chunk))

    def versions_of(request: Request, cid: str, oid: str) -> JSONResponse | list[tuple[str, Any]]:
        """Every version of one object the partner may see, or the error to answer."""
        partner = partner_of(request)
        if partner is None:
            return _error(401, "Unauthorized")
        found = [(d, o) for d, o in visible(partner) if o["id"] == oid] if cid == COLLECTION_ID else []
        return found or _error(404, "Object not found")

    @app.get(_API + "collections/{cid}/objects/{oid}/")
    async def one_object(request: Request, cid: str, oid: str) -> JSONResponse:
        found = versions_of(request, cid, oid)
        if isinstance(found, JSONResponse):
            return found
        return _reply({"objects": [o for _, o in found], "more": False}, headers=headers_for(found))

    @app.get(_API + "collections/{cid}/objects/{oid}/versions/")
    async def versions(request: Request, cid: str, oid: str) -> JSONResponse:
        found = versions_of(request, cid, oid)
        if isinstance(found, JSONResponse):
            return found
        return _reply({"versions": [o.get("modified", d) for d, o in found], "more": False})

    return app
