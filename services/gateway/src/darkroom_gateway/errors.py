"""One exception hierarchy for the API, mapped to Immich's error shape in one place.

Immich 3.1 answers errors as ``{"message": str}``, and a request that fails validation as
``{"message": "Validation failed", "errors": [issue, ...]}`` (one zod issue per problem:
``{"code", "path", "message"}``); nothing else is in the body (its global exception filter drops
NestJS's ``error`` and ``statusCode``, which repeat the status line). The request's correlation id
travels in the ``x-immich-cid`` response header. Clients (the mobile app, @immich/cli) show
``message``.

An id the caller may not act on (it does not exist, or is not theirs) is answered as Immich's
``requireAccess`` does: 400 ``Not found or no <permission> access``; raise :class:`NoAccess`
(or use :func:`darkroom_gateway.permissions.require_access`).

Besides our own :class:`ApiError` hierarchy and Litestar's HTTP errors, the table
:data:`EXCEPTION_HANDLERS` maps the errors of the libraries every route shares:

- PostgreSQL, NATS, a back-end service or the object store unreachable for now (a restart):
  503 with ``Retry-After`` (``settings.retry_after_s``), so clients retry instead of failing;
- a value PostgreSQL cannot take (SQLSTATE class 22: a number out of range, NUL in text): 400;
- an object missing from storage: 404.
"""

from __future__ import annotations

import uuid

import msgspec
import structlog
from darkroom_bus import CONNECTION_ERRORS as NATS_CONNECTION_ERRORS
from darkroom_bus import RpcTransient
from darkroom_db import CONNECTION_ERRORS as DB_CONNECTION_ERRORS
from darkroom_db import INPUT_ERRORS as DB_INPUT_ERRORS
from darkroom_storage import NotFound as StorageNotFound
from darkroom_storage import StorageUnavailable
from litestar import Request, Response
from litestar.enums import ParamType
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
    """404: no such thing, where Immich answers 404 (a missing file, a person's thumbnail that
    is not there yet). An id that does not exist or is not the caller's is :class:`NoAccess`."""

    status = 404


class NoAccess(BadRequest):
    """400 ``Not found or no <permission> access``: Immich's answer for an id that does not
    exist or that the caller may not act on with ``permission`` (it never reveals which).

    Args:
        permission: The permission the route needs on the id, as Immich names it
            (``asset.read``, ``album.update``, ``person.delete``...).
    """

    def __init__(self, permission: str) -> None:
        super().__init__(f"Not found or no {permission} access")
        self.permission = permission


class Conflict(ApiError):
    """409: the resource exists already."""

    status = 409


#: Errors meaning "a server or service the gateway needs is unreachable for now": answered 503.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    *DB_CONNECTION_ERRORS,
    *NATS_CONNECTION_ERRORS,
    RpcTransient,
    StorageUnavailable,
)

#: ``Retry-After`` seconds when the settings cannot be reached (the app is not started).
DEFAULT_RETRY_AFTER_S = 5


#: Response header carrying the request's correlation id (Immich's ``ImmichHeader.Cid``).
CORRELATION_HEADER = "x-immich-cid"
#: ``message`` of a validation error (Immich's global exception filter, zod validation).
VALIDATION_MESSAGE = "Validation failed"


class ValidationIssue(msgspec.Struct, frozen=True):
    """One problem of a request that failed validation, shaped as a zod issue."""

    code: str
    path: list[str]
    message: str


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """Immich's error response: ``{"message"}``, plus ``errors`` for a validation error."""

    message: str | list[str]
    errors: list[ValidationIssue] | None = None


def error_body(message: str | list[str]) -> ErrorBody:
    """Immich's error body.

    Args:
        message: What the client shows.
    """
    return ErrorBody(message=message)


def new_correlation_id() -> str:
    """A fresh correlation id for the ``x-immich-cid`` header (8 hex characters)."""
    return uuid.uuid4().hex[:8]


def _body(
    status: int,
    message: str | list[str],
    headers: dict[str, str] | None = None,
    errors: list[ValidationIssue] | None = None,
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(message=message, errors=errors),
        status_code=status,
        media_type="application/json",
        headers={CORRELATION_HEADER: new_correlation_id(), **(headers or {})},
    )


