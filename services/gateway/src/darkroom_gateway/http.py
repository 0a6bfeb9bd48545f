"""What every request and response of the gateway shares: JSON body decoding and the security
headers.

- :class:`GatewayRequest` turns every way a JSON body can fail to decode into a 400 with
  Immich's error body, in one place for all routes (Litestar itself maps msgspec's
  ``DecodeError`` only; invalid UTF-8 raises ``UnicodeDecodeError`` and too deep nesting
  ``RecursionError``, which were answered 500).
- :func:`security_headers` is a ``before_send`` hook that adds the browser hardening headers to
  every response (Immich's defaults since 2.7, OWASP's Secure Headers Project): a
  Content-Security-Policy and ``X-Frame-Options`` for the web app, ``nosniff`` and a
  ``Referrer-Policy`` everywhere, and ``Cache-Control: no-store`` on API JSON, which holds
  private data (originals and thumbnails keep their own ``private, max-age`` caching).
- :func:`immich_dates_middleware` writes the instants of JSON answers as Immich does
  (:func:`immich_dates`).
- :func:`head_as_get` answers ``HEAD`` on every ``GET`` route, as Express (Immich) does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class GatewayRequest(Request[Any, Any, Any]):
    """Litestar's request, with JSON decoding failures answered 400 (the app's request class).

    msgspec decodes nested JSON recursively, so its nesting limit is Python's recursion limit
    (about 1,000 levels): a deeper body fails fast with ``RecursionError``, before anything
    large is built, and no real client nests more than a few levels.
    """

    async def json(self) -> Any:
        """The decoded JSON body.

        Raises:
            ClientException: 400 when the body is not UTF-8 or nests too deep (Litestar raises
                it itself for other malformed JSON).
        """
        try:
            return await super().json()
        except UnicodeDecodeError as exc:
            raise ClientException(f"The request body is not valid UTF-8: {exc.reason}") from exc
        except RecursionError as exc:
            raise ClientException("The JSON body is nested too deeply") from exc


def tile_source(map_tile_url: str) -> str | None:
    """The CSP source expression that allows the map's tiles, or None when 'self' covers them.

    Args:
        map_tile_url: Leaflet tile URL template (``settings.map_tile_url``), e.g.
            ``https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png``.

    Returns:
        ``scheme://host[:port]`` of the template, a ``{...}`` placeholder in the leftmost host
        label written as CSP's ``*`` wildcard (``https://*.tile.openstreetmap.org``); just the
        scheme (``https:``) when a placeholder sits elsewhere in the host; None for a relative
        template (served by us).
    """
    parts = urlsplit(map_tile_url)
    if not parts.scheme or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if labels[0].startswith("{") and labels[0].endswith("}"):
        labels[0] = "*"
    host = ".".join(labels)
    if "{" in host or "}" in host:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"


def content_security_policy(map_tile_url: str) -> str:
    """The Content-Security-Policy of the web app.

    Scripts only from our own build (Vite emits no inline script); styles may be inline (Svelte
    and Leaflet set element styles); images from us, ``data:``/``blob:`` URLs and the tile
    server; video from us and ``blob:``; fetches and the websocket to us; no plugins, no
    ``<base>`` elsewhere, never framed (``frame-ancestors 'none'``, clickjacking).

    Args:
        map_tile_url: ``settings.map_tile_url``; its origin is added to ``img-src``.
    """
    img = "'self' data: blob:"
    tiles = tile_source(map_tile_url)
    if tiles:
        img += f" {tiles}"
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": img,
        "media-src": "'self' blob:",
        "font-src": "'self' data:",
        "connect-src": "'self' ws: wss:",
        "worker-src": "'self' blob:",
        "frame-ancestors": "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(map_tile_url: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """A Litestar ``before_send`` hook adding the security headers to every response.

    Every response gets ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
    ``Referrer-Policy: same-origin``; responses outside ``/api`` (the web app) also the
    :func:`content_security_policy` (the API docs page under ``/api`` loads its scripts from a
    CDN); API responses with a JSON body get ``Cache-Control: no-store`` unless the route set a
    Cache-Control of its own. A header the route set itself is kept.

    Args:
        map_tile_url: ``settings.map_tile_url`` (its origin is allowed for images).

    Returns:
        The hook (``async (message, scope) -> None``).
    """
    csp = content_security_policy(map_tile_url)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        wanted = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        }
        path = scope.get("path", "")
        is_api = path == "/api" or path.startswith("/api/")
        if not is_api:
            wanted["Content-Security-Policy"] = csp
        elif headers.get("content-type", "").startswith("application/json"):
            wanted["Cache-Control"] = "no-store"
        for name, value in wanted.items():
            if headers.get(name) is None:
                headers[name] = value

    return add_security_headers


#: The date-time fields of Immich's API (every property of format ``date-time`` in the 3.1
#: spec's schemas): only values under these keys are rewritten by :func:`immich_dates`.
DATE_TIME_FIELDS = (
    "activatedAt",
    "createdAfter",
    "createdAt",
    "createdBefore",
    "dateTimeOriginal",
    "deletedAt",
    "endDate",
    "expiresAt",
    "fileCreatedAt",
    "fileModifiedAt",
    "hideAt",
    "lastModifiedAssetTimestamp",
    "localDateTime",
    "memoryAt",
    "modifyDate",
    "profileChangedAt",
    "readAt",
    "refreshedAt",
    "seenAt",
    "showAt",
    "startDate",
    "takenAfter",
    "takenBefore",
    "trashedAfter",
    "trashedBefore",
    "updatedAfter",
    "updatedAt",
    "updatedBefore",
)
_DATE_TIME_KEYS = frozenset(name.encode() for name in DATE_TIME_FIELDS)
#: A string value of an object member that is an aware UTC datetime as msgspec writes it:
#: ``"YYYY-MM-DDTHH:MM:SSZ"`` or with six fraction digits. The literal ``":"`` first lets the
#: regex engine skip to candidates; a body without dates (the timeline's buckets) costs a scan.
_MSGSPEC_INSTANT = re.compile(rb'":"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{6}))?Z"')


def immich_dates(body: bytes) -> bytes:
    """``body`` (JSON) with its UTC instants written as Immich writes them.

    Immich's server serializes dates with JavaScript's ``Date.toISOString``: always three
    fraction digits and ``Z`` (``2020-01-01T00:00:00.000Z``); msgspec writes no fraction for a
    whole second and six digits otherwise (``...00Z``, ``...00.090150Z``). Clients that parse
    the exact form (immich-go reads ``2006-01-02T15:04:05.000Z`` and silently takes anything
    else for year 1) and tests comparing strings need Immich's.

    Only the values of the spec's date-time fields (:data:`DATE_TIME_FIELDS`) change: a value
    is rewritten when the member's name is one of them and stands as a key (after ``{`` or
    ``,``; inside a JSON string a quote is always escaped, so ``":"`` is structural and no text
    of a user's can match). Microseconds are cut to milliseconds, as Immich keeps them. Values
    that are not UTC instants (a date, a wall-clock time without zone) and arrays are left.
    Cost: one scan, plus about a microsecond per date value.

    An asset's ``exifInfo`` dates too: Immich 2.x wrote them as PostgreSQL's JSON text
    (``2016-09-22T21:10:29.06+00:00``, its e2e asset tests of then); 3.x maps them through
    ``new Date(...).toISOString()`` (``mapExif``), and its e2e asset tests expect
    ``new Date('2016-09-22T21:10:29.060Z').toISOString()``.

    Args:
        body: A JSON document, UTF-8.

    Returns:
        The same document with those values rewritten.
    """

    def millis(match: re.Match[bytes]) -> bytes:
        start = match.start()
        opening = body.rfind(b'"', 0, start)
        if body[opening + 1 : start] not in _DATE_TIME_KEYS or body[opening - 1] not in b"{,":
            return match[0]
        fraction = match[2] or b""
        return b'":"' + match[1] + b"." + (fraction[:3] or b"000") + b'Z"'

    return _MSGSPEC_INSTANT.sub(millis, body)


def immich_dates_middleware(app: ASGIApp) -> ASGIApp:
    """Write the instants of every JSON answer of the API as Immich does (:func:`immich_dates`).

    One place for every route, whatever made the body (a returned struct, an explicit
    ``Response``). A JSON answer of an ``/api`` route with a ``content-length`` (a rendered
    body, already whole in memory) is collected, rewritten and its length corrected; streamed
    answers (no length: the sync stream, downloads) and everything else pass untouched.

    Args:
        app: The route's ASGI app.

    Returns:
        The wrapped ASGI app.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        held: list[Message] = []
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "json" in headers.get("content-type", "") and "content-length" in headers:
                    held.append(message)
                    return
            elif held and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = immich_dates(b"".join(chunks))
                start = held.pop()
                MutableScopeHeaders.from_message(start)["content-length"] = str(len(body))
                await send(start)
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        await app(scope, receive, rewrite)

    return middleware


