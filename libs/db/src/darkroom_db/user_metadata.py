"""Repository: per-user metadata objects (spec: UserMetadataKey ``preferences``, ``license``,
``onboarding``), table ``user_metadata`` (migration ``0012_sync_people_faces_meta.sql``).

Each (user, key) holds one JSON object. The mobile sync stream sends them as ``UserMetadataV1``
lines and their removal as ``UserMetadataDeleteV1`` (triggers keep the positions and the
deletion audit, whoever writes). Shapes, as Immich stores them:

* ``preferences``: the sparse UserPreferences a user changed (the gateway fills the defaults);
* ``license``: ``{"licenseKey", "activationKey", "activatedAt"}``;
* ``onboarding``: ``{"isOnboarded": bool}``, mirrored from ``users.is_onboarded`` by a trigger.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import asyncpg
import msgspec

#: Spec: UserMetadataKey.
Key = Literal["preferences", "license", "onboarding"]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``: nested objects merge, other values replace."""
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        out[key] = (
            _merge(current, value)
            if isinstance(value, dict) and isinstance(current, dict)
            else value
        )
    return out


async def get(pool: asyncpg.Pool, user_id: uuid.UUID, key: Key) -> dict[str, Any] | None:
    """The stored object of ``key`` for ``user_id``, or None when there is none."""
    raw = await pool.fetchval(
        "SELECT value::text FROM user_metadata WHERE user_id = $1 AND key = $2", user_id, key
    )
    return None if raw is None else dict(msgspec.json.decode(raw))


async def get_all(pool: asyncpg.Pool, user_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Every stored object of ``user_id``, by key."""
    rows = await pool.fetch(
        "SELECT key, value::text AS value FROM user_metadata WHERE user_id = $1", user_id
    )
    return {r["key"]: dict(msgspec.json.decode(r["value"])) for r in rows}


async def put(
    pool: asyncpg.Pool, user_id: uuid.UUID, key: Key, value: dict[str, Any]
) -> dict[str, Any]:
    """Store ``value`` as the object of ``key`` (replacing it).

    Returns:
        ``value``.

    Raises:
        asyncpg.ForeignKeyViolationError: No such user.
    """
    await pool.execute(
        "INSERT INTO user_metadata (user_id, key, value) VALUES ($1, $2, $3::jsonb) "
        "ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() "
        "WHERE user_metadata.value IS DISTINCT FROM EXCLUDED.value",
        user_id,
        key,
        msgspec.json.encode(value).decode(),
    )
    return value


async def merge(
    pool: asyncpg.Pool, user_id: uuid.UUID, key: Key, patch: dict[str, Any]
) -> dict[str, Any] | None:
    """Deep-merge ``patch`` into the object of ``key`` (an empty one when absent), atomically.

    Returns:
        The object after the merge, or None when there is no such user.
    """
    async with pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval("SELECT true FROM users WHERE id = $1 FOR UPDATE", user_id)
        if not exists:
            return None
        raw = await conn.fetchval(
            "SELECT value::text FROM user_metadata WHERE user_id = $1 AND key = $2",
            user_id,
            key,
        )
        merged = _merge({} if raw is None else dict(msgspec.json.decode(raw)), patch)
        await conn.execute(
            "INSERT INTO user_metadata (user_id, key, value) VALUES ($1, $2, $3::jsonb) "
            "ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() "
            "WHERE user_metadata.value IS DISTINCT FROM EXCLUDED.value",
            user_id,
            key,
            msgspec.json.encode(merged).decode(),
        )
    return merged


async def delete(pool: asyncpg.Pool, user_id: uuid.UUID, key: Key) -> bool:
    """Remove the object of ``key``; whether there was one."""
    status = await pool.execute(
        "DELETE FROM user_metadata WHERE user_id = $1 AND key = $2", user_id, key
    )
    return bool(status != "DELETE 0")
