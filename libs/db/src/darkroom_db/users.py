"""Repository: users, API keys and sessions.

Secrets (API keys, session tokens) are stored only as SHA-256 hex digests; callers hash the
token the client presents and look the hash up.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import msgspec

from darkroom_db import user_metadata

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
    is_onboarded: bool = False


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
    is_pending_sync_reset: bool = False
    #: Until when the session is unlocked with the user's PIN code (None: locked).
    pin_expires_at: datetime | None = None


_USER_COLS = (
    "id, email, name, password_hash, is_admin, should_change_password, avatar_color, "
    "profile_image_path, profile_changed_at, storage_label, quota_size_in_bytes, "
    "quota_usage_in_bytes, oauth_id, status, created_at, updated_at, deleted_at, is_onboarded"
)
#: The user columns prefixed with ``u.``, for joins.
_U_COLS = ", ".join(f"u.{c.strip()}" for c in _USER_COLS.split(","))
_KEY_COLS = "id, owner_id, name, permissions, created_at, updated_at"
_SESSION_COLS = (
    "id, owner_id, device_type, device_os, app_version, created_at, updated_at, expires_at, "
    "is_pending_sync_reset, pin_expires_at"
)


def _user(row: asyncpg.Record | None) -> User | None:
    return None if row is None else User(**dict(row))


class AlreadyInitialised(Exception):
    """Admin sign-up was asked for but a user already exists."""


async def create_first_admin(
    pool: asyncpg.Pool, *, email: str, name: str, password_hash: str
) -> User:
    """Create the first user as admin (Immich's admin sign-up), atomically, with the storage
    label ``admin`` as Immich's ``adminSignUp`` gives it, and ``should_change_password`` set, as
    Immich leaves it at its column default (true; its e2e ``signupResponseDto.admin``). Immich's
    web and mobile clients, and ours, only send a non-admin to the change-password page.

    Raises:
        AlreadyInitialised: Some user exists already.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _FIRST_USER_LOCK)
        if await conn.fetchval("SELECT count(*) FROM users") > 0:
            raise AlreadyInitialised("The server already has an admin")
        row = await conn.fetchrow(
            f"INSERT INTO users (id, email, name, password_hash, is_admin, storage_label, "
            f"should_change_password) VALUES ($1, $2, $3, $4, true, 'admin', true) "
            f"RETURNING {_USER_COLS}",
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
        f"k.updated_at AS k_updated, {_U_COLS} FROM api_keys k JOIN users u ON u.id = k.owner_id "
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
    expires_at: datetime | None = None,
    parent_id: uuid.UUID | None = None,
) -> Session:
    """Store a login session (its token's hash only).

    Args:
        pool: Database.
        owner_id: The user.
        token_hash: SHA-256 hex of the session token.
        device_type: Client description (e.g. the User-Agent).
        device_os: Client operating system.
        app_version: Client app version, when known.
        expires_at: When the session stops working; None for never.
        parent_id: The session that created this one (it ends with its parent).
    """
    row = await pool.fetchrow(
        f"INSERT INTO sessions (id, owner_id, token_hash, device_type, device_os, app_version, "
        f"expires_at, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        f"RETURNING {_SESSION_COLS}",
        uuid.uuid4(),
        owner_id,
        token_hash,
        device_type,
        device_os,
        app_version,
        expires_at,
        parent_id,
    )
    return Session(**dict(row))


async def authenticate_session(pool: asyncpg.Pool, token_hash: str) -> tuple[User, Session] | None:
    """The active user and unexpired session whose token hash is ``token_hash``, or None."""
    row = await pool.fetchrow(
        "SELECT s.id AS s_id, s.device_type, s.device_os, s.app_version, "
        "s.created_at AS s_created, s.updated_at AS s_updated, s.expires_at, "
        f"s.is_pending_sync_reset, s.pin_expires_at, {_U_COLS} "
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
        is_pending_sync_reset=data.pop("is_pending_sync_reset"),
        pin_expires_at=data.pop("pin_expires_at"),
    )
    return User(**data), session


