"""Repository: users, API keys and sessions.

Secrets (API keys, session tokens) are stored only as SHA-256 hex digests; callers hash the
token the client presents and look the hash up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

# Any number; taken by admin sign-up so that two concurrent sign-ups cannot both be "first".
_FIRST_USER_LOCK = 0x6461726B


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``users``."""

    id: uuid.UUID
    email: str
    name: str
    password_hash: str
    is_admin: bool
    should_change_password: bool
    avatar_color: str | None
    profile_image_path: str
    profile_changed_at: datetime
    storage_label: str | None
    quota_size_in_bytes: int | None
    quota_usage_in_bytes: int
    oauth_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``api_keys`` (without the hash)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``sessions`` (without the hash)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    device_type: str
    device_os: str
    app_version: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


_USER_COLS = (
    "id, email, name, password_hash, is_admin, should_change_password, avatar_color, "
    "profile_image_path, profile_changed_at, storage_label, quota_size_in_bytes, "
    "quota_usage_in_bytes, oauth_id, status, created_at, updated_at, deleted_at"
)
_KEY_COLS = "id, owner_id, name, permissions, created_at, updated_at"
_SESSION_COLS = (
    "id, owner_id, device_type, device_os, app_version, created_at, updated_at, expires_at"
)


def _user(row: asyncpg.Record | None) -> User | None:
    return None if row is None else User(**dict(row))


class AlreadyInitialised(Exception):
    """Admin sign-up was asked for but a user already exists."""


async def create_first_admin(
    pool: asyncpg.Pool, *, email: str, name: str, password_hash: str
) -> User:
    """Create the first user as admin (Immich's admin sign-up), atomically.

    Raises:
        AlreadyInitialised: Some user exists already.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _FIRST_USER_LOCK)
        if await conn.fetchval("SELECT count(*) FROM users") > 0:
            raise AlreadyInitialised("The server already has an admin")
        row = await conn.fetchrow(
            f"INSERT INTO users (id, email, name, password_hash, is_admin) "
            f"VALUES ($1, $2, $3, $4, true) RETURNING {_USER_COLS}",
            uuid.uuid4(),
            email,
            name,
            password_hash,
        )
    user = _user(row)
    assert user is not None
    return user


async def create_user(
    pool: asyncpg.Pool,
    *,
    email: str,
    name: str,
    password_hash: str,
    is_admin: bool = False,
    should_change_password: bool = False,
    quota_size_in_bytes: int | None = None,
) -> User:
    """Insert a user.

    Raises:
        asyncpg.UniqueViolationError: The e-mail is taken (case-insensitively).
    """
    row = await pool.fetchrow(
        f"INSERT INTO users (id, email, name, password_hash, is_admin, should_change_password, "
        f"quota_size_in_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_USER_COLS}",
        uuid.uuid4(),
        email,
        name,
        password_hash,
        is_admin,
        should_change_password,
        quota_size_in_bytes,
    )
    user = _user(row)
    assert user is not None
    return user


async def count_users(pool: asyncpg.Pool) -> int:
    """Number of users that are not deleted."""
    return int(await pool.fetchval("SELECT count(*) FROM users WHERE deleted_at IS NULL"))


async def get_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> User | None:
    """The user with ``user_id``, or None."""
    return _user(await pool.fetchrow(f"SELECT {_USER_COLS} FROM users WHERE id = $1", user_id))


async def get_user_by_email(pool: asyncpg.Pool, email: str) -> User | None:
    """The (not deleted) user with this e-mail, case-insensitively, or None."""
    return _user(
        await pool.fetchrow(
            f"SELECT {_USER_COLS} FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL",
            email,
        )
    )


async def create_api_key(
    pool: asyncpg.Pool, *, owner_id: uuid.UUID, name: str, key_hash: str, permissions: list[str]
) -> ApiKey:
    """Store a new API key (its hash only) for ``owner_id``."""
    row = await pool.fetchrow(
        f"INSERT INTO api_keys (id, owner_id, name, key_hash, permissions) "
        f"VALUES ($1, $2, $3, $4, $5) RETURNING {_KEY_COLS}",
        uuid.uuid4(),
        owner_id,
        name,
        key_hash,
        permissions,
    )
    return ApiKey(**dict(row))


async def authenticate_api_key(pool: asyncpg.Pool, key_hash: str) -> tuple[User, ApiKey] | None:
    """The active user and key whose hash is ``key_hash``, or None."""
    row = await pool.fetchrow(
        "SELECT k.id AS k_id, k.name AS k_name, k.permissions, k.created_at AS k_created, "
        "k.updated_at AS k_updated, u.* FROM api_keys k JOIN users u ON u.id = k.owner_id "
        "WHERE k.key_hash = $1 AND u.deleted_at IS NULL",
        key_hash,
    )
    if row is None:
        return None
    data = dict(row)
    key = ApiKey(
        id=data.pop("k_id"),
        owner_id=data["id"],
        name=data.pop("k_name"),
        permissions=list(data.pop("permissions")),
        created_at=data.pop("k_created"),
        updated_at=data.pop("k_updated"),
    )
    return User(**data), key


async def create_session(
    pool: asyncpg.Pool,
    *,
    owner_id: uuid.UUID,
    token_hash: str,
    device_type: str = "",
    device_os: str = "",
    app_version: str | None = None,
) -> Session:
    """Store a login session (its token's hash only)."""
    row = await pool.fetchrow(
        f"INSERT INTO sessions (id, owner_id, token_hash, device_type, device_os, app_version) "
        f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_SESSION_COLS}",
        uuid.uuid4(),
        owner_id,
        token_hash,
        device_type,
        device_os,
        app_version,
    )
    return Session(**dict(row))


async def authenticate_session(pool: asyncpg.Pool, token_hash: str) -> tuple[User, Session] | None:
    """The active user and unexpired session whose token hash is ``token_hash``, or None."""
    row = await pool.fetchrow(
        "SELECT s.id AS s_id, s.device_type, s.device_os, s.app_version, "
        "s.created_at AS s_created, s.updated_at AS s_updated, s.expires_at, u.* "
        "FROM sessions s JOIN users u ON u.id = s.owner_id "
        "WHERE s.token_hash = $1 AND u.deleted_at IS NULL "
        "AND (s.expires_at IS NULL OR s.expires_at > now())",
        token_hash,
    )
    if row is None:
        return None
    data = dict(row)
    session = Session(
        id=data.pop("s_id"),
        owner_id=data["id"],
        device_type=data.pop("device_type"),
        device_os=data.pop("device_os"),
        app_version=data.pop("app_version"),
        created_at=data.pop("s_created"),
        updated_at=data.pop("s_updated"),
        expires_at=data.pop("expires_at"),
    )
    return User(**data), session


async def delete_session(pool: asyncpg.Pool, *, owner_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """Delete one of ``owner_id``'s sessions; True when it existed."""
    result = await pool.execute(
        "DELETE FROM sessions WHERE id = $1 AND owner_id = $2", session_id, owner_id
    )
    return bool(result.endswith(" 1"))
