"""Who is asking: session tokens, API keys, passwords and permissions.

Credentials are accepted where Immich's clients send them (OpenAPI security schemes of the spec):
``x-api-key`` header (API key), ``Authorization: Bearer <token>``, ``x-immich-user-token`` header
and the ``immich_access_token`` cookie (session token). Tokens and API key secrets are random
32-byte values; only their SHA-256 is stored. Passwords are hashed with bcrypt (cost 10, the
library default is 12; Immich uses 10 as well). Every password check costs one bcrypt
verification, also when there is no hash to check against (an unknown e-mail, a user without a
password), so the time of a failed login does not tell whether the account exists.

Who may call a route is decided by :func:`authorize`, a guard of the whole app that runs before
Litestar parses the request's body and parameters (as Immich's auth guard runs before its
validation pipe): an anonymous caller gets 401 and one without the route's permission 403 even
when the body is invalid. A route declares what it needs in its decorator's options:
``@get("/{id}", permission="asset.read")``, plus ``admin=True`` for admin-only routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping

import bcrypt
import msgspec
from darkroom_db import users
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import Forbidden, Unauthorized

BCRYPT_ROUNDS = 10
#: bcrypt hash (cost :data:`BCRYPT_ROUNDS`) of a random password nobody knows, generated once with
#: ``bcrypt.hashpw(secrets.token_urlsafe(24).encode(), bcrypt.gensalt(10))``: verified instead
#: when there is no real hash, so that case takes as long as a wrong password.
DUMMY_PASSWORD_HASH = "$2b$10$2qqTL13o2OcPLO/BgJOD9OhjkVBGt/sirfm9kfjrWFOHUtBZxQOlS"
COOKIE_NAME = "immich_access_token"


class Auth(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller: a user, through a session or through an API key."""

    user: users.User
    session: users.Session | None = None
    api_key: users.ApiKey | None = None

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


def _session_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return headers.get("x-immich-user-token") or cookies.get(COOKIE_NAME)


async def authenticate(request: ASGIConnection, deps: Deps) -> Auth:
    """Resolve the caller of ``request``.

    Raises:
        Unauthorized: No credentials, or unknown/expired ones.
    """
    return await authenticate_headers(request.headers, request.cookies, deps)


async def authenticate_headers(
    headers: Mapping[str, str], cookies: Mapping[str, str], deps: Deps
) -> Auth:
    """Resolve a caller from its credentials: what HTTP requests and websocket connections
    (:mod:`darkroom_gateway.realtime`) share.

    Args:
        headers: Request headers (names lower-case).
        cookies: Cookies of the request, by name.
        deps: The gateway's connections (the database is read).

    Returns:
        The caller.

    Raises:
        Unauthorized: No credentials, or unknown/expired ones.
    """
    api_key = headers.get("x-api-key")
    if api_key:
        found = await users.authenticate_api_key(deps.pool, hash_secret(api_key))
        if found is None:
            raise Unauthorized("Invalid API key")
        return Auth(user=found[0], api_key=found[1])
    token = _session_token(headers, cookies)
    if token:
        session = await users.authenticate_session(deps.pool, hash_secret(token))
        if session is None:
            raise Unauthorized("Invalid user token")
        return Auth(user=session[0], session=session[1])
    raise Unauthorized("Authentication required")


async def authorize(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app's guard: authenticate the caller of a route that takes ``auth`` and check the
    route's declared needs, before its body and parameters are parsed.

    The :class:`Auth` found is kept in ``connection.state.auth`` for the ``auth`` dependency.
    A route's options (extra keyword arguments of its decorator) say what it needs:
    ``admin=True`` (Immich's ``@Authenticated({ admin: true })``) and ``permission="<name>"``
    (an API key must hold it, or ``all``).

    Args:
        connection: The request (or websocket).
        handler: The route handler it is for.

    Raises:
        Unauthorized: The route takes ``auth`` and the caller has no valid credentials.
        Forbidden: The caller is not an admin on an admin route, or its API key lacks the
            route's permission.
    """
    if "auth" not in handler.parsed_fn_signature.parameters:
        return
    auth = await authenticate(connection, connection.app.state.deps)
    connection.state.auth = auth
    if handler.opt.get("admin"):
        auth.require_admin()
    permission = handler.opt.get("permission")
    if permission:
        auth.require(permission)
