"""Who is asking: session tokens, API keys, passwords and permissions.

Credentials are accepted where Immich's clients send them (OpenAPI security schemes of the spec,
plus what Immich's ``AuthService.validate`` reads besides): ``x-api-key`` header or ``?apiKey=``
(API key); ``x-immich-user-token`` or ``x-immich-session-token`` header, ``?sessionKey=``,
``Authorization: Bearer <token>`` or the ``immich_access_token`` cookie (session token, looked
for in that order). Tokens and API key secrets are random
32-byte values; only their SHA-256 is stored. Passwords are hashed with bcrypt (cost 10, the
library default is 12; Immich uses 10 as well). Every password check costs one bcrypt
verification, also when there is no hash to check against (an unknown e-mail, a user without a
password), so the time of a failed login does not tell whether the account exists.

Who may call a route is decided by :func:`authorize`, a guard of the whole app that runs before
Litestar parses the request's body and parameters (as Immich's auth guard runs before its
validation pipe): an anonymous caller gets 401 and one without the route's permission 403 even
when the body is invalid. A route declares what it needs in its decorator's options:
``@get("/{id}", permission="asset.read")``, plus ``admin=True`` for admin-only routes.

Shared links (Immich's public links): a request may instead carry a link's key (``?key=`` or the
``x-immich-share-key`` header) or slug (``?slug=`` / ``x-immich-share-slug``); as in Immich's
``AuthService.validate`` a link is looked at before any other credential. The caller is then the
link's owner *through the link* (:attr:`Auth.shared_link`), and only routes that declare
``shared_link=True`` accept them (others answer 403 ``Forbidden``, as Immich's guard does for a
route without ``sharedLink: true``); what the link reaches is decided per id by
:mod:`darkroom_gateway.shared_access`. An unknown or expired link is 401 ``Invalid share key`` /
``Invalid share slug``; a password link is 401 ``Invalid password`` until
``POST /api/shared-links/login`` set the cookie :data:`LINK_COOKIE_NAME` for it.

Maintenance mode (:mod:`darkroom_gateway.domain.maintenance`): the routes declaring
``maintenance_token=True`` (the backup and maintenance routes Immich's maintenance worker serves)
also take the maintenance login cookie :data:`MAINTENANCE_COOKIE_NAME` while maintenance is on,
as Immich's ``MaintenanceAuthGuard`` does: that is how an admin restores a backup into a fresh
server, which has no user yet, and while the users table is being restored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

import bcrypt
import msgspec
from darkroom_db import shared_links, users
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler

from darkroom_gateway import maintenance_token
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import Forbidden, Unauthorized

BCRYPT_ROUNDS = 10
#: bcrypt hash (cost :data:`BCRYPT_ROUNDS`) of a random password nobody knows, generated once with
#: ``bcrypt.hashpw(secrets.token_urlsafe(24).encode(), bcrypt.gensalt(10))``: verified instead
#: when there is no real hash, so that case takes as long as a wrong password.
DUMMY_PASSWORD_HASH = "$2b$10$2qqTL13o2OcPLO/BgJOD9OhjkVBGt/sirfm9kfjrWFOHUtBZxQOlS"
COOKIE_NAME = "immich_access_token"
#: Cookie naming the password links this browser logged in to (Immich's ``ImmichCookie``
#: ``immich_shared_link_token``): comma-separated :func:`link_token` values.
LINK_COOKIE_NAME = "immich_shared_link_token"
#: Headers and query parameters carrying a link (Immich's ``ImmichHeader.SharedLinkKey``/
#: ``SharedLinkSlug`` and ``ImmichQuery``).
LINK_KEY_HEADER = "x-immich-share-key"
LINK_SLUG_HEADER = "x-immich-share-slug"
#: Cookie of the maintenance login (Immich's ``ImmichCookie.MaintenanceToken``).
MAINTENANCE_COOKIE_NAME = "immich_maintenance_token"
#: Query parameters carrying an API key / a session token (Immich's ``ImmichQuery.ApiKey``/
#: ``SessionKey``).
API_KEY_QUERY = "apiKey"
SESSION_KEY_QUERY = "sessionKey"
#: Characters a cookie value may hold unquoted (RFC 6265 cookie-octet, less the ones Python's
#: SimpleCookie would quote); other values are written as Litestar writes them.
_PLAIN_COOKIE_VALUE = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:")


class SiteCookie(Cookie):
    """A cookie written as Immich's Express writes its own (the ``cookie`` package's
    ``serialize``): ``name=value; Max-Age=N; Path=/; Expires=<date>; HttpOnly; Secure;
    SameSite=Lax``, in that order, with an ``Expires`` date next to ``Max-Age`` (the epoch for
    a cookie being cleared, as Express's ``clearCookie``). Clients that compare the header
    (Immich's e2e auth spec does) see Immich's; browsers read either form the same.
    """

    def to_header(self, **kwargs: Any) -> str:
        """The ``Set-Cookie`` header line (``header=""`` for the value alone, as Litestar's
        own :meth:`Cookie.to_header` takes it)."""
        value = self.value or ""
        if self.domain or self.expires is not None or not set(value) <= _PLAIN_COOKIE_VALUE:
            return super().to_header(**kwargs)
        parts = [f"{self.key}={value}"]
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        parts.append(f"Path={self.path}")
        if self.max_age is not None:
            until = time.time() + self.max_age if self.max_age > 0 else 0
            parts.append(f"Expires={formatdate(until, usegmt=True)}")
        if self.httponly:
            parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        parts.append(f"SameSite={self.samesite.capitalize()}")
        return f"{kwargs.get('header', 'Set-Cookie:')} {'; '.join(parts)}".strip()


def site_cookie(
    connection: ASGIConnection,  # type: ignore[type-arg]
    key: str,
    value: str,
    *,
    max_age: int | None = None,
    httponly: bool = True,
) -> Cookie:
    """A cookie of this site as Immich sets its own (:class:`SiteCookie`): ``SameSite=Lax``,
    path ``/``, ``Secure`` when the request came over https, HTTP-only unless the web app must
    read it.

    Args:
        connection: The request (its scheme decides ``Secure``).
        key: The cookie's name.
        value: Its value.
        max_age: Seconds it lives; None for the browser session.
        httponly: False for a cookie the web app reads (``immich_is_authenticated``).

    Returns:
        The cookie to send.
    """
    return SiteCookie(
        key=key,
        value=value,
        httponly=httponly,
        samesite="lax",
        secure=connection.url.scheme == "https",
        path="/",
        max_age=max_age,
    )


#: How long ``POST /api/auth/session/unlock`` unlocks a session (Immich's ``unlockSession``:
#: 15 minutes).
PIN_UNLOCK = timedelta(minutes=15)
#: An unlocked session used within this time of its unlock's end stays unlocked this long from
#: the request (Immich's ``validateSession``: 5 minutes).
PIN_EXTEND = timedelta(minutes=5)


class Auth(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller: a user, through a session or through an API key."""

    user: users.User
    session: users.Session | None = None
    api_key: users.ApiKey | None = None
    #: Set when the caller came with a shared link's key or slug; ``user`` is its owner.
    shared_link: shared_links.SharedLink | None = None

    def require(self, permission: str) -> None:
        """Check an API key's permission (sessions may do everything their user may).

        Raises:
            Forbidden: The API key lacks ``permission`` and ``all``.
        """
        if self.api_key is None:
            return
        perms = self.api_key.permissions
        if "all" not in perms and permission not in perms:
            raise Forbidden(f"Missing required permission: {permission}")

    @property
    def elevated(self) -> bool:
        """Whether the caller may see the user's locked assets: a session unlocked with the PIN
        code whose unlock has not ended (Immich's ``hasElevatedPermission``). API keys and
        shared links never are."""
        if self.session is None or self.shared_link is not None:
            return False
        until = self.session.pin_expires_at
        return until is not None and until > datetime.now(UTC)

    def require_elevated(self) -> None:
        """Refuse a caller that is not :attr:`elevated` (Immich's ``requireElevatedPermission``).

        Raises:
            Unauthorized: ``Elevated permission is required`` (401, as Immich answers).
        """
        if not self.elevated:
            raise Unauthorized("Elevated permission is required")

    def require_admin(self) -> None:
        """Raises:
        Forbidden: The caller is not an admin.
        """
        if not self.user.is_admin:
            raise Forbidden("Forbidden")


def new_secret() -> str:
    """A fresh random token for a session or API key (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_secret(token: str) -> str:
    """SHA-256 hex of a token: what the database stores and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (run off the event loop; ~50 ms)."""
    return (
        await asyncio.to_thread(
            bcrypt.hashpw, password.encode()[:72], bcrypt.gensalt(BCRYPT_ROUNDS)
        )
    ).decode()


async def check_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches the bcrypt ``password_hash``, checked off the event loop.

    Args:
        password: What the client sent.
        password_hash: The stored bcrypt hash; empty or None when there is none (an unknown
            e-mail, a user without a password).

    Returns:
        True on a match. False without a hash, after verifying ``password`` against
        :data:`DUMMY_PASSWORD_HASH`, so that the answer takes as long as for a wrong password.
    """
    checked = password_hash or DUMMY_PASSWORD_HASH
    matches = await asyncio.to_thread(bcrypt.checkpw, password.encode()[:72], checked.encode())
    return matches and bool(password_hash)


def _session_token(
    headers: Mapping[str, str], cookies: Mapping[str, str], query: Mapping[str, str]
) -> str | None:
    """The session token of a request, looked for where Immich's ``validate`` looks, in its
    order: ``x-immich-user-token``, ``x-immich-session-token``, ``?sessionKey=``, a Bearer
    ``Authorization``, the ``immich_access_token`` cookie."""
    header = headers.get("authorization", "")
    bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return (
        headers.get("x-immich-user-token")
        or headers.get("x-immich-session-token")
        or query.get(SESSION_KEY_QUERY)
        or bearer
        or cookies.get(COOKIE_NAME)
        or None
    )


def link_token(link: shared_links.SharedLink) -> str:
    """What the login cookie holds for a password link: SHA-256 of the link id and its
    password hash, so that changing the password (or a new link) logs every browser out.

    Args:
        link: A link with a password.

    Returns:
        64 hex characters.
    """
    return hash_secret(f"{link.id}:{link.password_hash}")


async def authenticate_link(
    query: Mapping[str, str],
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    deps: Deps,
    *,
    check_password: bool = True,
) -> Auth | None:
    """The caller as a shared link, when the request names one (key before slug, header
    before query, as Immich's ``AuthService.validate``).

    Args:
        query: Query parameters (``key``, ``slug``).
        headers: Request headers (names lower-case).
        cookies: Cookies (:data:`LINK_COOKIE_NAME` for a password link).
        deps: The gateway's connections (the database is read on every call: a deleted or
            edited link takes effect on the next request).
        check_password: False for ``POST /api/shared-links/login``, which checks it itself.

    Returns:
        The link's owner through the link, or None when the request names no link.

    Raises:
        Unauthorized: Unknown or expired link (``Invalid share key``/``Invalid share slug``),
            a deleted owner, or a password link without its login cookie (``Invalid password``).
    """
    key = headers.get(LINK_KEY_HEADER) or query.get("key")
    slug = headers.get(LINK_SLUG_HEADER) or query.get("slug")
    if not key and not slug:
        return None
    link = await shared_links.find_link(deps.pool, key=key or None, slug=None if key else slug)
    now = datetime.now(UTC)
    owner = None if link is None else await users.get_user(deps.pool, link.owner_id)
    if (
        link is None
        or owner is None
        or owner.deleted_at is not None
        or (link.expires_at is not None and link.expires_at <= now)
    ):
        raise Unauthorized("Invalid share key" if key else "Invalid share slug")
    if check_password and link.password_hash:
        given = cookies.get(LINK_COOKIE_NAME, "").split(",")
        if not any(secrets.compare_digest(t, link_token(link)) for t in given):
            raise Unauthorized("Invalid password")
    return Auth(user=owner, shared_link=link)


async def authenticate(request: ASGIConnection, deps: Deps) -> Auth:
    """Resolve the caller of an HTTP request: a shared link (:func:`authenticate_link`) when
    the request names one, else a user's credentials (:func:`authenticate_headers`).

    Raises:
        Unauthorized: No credentials, or unknown/expired ones.
    """
    link = await authenticate_link(request.query_params, request.headers, request.cookies, deps)
    if link is not None:
        return link
    return await authenticate_headers(
        request.headers, request.cookies, deps, query=request.query_params
    )


async def authenticate_headers(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    deps: Deps,
    *,
    query: Mapping[str, str] | None = None,
) -> Auth:
    """Resolve a caller from its credentials: what HTTP requests and websocket connections
    (:mod:`darkroom_gateway.realtime`) share. A session token (header, ``sessionKey``, bearer
    or cookie) is looked at before an API key, as Immich's ``AuthService.validate``: a request
    carrying both is the session's, and a bad token is refused whatever key comes with it.

    Args:
        headers: Request headers (names lower-case).
        cookies: Cookies of the request, by name.
        deps: The gateway's connections (the database is read).
        query: Query parameters (``apiKey``, ``sessionKey``); None for none (websockets).

    Returns:
        The caller.

    Raises:
        Unauthorized: No credentials, or unknown/expired ones.
    """
    query = query or {}
    token = _session_token(headers, cookies, query)
    if token:
        signed_in = await users.authenticate_session(deps.pool, hash_secret(token))
        if signed_in is None:
            raise Unauthorized("Invalid user token")
        user, session = signed_in
        until = session.pin_expires_at
        if until is not None and datetime.now(UTC) < until < datetime.now(UTC) + PIN_EXTEND:
            extended = await users.extend_session_pin(deps.pool, session.id, PIN_EXTEND)
            session = msgspec.structs.replace(session, pin_expires_at=extended)
        return Auth(user=user, session=session)
    api_key = headers.get("x-api-key") or query.get(API_KEY_QUERY)
    if api_key:
        found = await users.authenticate_api_key(deps.pool, hash_secret(api_key))
        if found is None:
            raise Unauthorized("Invalid API key")
        return Auth(user=found[0], api_key=found[1])
    raise Unauthorized("Authentication required")


async def maintenance_login(cookies: Mapping[str, str], deps: Deps) -> bool:
    """Whether the request carries the maintenance login of the maintenance in progress.

    Args:
        cookies: The request's cookies (:data:`MAINTENANCE_COOKIE_NAME`).
        deps: The gateway's connections (the shared maintenance state).

    Returns:
        True when maintenance is on and the cookie holds a token signed with its secret
        (:mod:`darkroom_gateway.maintenance_token`).
    """
    token = cookies.get(MAINTENANCE_COOKIE_NAME, "")
    if not token:
        return False
    state = await deps.maintenance.get()
    return state.active and maintenance_token.username(state.secret, token) is not None


async def authorize(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app's guard: authenticate the caller of a route that takes ``auth`` and check the
    route's declared needs, before its body and parameters are parsed.

    The :class:`Auth` found is kept in ``connection.state.auth`` for the ``auth`` dependency.
    A route's options (extra keyword arguments of its decorator) say what it needs:
    ``admin=True`` (Immich's ``@Authenticated({ admin: true })``) and ``permission="<name>"``
    (an API key must hold it, or ``all``); a route declaring none needs ``all`` of an API key,
    as Immich's ``permission ?? Permission.All``, and ``permission=False`` (Immich's
    ``permission: false``) lets any key in.

    Args:
        connection: The request (or websocket).
        handler: The route handler it is for.

    A caller through a shared link passes only routes declaring ``shared_link=True`` (Immich's
    ``@Authenticated({ sharedLink: true })``); ``shared_link="login"`` marks the one route that
    takes a password link before its password is given. ``maintenance_token=True`` lets the
    maintenance login in instead of a user (:func:`maintenance_login`).

    Raises:
        Unauthorized: The route takes ``auth`` and the caller has no valid credentials.
        Forbidden: The caller is not an admin on an admin route, its API key lacks the
            route's permission, or it is a shared link on a route not open to links.
    """
    if "auth" not in handler.parsed_fn_signature.parameters:
        return
    deps = connection.app.state.deps
    if handler.opt.get("maintenance_token") and await maintenance_login(connection.cookies, deps):
        connection.state.maintenance_login = True  # the ``auth`` dependency is then None
        return
    opened = handler.opt.get("shared_link")
    link = await authenticate_link(
        connection.query_params,
        connection.headers,
        connection.cookies,
        deps,
        check_password=opened != "login",
    )
    auth = (
        link
        if link is not None
        else await authenticate_headers(
            connection.headers, connection.cookies, deps, query=connection.query_params
        )
    )
    connection.state.auth = auth
    if auth.shared_link is not None and not opened:
        raise Forbidden("Forbidden")
    if handler.opt.get("admin"):
        auth.require_admin()
    # no permission declared is Immich's ``metadata.permission ?? Permission.All``; False: none
    permission = handler.opt.get("permission", "all")
    if permission:
        auth.require(permission)