#: ASGI scope key marking a HEAD request that :func:`head_as_get` hands to its GET route.
HEAD_SCOPE_KEY = "darkroom.head"


def is_head(request: Request) -> bool:
    """Whether ``request`` is a HEAD answered by its GET route (:func:`head_as_get`).

    A route may then leave its body unmade (a stored file unread), as long as the status and
    headers it answers are GET's; whatever body it makes is dropped all the same.
    """
    return bool(request.scope.get(HEAD_SCOPE_KEY))


def head_as_get(app: ASGIApp) -> ASGIApp:
    """Answer ``HEAD`` with the ``GET`` route of the path, without its body.

    Immich's server is NestJS on Express: Express routes a HEAD request to the GET handler of
    the path (``router/route.js``, ``_handles_method``) and Node's ``http`` writes the status and
    headers of the answer but no body (RFC 9110, section 9.3.2). Litestar routes HEAD only to
    handlers declared for it (405 otherwise), so this runs before its router: a HEAD request
    goes on as a GET, in a copy of the scope (the server keeps seeing HEAD) marked with
    :data:`HEAD_SCOPE_KEY`; the guards, the access checks and the error mapping run as for GET,
    and the answer keeps GET's status and headers (``Content-Length`` included) while every
    body chunk is dropped and the end of the body is sent empty. No route declares HEAD of its
    own (one would never be reached). Media routes skip reading the object (:func:`is_head`).

    Args:
        app: Litestar's ASGI handler (router inside its exception handler).

    Returns:
        The wrapped ASGI app.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await app(scope, receive, send)
            return
        as_get: Any = {**scope, "method": "GET", HEAD_SCOPE_KEY: True}

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(as_get, receive, without_body)

    return middleware
