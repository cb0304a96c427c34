"""Every failure answers `{"error": "<message for people>"}` with a fitting status.

Validation errors also carry `detail` (where and what), but never the rejected input:
pydantic would echo it, and the input may be a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from gem_envoy.host.contract import CommandRefused
from gem_envoy.host.store import (
    ConflictError,
    HashingBusy,
    NotFoundError,
    StoreError,
    ValidationError,
)

log = logging.getLogger(__name__)

_STORE_STATUS: tuple[tuple[type[StoreError], int], ...] = (
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (ConflictError, status.HTTP_409_CONFLICT),
    (ValidationError, 422),
)


def documented(*codes: int) -> dict[int | str, dict[str, object]]:
    """The OpenAPI `responses` of a route that may answer these error statuses."""
    return {
        code: {"content": {"application/json": {"example": {"error": "..."}}}} for code in codes
    }


def error_response(
    status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(item['loc'])}: {item['msg']}" for item in detail[:5])
    return JSONResponse(
        jsonable_encoder({"error": f"invalid request: {summary}", "detail": detail}),
        status_code=422,
    )


async def on_store_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreError)
    if isinstance(exc, HashingBusy):
        # A flood of sign-ins, not an unwell store: worth trying again in a moment.
        return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), {"Retry-After": "1"})
    for kind, code in _STORE_STATUS:
        if isinstance(exc, kind):
            return error_response(code, str(exc))
    # The database itself is unwell (closed, wrong schema): not the caller's fault.
    log.error("store failure on %s %s: %s", request.method, request.url.path, exc)
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, "the store is unavailable")


async def on_command_refused(request: Request, exc: Exception) -> JSONResponse:
    return error_response(status.HTTP_400_BAD_REQUEST, str(exc))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback is logged by the server; the caller learns nothing about internals.
    return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StoreError, on_store_error)
    app.add_exception_handler(CommandRefused, on_command_refused)
    app.add_exception_handler(Exception, on_unexpected)