async def delete_session(pool: asyncpg.Pool, *, owner_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """Delete one of ``owner_id``'s sessions; True when it existed."""
    result = await pool.execute(
        "DELETE FROM sessions WHERE id = $1 AND owner_id = $2", session_id, owner_id
    )
    return bool(result.endswith(" 1"))


# --- users: listing, updates, deletion --------------------------------------------------------

#: Columns an update may set (the keys of ``changes`` in :func:`update_user`).
UPDATABLE_USER_COLUMNS = frozenset(
    {
        "email",
        "name",
        "password_hash",
        "is_admin",
        "should_change_password",
        "avatar_color",
        "storage_label",
        "quota_size_in_bytes",
        "is_onboarded",
    }
)


async def list_users(
    pool: asyncpg.Pool, *, with_deleted: bool = False, user_id: uuid.UUID | None = None
) -> list[User]:
    """Users, oldest first.

    Args:
        pool: Database.
        with_deleted: Include soft-deleted users.
        user_id: Only this user (an empty list when it does not exist or is filtered out).
    """
    rows = await pool.fetch(
        f"SELECT {_USER_COLS} FROM users WHERE ($1 OR deleted_at IS NULL) "
        f"AND ($2::uuid IS NULL OR id = $2) ORDER BY created_at, id",
        with_deleted,
        user_id,
    )
    return [User(**dict(r)) for r in rows]


async def update_user(
    pool: asyncpg.Pool, user_id: uuid.UUID, changes: dict[str, object]
) -> User | None:
    """Set some columns of a user (and ``updated_at``); a changed avatar or name also bumps
    ``profile_changed_at``.

    Args:
        pool: Database.
        user_id: The user.
        changes: Column -> new value; keys must be in :data:`UPDATABLE_USER_COLUMNS`.

    Returns:
        The updated user, or None when there is no such user.

    Raises:
        ValueError: A key is not an updatable column.
        asyncpg.UniqueViolationError: The new e-mail is taken.
    """
    bad = set(changes) - UPDATABLE_USER_COLUMNS
    if bad:
        raise ValueError(f"not updatable: {sorted(bad)}")
    sets = [f"{col} = ${i}" for i, col in enumerate(changes, start=2)]
    if "avatar_color" in changes:
        sets.append("profile_changed_at = now()")
    sets.append("updated_at = now()")
    row = await pool.fetchrow(
        f"UPDATE users SET {', '.join(sets)} WHERE id = $1 RETURNING {_USER_COLS}",
        user_id,
        *changes.values(),
    )
    return _user(row)


async def soft_delete_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> User | None:
    """Mark a user deleted (``deleted_at``, status ``deleted``) and end their sessions. Their
    assets and keys stay until a permanent delete; they can be restored.

    No ``user_audit`` row: the sync stream sends the user as a ``UserV1`` carrying
    ``deletedAt`` (the update moves its position), and ``UserDeleteV1`` only when
    :func:`hard_delete_user` removes the row, as Immich (its ``user_audit`` is written by an
    ``AFTER DELETE`` trigger on ``user``, server/src/schema/functions.ts).

    Returns:
        The user as now stored, or None when there is no such user.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"UPDATE users SET deleted_at = COALESCE(deleted_at, now()), status = 'deleted', "
            f"updated_at = now() WHERE id = $1 RETURNING {_USER_COLS}",
            user_id,
        )
        if row is None:
            return None
        await conn.execute("DELETE FROM sessions WHERE owner_id = $1", user_id)
    return _user(row)


class RemovedUser(msgspec.Struct, frozen=True, kw_only=True):
    """What a permanent user deletion removed, for the caller to finish and announce.

    Attributes:
        user: The user as it was.
        keys: Storage keys of what was left of theirs: originals that are not external,
            sidecars and derived files of assets still there, the profile image, the
            thumbnails of their people.
        shared_links: Their shared links as (id, type, album id or None).
        partners: Partner sharings they were in, as (shared by, shared with) user ids.
    """

    user: User
    keys: list[str]
    shared_links: list[tuple[uuid.UUID, str, uuid.UUID | None]]
    partners: list[tuple[uuid.UUID, uuid.UUID]]


async def hard_delete_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> RemovedUser | None:
    """Delete a user for good with everything they own (rows cascade: assets, people and faces,
    albums, tags, shared links, partners, keys, sessions) and write ``user_audit``.

    The caller deletes their assets first through the asset deletion path (which publishes
    ``asset.deleted`` per asset); what is still there is removed here all the same.

    Returns:
        What was removed (:class:`RemovedUser`); None when there is no such user.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_USER_COLS} FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        if row is None:
            return None
        keys: list[str] = [
            r["key"]
            for r in await conn.fetch(
                "SELECT original_path AS key FROM assets WHERE owner_id = $1 AND NOT is_external "
                "UNION SELECT sidecar_path FROM assets WHERE owner_id = $1 "
                "AND sidecar_path IS NOT NULL AND NOT is_external "
                "UNION SELECT path FROM asset_files WHERE owner_id = $1 "
                "UNION SELECT thumbnail_path FROM people WHERE owner_id = $1 "
                "AND thumbnail_path <> ''",
                user_id,
            )
        ]
        if row["profile_image_path"]:
            keys.append(row["profile_image_path"])
        links = [
            (r["id"], r["type"], r["album_id"])
            for r in await conn.fetch(
                "SELECT id, type, album_id FROM shared_links WHERE owner_id = $1", user_id
            )
        ]
        partners = [
            (r["shared_by_id"], r["shared_with_id"])
            for r in await conn.fetch(
                "SELECT shared_by_id, shared_with_id FROM partners "
                "WHERE shared_by_id = $1 OR shared_with_id = $1",
                user_id,
            )
        ]
        await conn.execute("DELETE FROM users WHERE id = $1", user_id)
        await conn.execute("INSERT INTO user_audit (user_id) VALUES ($1)", user_id)
    user = _user(row)
    assert user is not None
    return RemovedUser(user=user, keys=keys, shared_links=links, partners=partners)


