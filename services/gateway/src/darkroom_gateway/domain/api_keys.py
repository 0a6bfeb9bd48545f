"""API keys: create, list and inspect the caller's keys."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

import msgspec
from darkroom_db import users
from litestar import Controller, get, post

from darkroom_gateway.auth import Auth, hash_secret, new_secret
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, Forbidden
from darkroom_gateway.permissions import Permission


class ApiKeyCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: ApiKeyCreateDto."""

    permissions: list[Permission]
    name: str | None = None


class ApiKeyResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ApiKeyResponseDto."""

    id: str
    name: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class ApiKeyCreateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ApiKeyCreateResponseDto; ``secret`` is shown this once only."""

    api_key: ApiKeyResponse
    secret: str


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

    @post("/", status_code=201)
    async def create_api_key(
        self, data: ApiKeyCreate, auth: Auth, deps: Deps
    ) -> ApiKeyCreateResponse:
        """Create an API key; a key may only grant permissions its creator holds."""
        auth.require("apiKey.create")
        if not data.permissions:
            raise BadRequest("permissions should not be empty")
        if auth.api_key is not None and "all" not in auth.api_key.permissions:
            extra = set(data.permissions) - set(auth.api_key.permissions)
            if extra:
                raise Forbidden(f"Cannot grant permissions you do not have: {sorted(extra)}")
        secret = new_secret()
        key = await users.create_api_key(
            deps.pool,
            owner_id=auth.user.id,
            name=data.name or "API Key",
            key_hash=hash_secret(secret),
            permissions=sorted(set(data.permissions)),
        )
        return ApiKeyCreateResponse(api_key=_response(key), secret=secret)

    @get("/me")
    async def get_my_api_key(self, auth: Auth) -> ApiKeyResponse:
        """The API key the caller authenticated with (403 for a session: there is none)."""
        if auth.api_key is None:
            raise Forbidden("Not authenticated with an API key")
        return _response(auth.api_key)


ALL_PERMISSIONS: frozenset[str] = frozenset(get_args(Permission))


ROUTES = [ApiKeyController]
