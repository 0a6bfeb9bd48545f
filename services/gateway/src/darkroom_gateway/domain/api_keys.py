"""API keys: create, list, inspect, rename/re-scope and delete the caller's keys (another
user's key is answered 400 ``API Key not found``, as Immich's API key service answers). A key's
``permissions`` are kept as given, in their order (Immich's ``create``/``update`` store
``dto.permissions`` as they are)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import get_args

import msgspec
from darkroom_db import users
from darkroom_events import ApiKeyDeleted
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth, hash_secret, new_secret
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, Forbidden
from darkroom_gateway.permissions import Permission


class ApiKeyCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: ApiKeyCreateDto."""

    permissions: list[Permission]
    name: str | None = None


class ApiKeyUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: ApiKeyUpdateDto (absent fields are left as they are)."""

    name: str | None = None
    permissions: list[Permission] | None = None


class ApiKeyResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ApiKeyResponseDto."""

    id: str
    name: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class ApiKeyCreateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ApiKeyCreateResponseDto; ``secret`` is shown this once only.

    Immich 3.x's API key service answers the new key's own fields at the top level as well as
    under ``apiKey`` (``{...apiKey, secret, apiKey}``; its e2e test expects both, ``apiKey``
    marked for removal in v4), so clients reading either shape work.
    """

    id: str
    name: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime
    secret: str
    api_key: ApiKeyResponse

    @classmethod
    def of(cls, key: ApiKeyResponse, secret: str) -> ApiKeyCreateResponse:
        """The create answer for ``key`` and its one-time ``secret``."""
        return cls(
            id=key.id,
            name=key.name,
            permissions=key.permissions,
            created_at=key.created_at,
            updated_at=key.updated_at,
            secret=secret,
            api_key=key,
        )


def _check_grant(auth: Auth, permissions: list[str]) -> None:
    """A key may only grant permissions its creator holds.

    Raises:
        BadRequest: ``permissions`` is empty, or the caller is an API key without some of
            ``permissions`` (Immich answers 400 ``Cannot grant permissions you do not have``).
    """
    if not permissions:
        raise BadRequest("permissions should not be empty")
    if auth.api_key is not None and "all" not in auth.api_key.permissions:
        if set(permissions) - set(auth.api_key.permissions):
            raise BadRequest("Cannot grant permissions you do not have")


def _response(key: users.ApiKey) -> ApiKeyResponse:
    return ApiKeyResponse(
        id=str(key.id),
        name=key.name,
        permissions=key.permissions,
        created_at=key.created_at,
        updated_at=key.updated_at,
    )


class ApiKeyController(Controller):
    """/api/api-keys."""

    path = "/api/api-keys"

    @post("/", status_code=201, permission="apiKey.create")
    async def create_api_key(
        self, data: JSONBody[ApiKeyCreate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ApiKeyCreateResponse:
        """Create an API key; a key may only grant permissions its creator holds."""
        _check_grant(auth, list(data.permissions))
        secret = new_secret()
        key = await users.create_api_key(
            deps.pool,
            owner_id=auth.user.id,
            name=data.name or "API Key",
            key_hash=hash_secret(secret),
            permissions=list(data.permissions),
        )
        return ApiKeyCreateResponse.of(_response(key), secret)

    @get("/me", permission=False)
    async def get_my_api_key(self, auth: NamedDependency[Auth]) -> ApiKeyResponse:
        """The API key the caller authenticated with (403 for a session: there is none)."""
        if auth.api_key is None:
            raise Forbidden("Not authenticated with an API Key")
        return _response(auth.api_key)

    @get("/", permission="apiKey.read")
    async def get_api_keys(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[ApiKeyResponse]:
        """The caller's API keys, oldest first (never their secrets)."""
        return [_response(k) for k in await users.list_api_keys(deps.pool, auth.user.id)]

    @get("/{key_id:uuid}", permission="apiKey.read")
    async def get_api_key(
        self, key_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> ApiKeyResponse:
        """One of the caller's API keys."""
        key = await users.get_api_key(deps.pool, auth.user.id, key_id)
        if key is None:
            raise BadRequest("API Key not found")
        return _response(key)

    @put("/{key_id:uuid}", permission="apiKey.update")
    async def update_api_key(
        self,
        key_id: FromPath[uuid.UUID],
        data: JSONBody[ApiKeyUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> ApiKeyResponse:
        """Rename or re-scope one of the caller's API keys."""
        permissions: list[str] | None = None
        if data.permissions is not None:
            _check_grant(auth, list(data.permissions))
            permissions = list(data.permissions)
        key = await users.update_api_key(
            deps.pool, auth.user.id, key_id, name=data.name, permissions=permissions
        )
        if key is None:
            raise BadRequest("API Key not found")
        return _response(key)

    @delete("/{key_id:uuid}", status_code=204, permission="apiKey.delete")
    async def delete_api_key(
        self, key_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Delete one of the caller's API keys; it stops working at once."""
        if not await users.delete_api_key(deps.pool, auth.user.id, key_id):
            raise BadRequest("API Key not found")
        await announce(deps, ApiKeyDeleted(api_key_id=str(key_id), user_id=str(auth.user.id)))


ALL_PERMISSIONS: frozenset[str] = frozenset(get_args(Permission))


ROUTES = [ApiKeyController]
