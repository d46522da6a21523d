"""Errors of the API, always ``{"error": {"code", "message", "details"}}``.

``ApiError`` is raised by routes and by the permission check; the handlers installed by
:func:`install_error_handlers` turn it, FastAPI's validation errors and the project's own error
tree (:mod:`soc_core.errors`) into that shape with the fitting status code.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from soc_core.errors import (
    ConfigError,
    NotFound,
    PermanentError,
    QuerySyntaxError,
    SocError,
    StoreError,
    VersionConflict,
)


class ApiError(Exception):
    """A refused request: HTTP status, a stable code, a message for people, details for programs."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class ErrorBody(BaseModel):
    """The body of an error (documented in the OpenAPI schema)."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    error: ErrorBody


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    """The JSON answer of one error."""
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status)


def from_soc_error(exc: SocError) -> ApiError:
    """The API error of one of the project's own errors."""
    if isinstance(exc, QuerySyntaxError):
        return ApiError(400, "bad_query", exc.reason if hasattr(exc, "reason") else str(exc),
                        {"column": exc.column, "query": exc.query[:200]})
    if isinstance(exc, VersionConflict):
        return ApiError(409, "version_conflict", str(exc))
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, PermanentError):  # an action not in a state that allows the decision
        return ApiError(409, "refused", str(exc))
    if isinstance(exc, StoreError):
        return ApiError(502, "store_error", str(exc))
    if isinstance(exc, ConfigError):
        return ApiError(400, "invalid", str(exc))
    return ApiError(400, "refused", str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise answers in the one error shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(SocError)
    async def soc_error(request: Request, exc: SocError) -> JSONResponse:
        converted = from_soc_error(exc)
        return error_response(converted.status, converted.code, converted.message, converted.details)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A malformed parameter or body is the caller's mistake: 400 naming each field.
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "invalid")}
                    for e in exc.errors()][:20]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)[:500]
        return error_response(400, "validation_error", message, {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "no_route", 405: "method_not_allowed", 413: "too_large"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in ((400, "Invalid request"), (401, "Not logged in"), (403, "Role not allowed"),
                         (404, "Not found"), (409, "Stale version"))
}

__all__ = ["ERROR_RESPONSES", "ApiError", "ErrorResponse", "error_response", "from_soc_error",
           "install_error_handlers"]
