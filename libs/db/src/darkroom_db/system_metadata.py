"""Repository: system metadata (one JSON document per key) and users' licence keys.

Keys are Immich's SystemMetadataKey names where Immich has one (``admin-onboarding``,
``license``, ``version-check-state``) and Darkroom's own otherwise (``component-versions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
import msgspec

Conn: TypeAlias = asyncpg.Pool | asyncpg.Connection

#: ``{"isOnboarded": bool}``: whether the admin finished the web app's first-run onboarding.
ADMIN_ONBOARDING = "admin-onboarding"
#: ``{"licenseKey", "activationKey", "activatedAt"}``: the server licence, stored as given.
LICENSE = "license"
#: ``{"checkedAt", "releaseVersion"}``: the last release check (Darkroom never checks).
VERSION_CHECK_STATE = "version-check-state"
#: ``{"mapEnabled": bool}``: Darkroom's privacy settings (admin onboarding's privacy step).
PRIVACY = "darkroom-privacy"
#: ``{component: version}``: library versions the services report at start-up.
COMPONENT_VERSIONS = "component-versions"
#: ``{queue name: {"isPaused": bool, "pendingStart": {"force": bool}}}``: the state of the
#: Immich queues no Darkroom consumer runs (the gateway's jobs API keeps it).
QUEUE_STATE = "darkroom-queue-state"


class License(msgspec.Struct, frozen=True, kw_only=True):
    """A stored licence key (server or user)."""

    license_key: str
    activation_key: str
    activated_at: datetime


def _decode(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


async def get(conn: Conn, key: str) -> dict[str, Any] | None:
    """The document stored under ``key``, or None."""
    value = await conn.fetchval("SELECT value FROM system_metadata WHERE key = $1", key)
    return None if value is None else _decode(value)


async def put(conn: Conn, key: str, value: dict[str, Any]) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    await conn.execute(
        "INSERT INTO system_metadata (key, value) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        json.dumps(value),
    )


async def merge(conn: Conn, key: str, patch: dict[str, Any]) -> None:
    """Merge ``patch``'s top-level members into the document under ``key`` (atomic upsert)."""
    await conn.execute(
        "INSERT INTO system_metadata (key, value) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (key) DO UPDATE SET value = system_metadata.value || EXCLUDED.value, "
        "updated_at = now()",
        key,
        json.dumps(patch),
    )


async def update_member(
    pool: asyncpg.Pool,
    key: str,
    member: str,
    change: Callable[[dict[str, Any] | None], dict[str, Any] | None],
) -> dict[str, Any] | None:
    """Replace member ``member`` of the document under ``key`` with ``change(old member)``
    (None removes it), in one transaction holding the row's lock: concurrent callers, in this
    process or another, see each other's change.

    Returns:
        The member as it was (None when absent).
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO system_metadata (key, value) VALUES ($1, '{}'::jsonb) "
            "ON CONFLICT (key) DO NOTHING",
            key,
        )
        value = await conn.fetchval(
            "SELECT value FROM system_metadata WHERE key = $1 FOR UPDATE", key
        )
        document = _decode(value)
        old = document.get(member)
        new = change(old)
        if new is None:
            document.pop(member, None)
        else:
            document[member] = new
        await conn.execute(
            "UPDATE system_metadata SET value = $2::jsonb, updated_at = now() WHERE key = $1",
            key,
            json.dumps(document),
        )
        return old


async def delete(conn: Conn, key: str) -> bool:
    """Remove ``key``; True if it was there."""
    status = await conn.execute("DELETE FROM system_metadata WHERE key = $1", key)
    return status != "DELETE 0"


async def get_server_license(conn: Conn) -> License | None:
    """The stored server licence, or None."""
    stored = await get(conn, LICENSE)
    if stored is None:
        return None
    return License(
        license_key=stored["licenseKey"],
        activation_key=stored["activationKey"],
        activated_at=datetime.fromisoformat(stored["activatedAt"]),
    )


async def set_server_license(conn: Conn, license_key: str, activation_key: str) -> License:
    """Store the server licence (activated now); returns it."""
    activated_at = await conn.fetchval("SELECT now()")
    value = {
        "licenseKey": license_key,
        "activationKey": activation_key,
        "activatedAt": activated_at.isoformat(),
    }
    await put(conn, LICENSE, value)
    return License(
        license_key=license_key, activation_key=activation_key, activated_at=activated_at
    )


async def get_user_license(conn: Conn, user_id: uuid.UUID) -> License | None:
    """``user_id``'s stored licence, or None."""
    row = await conn.fetchrow(
        "SELECT license_key, activation_key, activated_at FROM user_licenses WHERE user_id = $1",
        user_id,
    )
    return None if row is None else License(**dict(row))


async def set_user_license(
    conn: Conn, user_id: uuid.UUID, license_key: str, activation_key: str
) -> License:
    """Store ``user_id``'s licence (activated now, replacing any); returns it."""
    row = await conn.fetchrow(
        "INSERT INTO user_licenses (user_id, license_key, activation_key) VALUES ($1, $2, $3) "
        "ON CONFLICT (user_id) DO UPDATE SET license_key = EXCLUDED.license_key, "
        "activation_key = EXCLUDED.activation_key, activated_at = now() "
        "RETURNING license_key, activation_key, activated_at",
        user_id,
        license_key,
        activation_key,
    )
    assert row is not None
    return License(**dict(row))


async def user_licenses(conn: Conn, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, License]:
    """The stored licences of ``user_ids`` (those who have one), by user id; one query."""
    rows = await conn.fetch(
        "SELECT user_id, license_key, activation_key, activated_at FROM user_licenses "
        "WHERE user_id = ANY($1::uuid[])",
        list(user_ids),
    )
    return {
        r["user_id"]: License(**{k: v for k, v in dict(r).items() if k != "user_id"}) for r in rows
    }


async def delete_user_license(conn: Conn, user_id: uuid.UUID) -> bool:
    """Remove ``user_id``'s licence; True if there was one."""
    status = await conn.execute("DELETE FROM user_licenses WHERE user_id = $1", user_id)
    return status != "DELETE 0"


async def database_versions(conn: Conn) -> tuple[str, str | None]:
    """(PostgreSQL server version, pgvector extension version or None)."""
    server = await conn.fetchval("SHOW server_version")
    vector = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    return str(server), vector
