"""One error shape for every failure: `{"error": {"code": ..., "message": ..., "field": ...}}`.

`ApiError` carries its HTTP status; the handlers here turn it, FastAPI's validation errors, Starlette's HTTP
errors, pipecast's own errors and anything unexpected into that shape (a 500 says nothing of the internals).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipecast.errors import ApiError as ApiError  # re-exported: the routers raise it from here
from pipecast.errors import InputError, PipecastError, StoreError

LOG = logging.getLogger("pipecast.api")

#: HTTP status -> the code of a Starlette HTTPException (404 for an unknown route, 405, ...).
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
              422: "invalid", 429: "too_many_requests", 500: "internal", 503: "unavailable"}


def not_found(what: str, key: str, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {key!r}", field)


def body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None, request: Request | None = None) -> JSONResponse:
    if request is not None:  # the audit middleware records it with a refused write
        request.state.error_message = message
    return JSONResponse(body(code, message, field), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    return ".".join(parts) or None


def _validation_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "json_invalid":
        return "malformed JSON: " + str(err.get("ctx", {}).get("error", err.get("msg", "")))
    return str(err.get("msg", "invalid value"))


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers, request)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    field = _field(first.get("loc", ()))
    code = "malformed_json" if first.get("type") == "json_invalid" else (
        "unknown_field" if first.get("type") == "extra_forbidden" else "invalid")
    message = _validation_message(first)
    if field and code != "malformed_json":
        message = f"{field}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, code, message, field, request=request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    return error_response(exc.status_code, code, message, None, dict(exc.headers or {}) or None, request)


def pipecast_error_status(exc: PipecastError) -> tuple[int, str, str | None]:
    """The status, code and field for one of pipecast's own errors."""
    if isinstance(exc, InputError):
        return 422, "invalid", api_field(exc.field or getattr(exc, "option", ""))
    if isinstance(exc, StoreError):
        return 503, "store_unavailable", None
    return 422, "cannot_compute", None


def api_field(name: str) -> str | None:
    """A CLI option or column name as the API's field: `--as-of` -> `as_of`; "" -> None."""
    if not name:
        return None
    return name.removeprefix("--").replace("-", "_") if name.startswith("--") else name


async def _pipecast_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PipecastError)
    status, code, field = pipecast_error_status(exc)
    return error_response(status, code, str(exc), field, request=request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    LOG.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal error: the server could not answer this request")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PipecastError, _pipecast_error)
    app.add_exception_handler(Exception, _unexpected)