def _retry_after(request: Request) -> dict[str, str]:
    deps = getattr(request.app.state, "deps", None)
    seconds = getattr(getattr(deps, "settings", None), "retry_after_s", DEFAULT_RETRY_AFTER_S)
    return {"Retry-After": str(seconds)}


def api_error_handler(request: Request, exc: ApiError) -> Response[ErrorBody]:
    """Map an :class:`ApiError` to its status and Immich's body (a 503 with ``Retry-After``;
    an error's own ``headers``, such as a 416's ``Content-Range``, are sent too)."""
    headers = _retry_after(request) if exc.status == 503 else {}
    return _body(exc.status, exc.message, {**headers, **getattr(exc, "headers", {})})


def unavailable_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    """Answer 503 with ``Retry-After`` for one of :data:`UNAVAILABLE_ERRORS`.

    PostgreSQL restarting, NATS reconnecting, a service not answering or the object store down
    all pass; the client should retry (Immich's mobile app and CLI retry on 5xx).
    """
    log.warning("http.unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
    return _body(503, "Service temporarily unavailable; try again", _retry_after(request))


def bad_input_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    """Answer 400 for a value PostgreSQL rejected (one of ``darkroom_db.INPUT_ERRORS``).

    The values in queries come from the request, so a value out of range or not storable (a
    NUL character in text) is the client's error; PostgreSQL's message says which.
    """
    log.info("http.bad_input", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
    message = getattr(exc, "message", None) or str(exc)
    return _body(400, f"Invalid value: {message}")


def storage_not_found_handler(request: Request, exc: StorageNotFound) -> Response[ErrorBody]:
    """Answer 404 for a file missing from storage (the row exists, its file does not)."""
    log.warning("http.file_missing", path=request.url.path, key=exc.key)
    return _body(404, "File not found")


def spec_path_parameter(template: str, name: str) -> str:
    """The spec's name of our path parameter ``name`` in the route ``template``.

    The spec names a path's first parameter ``id`` and the others in camel case
    (``/albums/{id}/user/{userId}``, ``/stacks/{id}/assets/{assetId}``); ours are snake case
    (``/api/albums/{album_id}/user/{user_id}``).

    Args:
        template: The matched route's path with bare parameter names (Litestar's
            ``path_template``), e.g. ``/api/stacks/{stack_id}/assets/{asset_id}``.
        name: One of its parameters, e.g. ``asset_id``.

    Returns:
        ``id`` for the first parameter, else ``name`` in camel case (``assetId``).
    """
    first = template.split("{", 1)[1].split("}", 1)[0] if "{" in template else name
    if name == first:
        return "id"
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def http_error_handler(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    """Map Litestar's own errors (404 route, 405, validation) to Immich's body.

    A validation error becomes ``{"message": "Validation failed", "errors": [...]}``, one issue
    per problem Litestar/msgspec found (``path`` is the parameter or field, where known; an
    issue a handler raised may name its zod ``code``, e.g. ``invalid_value``).
    """
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        template = str(request.scope.get("path_template") or "")
        issues = [
            ValidationIssue(
                code=str(e.get("code") or "custom"),
                path=str(e["key"]).split(".") if e.get("key") else [],
                message=str(e.get("message") or exc.detail),
            )
            if e.get("source") != ParamType.PATH
            else ValidationIssue(
                code="invalid_format",
                path=[spec_path_parameter(template, str(e.get("key")))],
                message=str(e.get("message") or exc.detail),
            )
            for e in extra
            if isinstance(e, dict)
        ]
        return _body(
            400, VALIDATION_MESSAGE, errors=issues or [ValidationIssue("custom", [], exc.detail)]
        )
    return _body(exc.status_code, exc.detail)


def internal_error_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    """Log an unexpected error with its stack and answer 500 without internals."""
    # the traceback carries the type and message (redacted); repr(exc) may hold request bytes
    log.exception("http.unhandled", method=request.method, path=request.url.path)
    return _body(500, "Internal server error")


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    HTTPException: http_error_handler,
    **dict.fromkeys(UNAVAILABLE_ERRORS, unavailable_handler),
    **dict.fromkeys(DB_INPUT_ERRORS, bad_input_handler),
    StorageNotFound: storage_not_found_handler,
    Exception: internal_error_handler,
}
