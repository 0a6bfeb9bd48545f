"""OAuth/OIDC sign-in: pending authorizations, accounts by OAuth subject, OAuth sessions.

Tables of migration ``0029_oauth.sql``: ``oauth_authorizations`` (one row per started
authorization, taken out once by its callback) plus ``users.oauth_id`` (unique when set) and
``sessions.oauth_sid``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import msgspec

from darkroom_db.users import _USER_COLS, User


class Authorization(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway kept of an authorization it started (a row of
    ``oauth_authorizations``)."""

    nonce: str
    #: The PKCE verifier the gateway made, or None when the client brought its own challenge.
    code_verifier: str | None


async def save_authorization(
    pool: asyncpg.Pool,
    *,
    state_hash: str,
    nonce: str,
    code_verifier: str | None,
    ttl: timedelta,
) -> None:
    """Remember a started authorization until its callback, or until ``ttl`` passed; rows
    already expired are removed on the way (the table stays small without a sweeper).

    Args:
        pool: Database.
        state_hash: SHA-256 hex of the OAuth ``state``.
        nonce: The OpenID Connect nonce sent in the authorization request.
        code_verifier: The PKCE verifier the gateway made; None when the client sent the
            challenge (it keeps the verifier).
        ttl: How long the callback may take.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM oauth_authorizations WHERE expires_at <= now()")
        await conn.execute(
            "INSERT INTO oauth_authorizations (state_hash, nonce, code_verifier, expires_at) "
            "VALUES ($1, $2, $3, now() + $4) ON CONFLICT (state_hash) DO UPDATE SET "
            "nonce = EXCLUDED.nonce, code_verifier = EXCLUDED.code_verifier, "
            "created_at = now(), expires_at = EXCLUDED.expires_at",
            state_hash,
            nonce,
            code_verifier,
            ttl,
        )


async def take_authorization(pool: asyncpg.Pool, state_hash: str) -> Authorization | None:
    """Take out the unexpired authorization of a state: once only (atomic DELETE), so a
    replayed callback, here or on another replica, finds nothing.

    Args:
        pool: Database.
        state_hash: SHA-256 hex of the OAuth ``state``.

    Returns:
        The authorization, or None when the state is unknown, used or expired.
    """
    row = await pool.fetchrow(
        "DELETE FROM oauth_authorizations WHERE state_hash = $1 RETURNING nonce, code_verifier, "
        "expires_at > now() AS live",
        state_hash,
    )
    if row is None or not row["live"]:
        return None
    return Authorization(nonce=row["nonce"], code_verifier=row["code_verifier"])


async def get_user_by_oauth_id(pool: asyncpg.Pool, oauth_id: str) -> User | None:
    """The (not deleted) user linked to OAuth subject ``oauth_id``, or None."""
    if not oauth_id:
        return None
    row = await pool.fetchrow(
        f"SELECT {_USER_COLS} FROM users WHERE oauth_id = $1 AND deleted_at IS NULL", oauth_id
    )
    return None if row is None else User(**dict(row))


async def set_oauth_id(pool: asyncpg.Pool, user_id: uuid.UUID, oauth_id: str) -> User | None:
    """Link a user to an OAuth subject (``""`` unlinks).

    Returns:
        The updated user, or None when there is no such user.

    Raises:
        asyncpg.UniqueViolationError: Another user is linked to ``oauth_id``.
    """
    row = await pool.fetchrow(
        f"UPDATE users SET oauth_id = $2, updated_at = now() WHERE id = $1 RETURNING {_USER_COLS}",
        user_id,
        oauth_id,
    )
    return None if row is None else User(**dict(row))


async def create_oauth_user(
    pool: asyncpg.Pool,
    *,
    email: str,
    name: str,
    oauth_id: str,
    is_admin: bool,
    quota_size_in_bytes: int | None,
    storage_label: str | None,
) -> User:
    """Register a user who signs in through OAuth (no password).

    Raises:
        asyncpg.UniqueViolationError: The e-mail, storage label or OAuth subject is taken.
    """
    row = await pool.fetchrow(
        f"INSERT INTO users (id, email, name, oauth_id, is_admin, quota_size_in_bytes, "
        f"storage_label) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_USER_COLS}",
        uuid.uuid4(),
        email,
        name,
        oauth_id,
        is_admin,
        quota_size_in_bytes,
        storage_label,
    )
    return User(**dict(row))


async def set_session_oauth_sid(pool: asyncpg.Pool, session_id: uuid.UUID, sid: str) -> None:
    """Record the provider's session id (ID token ``sid``) of a session started by OAuth."""
    await pool.execute("UPDATE sessions SET oauth_sid = $2 WHERE id = $1", session_id, sid)


async def delete_oauth_sessions(
    pool: asyncpg.Pool, *, owner_id: uuid.UUID | None, sid: str | None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """End the sessions a back-channel logout names: those started in provider session
    ``sid`` (of ``owner_id`` when given), or, without ``sid``, every session of ``owner_id``.

    Args:
        pool: Database.
        owner_id: The user the logout token's ``sub`` is linked to; None when it has no
            ``sub`` (then ``sid`` alone decides).
        sid: The logout token's ``sid``, or None.

    Returns:
        (owner id, session id) of each session deleted.
    """
    if sid:
        rows = await pool.fetch(
            "DELETE FROM sessions WHERE oauth_sid = $2 AND ($1::uuid IS NULL OR owner_id = $1) "
            "RETURNING owner_id, id",
            owner_id,
            sid,
        )
    elif owner_id is not None:
        rows = await pool.fetch(
            "DELETE FROM sessions WHERE owner_id = $1 RETURNING owner_id, id", owner_id
        )
    else:
        return []
    return [(r["owner_id"], r["id"]) for r in rows]


async def unlink_all(pool: asyncpg.Pool) -> int:
    """Unlink every user from their OAuth subject (Immich's ``unlinkAll``); signing in by
    password stays. Returns how many users were linked."""
    done = await pool.execute(
        "UPDATE users SET oauth_id = '', updated_at = now() WHERE oauth_id <> ''"
    )
    return int(done.split()[-1])
