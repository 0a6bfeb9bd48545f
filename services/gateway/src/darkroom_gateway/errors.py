"""One exception hierarchy for the API, mapped to Immich's error shape in one place.

Immich answers errors as ``{"message": str, "error": "<HTTP reason>", "statusCode": int,
"correlationId": str}``; clients (the mobile app, @immich/cli) show ``message``.
"""

from __future__ import annotations

import uuid
from http import HTTPStatus

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = structlog.get_logger()


class ApiError(Exception):
    """An error the client caused or may see; ``status`` is the HTTP status code."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    """400: the request is malformed or asks for something impossible."""

    status = 400


class Unauthorized(ApiError):
    """401: no valid credentials."""

    status = 401


class Forbidden(ApiError):
    """403: valid credentials, but not allowed (missing permission, not the first admin...)."""

    status = 403


class NotFound(ApiError):
    """404: no such thing, or not the caller's to see (we never reveal which)."""

    status = 404


class Conflict(ApiError):
    """409: the resource exists already."""

    status = 409


class ErrorBody(msgspec.Struct, frozen=True):
    """Immich's error response shape."""

    message: str | list[str]
    error: str
    statusCode: int  # noqa: N815 - the wire name
    correlationId: str  # noqa: N815


def _body(status: int, message: str | list[str]) -> Response[ErrorBody]:
    return Response(
        ErrorBody(
            message=message,
            error=HTTPStatus(status).phrase,
            statusCode=status,
            correlationId=uuid.uuid4().hex[:8],
        ),
        status_code=status,
        media_type="application/json",
    )


def api_error_handler(_: Request, exc: ApiError) -> Response[ErrorBody]:
    """Map an :class:`ApiError` to its status and Immich's body."""
    return _body(exc.status, exc.message)


def http_error_handler(_: Request, exc: HTTPException) -> Response[ErrorBody]:
    """Map Litestar's own errors (404 route, 405, validation) to Immich's body."""
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        messages = [
            f"{e.get('key', '')}: {e.get('message', '')}".strip(": ")
            for e in extra
            if isinstance(e, dict)
        ]
        return _body(400, messages or [exc.detail])
    return _body(exc.status_code, exc.detail)


def internal_error_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    """Log an unexpected error with its stack and answer 500 without internals."""
    # the traceback carries the type and message (redacted); repr(exc) may hold request bytes
    log.exception("http.unhandled", method=request.method, path=request.url.path)
    return _body(500, "Internal server error")


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