async def deleted_user_ids(
    pool: asyncpg.Pool, older_than: timedelta, *, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` ids of users soft-deleted more than ``older_than`` ago, oldest first."""
    rows = await pool.fetch(
        "SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < now() - $1::interval "
        "ORDER BY deleted_at, id LIMIT $2",
        older_than,
        limit,
    )
    return [r["id"] for r in rows]


async def storage_label_taken(
    pool: asyncpg.Pool, storage_label: str, *, except_id: uuid.UUID | None = None
) -> bool:
    """Whether another user (deleted ones included) has ``storage_label``."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM users WHERE storage_label = $1 "
            "AND id IS DISTINCT FROM $2)",
            storage_label,
            except_id,
        )
    )


async def restore_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> User | None:
    """Undo a soft delete. Returns the user, or None when there is no such user."""
    return _user(
        await pool.fetchrow(
            f"UPDATE users SET deleted_at = NULL, status = 'active', updated_at = now() "
            f"WHERE id = $1 RETURNING {_USER_COLS}",
            user_id,
        )
    )


async def set_profile_image(
    pool: asyncpg.Pool, user_id: uuid.UUID, path: str
) -> tuple[User, str] | None:
    """Point the user's profile image at storage key ``path`` ('' removes it).

    Returns:
        The updated user and the previous key ('' when there was none), or None for no user.
    """
    async with pool.acquire() as conn, conn.transaction():
        old = await conn.fetchval(
            "SELECT profile_image_path FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        if old is None:
            return None
        row = await conn.fetchrow(
            f"UPDATE users SET profile_image_path = $2, profile_changed_at = now(), "
            f"updated_at = now() WHERE id = $1 RETURNING {_USER_COLS}",
            user_id,
            path,
        )
    user = _user(row)
    assert user is not None
    return user, str(old)


async def set_password(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    password_hash: str,
    *,
    keep_session_id: uuid.UUID | None = None,
    end_sessions: bool = False,
) -> tuple[User, list[uuid.UUID]] | None:
    """Store a new password hash and clear ``should_change_password``.

    Args:
        pool: Database.
        user_id: The user.
        password_hash: bcrypt hash of the new password.
        keep_session_id: With ``end_sessions``: the one session to keep (the caller's).
        end_sessions: Delete the user's other sessions.

    Returns:
        The updated user and the ids of the sessions ended (to announce), or None when there
        is no such user.
    """
    ended: list[uuid.UUID] = []
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"UPDATE users SET password_hash = $2, should_change_password = false, "
            f"updated_at = now() WHERE id = $1 RETURNING {_USER_COLS}",
            user_id,
            password_hash,
        )
        if row is not None and end_sessions:
            gone = await conn.fetch(
                "DELETE FROM sessions WHERE owner_id = $1 AND id IS DISTINCT FROM $2 RETURNING id",
                user_id,
                keep_session_id,
            )
            ended = [r["id"] for r in gone]
    user = _user(row)
    return None if user is None else (user, ended)


# --- preferences ------------------------------------------------------------------------------


async def get_preferences(pool: asyncpg.Pool, user_id: uuid.UUID) -> dict[str, object] | None:
    """The user's stored (sparse) preferences (``user_metadata`` key ``preferences``), or None
    when there is no such user."""
    if not await pool.fetchval("SELECT true FROM users WHERE id = $1", user_id):
        return None
    return dict(await user_metadata.get(pool, user_id, "preferences") or {})


async def update_preferences(
    pool: asyncpg.Pool, user_id: uuid.UUID, patch: dict[str, object]
) -> dict[str, object] | None:
    """Deep-merge ``patch`` (nested dicts merge, other values replace) into the stored
    preferences, atomically (:func:`darkroom_db.user_metadata.merge`).

    Returns:
        The stored preferences after the merge, or None when there is no such user.
    """
    merged = await user_metadata.merge(pool, user_id, "preferences", dict(patch))
    return None if merged is None else dict(merged)


# --- quota and statistics ---------------------------------------------------------------------


async def get_quota(pool: asyncpg.Pool, user_id: uuid.UUID) -> tuple[int | None, int] | None:
    """(quota in bytes or None for unlimited, bytes used now), or None when no such user.

    Usage is ``users.quota_usage_in_bytes``, kept current by the ``assets_quota_usage`` trigger
    (migration 0002): the sum of ``file_size`` of the user's assets not permanently deleted.
    """
    row = await pool.fetchrow(
        "SELECT quota_size_in_bytes, quota_usage_in_bytes FROM users WHERE id = $1", user_id
    )
    return None if row is None else (row[0], int(row[1]))


async def sync_quota_usage(pool: asyncpg.Pool) -> int:
    """Recompute every user's ``quota_usage_in_bytes`` from their assets (Immich's nightly
    "sync quota usage"); one statement, writing only the users whose stored usage drifted.

    The trigger of migration 0002 keeps the usage current on every asset write; this repairs
    what a write outside it (a restore, a hand edit) left behind, with the same rule: the sum of
    ``file_size`` of the user's assets not permanently deleted.

    Returns:
        How many users' usage was corrected.
    """
    status = await pool.execute(
        "UPDATE users u SET quota_usage_in_bytes = s.usage FROM ("
        " SELECT u2.id, COALESCE(sum(a.file_size), 0) AS usage FROM users u2"
        " LEFT JOIN assets a ON a.owner_id = u2.id AND a.status <> 'deleted' GROUP BY u2.id"
        ") s WHERE s.id = u.id AND u.quota_usage_in_bytes IS DISTINCT FROM s.usage"
    )
    return int(status.split()[-1])


class UsageByUser(msgspec.Struct, frozen=True, kw_only=True):
    """Counts and bytes of one user's assets that are not permanently deleted."""

    user_id: uuid.UUID
    user_name: str
    quota_size_in_bytes: int | None
    photos: int
    videos: int
    usage: int
    usage_photos: int
    usage_videos: int


async def usage_by_user(pool: asyncpg.Pool) -> list[UsageByUser]:
    """Per-user asset counts and bytes (images / videos) for every user not deleted, oldest
    user first, as Immich's user repository ``getUserStats``: assets in the trash (or deleted
    for good) do not count; hidden ones (a live photo's motion part) add bytes but are not
    counted as photos or videos; an external library's files are counted but use no bytes
    (they are not in the server's storage)."""
    rows = await pool.fetch(
        "SELECT u.id AS user_id, u.name AS user_name, u.quota_size_in_bytes, "
        "count(a.id) FILTER (WHERE a.type = 'IMAGE' AND a.visibility <> 'hidden') AS photos, "
        "count(a.id) FILTER (WHERE a.type = 'VIDEO' AND a.visibility <> 'hidden') AS videos, "
        "COALESCE(sum(a.file_size) FILTER (WHERE a.library_id IS NULL), 0)::bigint AS usage, "
        "COALESCE(sum(a.file_size) FILTER (WHERE a.library_id IS NULL AND a.type = 'IMAGE'), 0)"
        "::bigint AS usage_photos, "
        "COALESCE(sum(a.file_size) FILTER (WHERE a.library_id IS NULL AND a.type = 'VIDEO'), 0)"
        "::bigint AS usage_videos "
        "FROM users u LEFT JOIN assets a ON a.owner_id = u.id AND a.status = 'active' "
        "WHERE u.deleted_at IS NULL GROUP BY u.id ORDER BY u.created_at, u.id"
    )
    return [UsageByUser(**dict(r)) for r in rows]


async def stored_bytes(pool: asyncpg.Pool) -> int:
    """Bytes of every stored object the database knows of: originals (not external) and
    derived files. What the S3 back end can tell of its disk use."""
    return int(
        await pool.fetchval(
            "SELECT COALESCE((SELECT sum(file_size) FROM assets WHERE NOT is_external), 0) "
            "+ COALESCE((SELECT sum(size) FROM asset_files), 0)"
        )
    )


async def first_user_created_at(pool: asyncpg.Pool) -> datetime | None:
    """When the first user signed up (the server's setup time), or None before that."""
    value = await pool.fetchval("SELECT min(created_at) FROM users")
    return value if isinstance(value, datetime) else None


# --- API keys ---------------------------------------------------------------------------------


async def list_api_keys(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[ApiKey]:
    """The owner's API keys, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_KEY_COLS} FROM api_keys WHERE owner_id = $1 ORDER BY created_at, id", owner_id
    )
    return [ApiKey(**dict(r)) for r in rows]


async def get_api_key(pool: asyncpg.Pool, owner_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    """One of the owner's API keys, or None (also when it is someone else's)."""
    row = await pool.fetchrow(
        f"SELECT {_KEY_COLS} FROM api_keys WHERE id = $1 AND owner_id = $2", key_id, owner_id
    )
    return None if row is None else ApiKey(**dict(row))


async def update_api_key(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    name: str | None = None,
    permissions: list[str] | None = None,
) -> ApiKey | None:
    """Rename and/or re-scope one of the owner's keys (None leaves a field as it is).

    Returns:
        The key, or None when the owner has no such key.
    """
    row = await pool.fetchrow(
        f"UPDATE api_keys SET name = COALESCE($3, name), permissions = COALESCE($4, permissions), "
        f"updated_at = now() WHERE id = $1 AND owner_id = $2 RETURNING {_KEY_COLS}",
        key_id,
        owner_id,
        name,
        permissions,
    )
    return None if row is None else ApiKey(**dict(row))


async def delete_api_key(pool: asyncpg.Pool, owner_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Delete one of the owner's keys; True when it existed."""
    result = await pool.execute(
        "DELETE FROM api_keys WHERE id = $1 AND owner_id = $2", key_id, owner_id
    )
    return bool(result.endswith(" 1"))


# --- sessions ---------------------------------------------------------------------------------


async def list_sessions(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[Session]:
    """The owner's unexpired sessions, most recently used first."""
    rows = await pool.fetch(
        f"SELECT {_SESSION_COLS} FROM sessions WHERE owner_id = $1 "
        f"AND (expires_at IS NULL OR expires_at > now()) ORDER BY updated_at DESC, id",
        owner_id,
    )
    return [Session(**dict(r)) for r in rows]


async def update_session(
    pool: asyncpg.Pool, owner_id: uuid.UUID, session_id: uuid.UUID, *, is_pending_sync_reset: bool
) -> Session | None:
    """Set a session's sync-reset flag. Returns it, or None when the owner has no such one."""
    row = await pool.fetchrow(
        f"UPDATE sessions SET is_pending_sync_reset = $3, updated_at = now() "
        f"WHERE id = $1 AND owner_id = $2 RETURNING {_SESSION_COLS}",
        session_id,
        owner_id,
        is_pending_sync_reset,
    )
    return None if row is None else Session(**dict(row))


async def delete_other_sessions(
    pool: asyncpg.Pool, owner_id: uuid.UUID, keep_id: uuid.UUID | None
) -> list[uuid.UUID]:
    """Delete every session of the owner except ``keep_id``; returns the ids of those that went
    (each is announced ended: the websocket signs its devices out)."""
    rows = await pool.fetch(
        "DELETE FROM sessions WHERE owner_id = $1 AND id IS DISTINCT FROM $2 RETURNING id",
        owner_id,
        keep_id,
    )
    return [r["id"] for r in rows]


# --- PIN code and session unlock (migration 0028) ---------------------------------------------


async def get_pin_code_hash(pool: asyncpg.Pool, user_id: uuid.UUID) -> str | None:
    """The bcrypt hash of the user's PIN code, or None when they have none (or no such user)."""
    value = await pool.fetchval("SELECT pin_code_hash FROM users WHERE id = $1", user_id)
    return None if value is None else str(value)


async def set_pin_code_hash(
    pool: asyncpg.Pool, user_id: uuid.UUID, pin_code_hash: str | None, *, lock_sessions: bool
) -> None:
    """Store (or with None, remove) the user's PIN code hash.

    Args:
        pool: Database.
        user_id: The user.
        pin_code_hash: bcrypt hash of the new PIN code, or None to remove it.
        lock_sessions: Also lock every session of the user (Immich's ``lockAll`` on a reset).
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE users SET pin_code_hash = $2, updated_at = now() WHERE id = $1",
            user_id,
            pin_code_hash,
        )
        if lock_sessions:
            await conn.execute(
                "UPDATE sessions SET pin_expires_at = NULL WHERE owner_id = $1", user_id
            )


async def set_session_pin_expiry(
    pool: asyncpg.Pool, session_id: uuid.UUID, expires_at: datetime | None
) -> None:
    """Unlock a session until ``expires_at``, or lock it (None)."""
    await pool.execute(
        "UPDATE sessions SET pin_expires_at = $2 WHERE id = $1", session_id, expires_at
    )


async def lock_session(pool: asyncpg.Pool, owner_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """Lock ``owner_id``'s session (end its PIN unlock; a locked one stays locked).

    Returns:
        False when the user has no such session.
    """
    row = await pool.fetchval(
        "UPDATE sessions SET pin_expires_at = NULL WHERE id = $1 AND owner_id = $2 RETURNING id",
        session_id,
        owner_id,
    )
    return row is not None


async def extend_session_pin(
    pool: asyncpg.Pool, session_id: uuid.UUID, at_least: timedelta
) -> datetime | None:
    """Keep an unlocked session unlocked for at least ``at_least`` from now (Immich extends an
    unlocked session that is used shortly before its unlock ends). A locked session stays locked.

    Returns:
        The new expiry, or None when the session is not unlocked (any more).
    """
    value = await pool.fetchval(
        "UPDATE sessions SET pin_expires_at = greatest(pin_expires_at, now() + $2::interval) "
        "WHERE id = $1 AND pin_expires_at > now() RETURNING pin_expires_at",
        session_id,
        at_least,
    )
    return value if isinstance(value, datetime) else None
