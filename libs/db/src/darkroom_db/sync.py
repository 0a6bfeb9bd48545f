"""Repository: change feeds for the mobile sync stream, and each session's sync checkpoints.

A *source* is one kind of sync line (a SyncEntityType such as ``AssetV1`` or ``AlbumDeleteV1``)
with the query that finds the caller's changes of that kind. Every change has a position
``(pos, key)``: ``pos`` is the id of the transaction that made it (migration ``0005_sync.sql``
explains why that, not a sequence) and ``key`` a text key of the row that breaks ties between
rows written by one transaction. :func:`changes` pages through a source in position order,
strictly after a checkpoint and strictly below the cut-off given by :func:`cutoff`.

Visibility (who gets which rows):

* ``AuthUserV1``: the caller's own user row. ``UserV1``/``UserDeleteV1``: every user of the
  server, as sharing pickers need them (one an admin soft-deleted with its ``deleted_at`` set,
  as Immich's ``UserSync.getUpserts`` selects deleted users too), and every user purged (the
  ``user_audit`` row of a permanent delete; Immich writes it in an ``AFTER DELETE`` trigger).
* ``AssetV1``/``AssetV2``/``AssetExifV1``/``AssetDeleteV1``: the caller's own assets only
  (trashed ones included, with ``deleted_at`` set; permanently deleted ones as deletions).
* Album sources: albums the caller owns or is a member of; their members (the owner among them,
  role ``owner``, as Immich 3.x's ``album_user``) and their assets. A row of an album the caller
  joined later is positioned at the join (``greatest`` of the row's and the membership's
  position), so joining an album sends its whole content once without a separate backfill
  pass. ``AlbumAssetCreateV1``/``AlbumAssetExifCreateV1`` are the assets (and
  EXIF) of such albums, the caller's own among them (as Immich's ``AlbumAssetSync``), with the
  favourite of the caller's own only (``is_favorite`` false for others': a favourite is its
  owner's, as Immich's; partner assets likewise).
* Partner sources (``0014_partners.sql``): ``PartnerV1``/``PartnerDeleteV1`` are the
  partnerships the caller is on either side of (a deletion only while both users exist: a
  purged user's go with their ``UserDeleteV1``, as Immich's). ``PartnerAssetV1`` /
  ``PartnerAssetExifV1`` / ``PartnerStackV1`` are the assets (EXIF, stacks) of the users who
  share with the caller, at their own positions, as Immich's upserts. What a partnership made
  after the caller's checkpoint of that upsert type would never send (rows at or below it) is
  sent once as ``PartnerAssetBackfillV1`` / ``PartnerAssetExifBackfillV1`` /
  ``PartnerStackBackfillV1``, positioned at the partnership's creation (``create_pos``; one made
  again later is back-filled again; a session with no such checkpoint gets no backfill, its
  upserts send everything). ``PartnerAssetDeleteV1`` is a sharer's asset deleted for good
  while shared, and every asset of a sharer when the partnership ends (positioned at its
  ``partner_audit`` row).
* Locked assets (visibility ``locked``, migration 0028): the owner's ``AssetV1`` carries them
  (Immich's app keeps its locked folder behind its own PIN prompt); partner and album sources
  never do, and a sharer's asset moved into the locked folder is a ``PartnerAssetDeleteV1``.
* Memory sources (``0018_memories.sql``): ``MemoryV1``/``MemoryDeleteV1`` and
  ``MemoryToAssetV1``/``MemoryToAssetDeleteV1`` are the caller's own memories and their asset
  links (a link that goes with its memory is told by the memory's deletion alone).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

# The albums the caller ($1) sees, with the position from which they see them: their own from the
# beginning, shared ones from the membership row's position.
_VISIBLE_ALBUMS = (
    "(SELECT id AS album_id, 0::bigint AS since FROM albums WHERE owner_id = $1 "
    "UNION ALL SELECT album_id, update_pos AS since FROM album_users WHERE user_id = $1)"
)

_USER_COLS = (
    "u.id, u.email, u.name, u.avatar_color, u.profile_image_path, u.profile_changed_at, "
    "u.deleted_at, u.is_admin, u.oauth_id, u.quota_size_in_bytes, u.quota_usage_in_bytes, "
    "u.storage_label"
)
# Every column of an asset line but its favourite (see below).
_ASSET_BASE_COLS = (
    "a.id, a.owner_id, a.type, a.visibility, a.original_file_name, a.checksum, "
    "a.file_created_at, a.file_modified_at, a.local_date_time, a.created_at, a.deleted_at, "
    "a.live_photo_video_id, a.duration_ms, a.thumbhash, a.width, a.height, "
    "a.stack_id, a.library_id, "
    "EXISTS (SELECT 1 FROM asset_edits ed WHERE ed.asset_id = a.id) AS is_edited"
)
_ASSET_COLS = f"{_ASSET_BASE_COLS}, a.is_favorite"
# Assets of other owners (a partner's, another member's in a shared album): a favourite is its
# owner's alone, so ``is_favorite`` is false, as Immich's sync.repository (PartnerAssetsSync
# selects ``false``, AlbumAssetSync the favourite only of the caller's own assets) and its REST
# ``mapAsset`` answer them.
_OTHERS_ASSET_COLS = f"{_ASSET_BASE_COLS}, false AS is_favorite"
# Album assets are every asset of the albums the caller sees, their own among them (Immich's
# ``AlbumAssetSync`` does not filter by owner): the favourite only of the caller's own.
_ALBUM_ASSET_COLS = f"{_ASSET_BASE_COLS}, a.is_favorite AND a.owner_id = $1 AS is_favorite"
_EXIF_COLS = (
    "e.asset_id, e.make, e.model, e.lens_model, e.exif_image_width, e.exif_image_height, "
    "e.file_size_in_byte, e.orientation, e.date_time_original, e.modify_date, e.time_zone, "
    "e.latitude, e.longitude, e.city, e.state, e.country, e.description, e.rating, "
    "e.projection_type, e.f_number, e.focal_length, e.iso, e.exposure_time, e.fps"
)
_ALBUM_COLS = (
    'al.id, al.owner_id, al.album_name, al.description, al.album_thumbnail_asset_id, al."order", '
    "al.is_activity_enabled, al.created_at, al.updated_at"
)
# Assets of other owners that the caller sees through albums, with the position from which they
# see each (the earliest album path that shows it).
_ALBUM_ASSET_PATHS = (
    "(SELECT aa.asset_id, min(greatest(aa.update_pos, v.since)) AS since "
    f"FROM album_assets aa JOIN {_VISIBLE_ALBUMS} v ON v.album_id = aa.album_id "
    "GROUP BY aa.asset_id)"
)
_AUDIT_KEY = "lpad(x.id::text, 20, '0')"
_STACK_COLS = "st.id, st.owner_id, st.primary_asset_id, st.created_at, st.updated_at"
# Assets of others in the locked folder never reach the caller (issue #18); a partner's asset
# that moves into it is sent as a PartnerAssetDeleteV1 at the move, and again as an upsert
# when it moves out. The owner's own AssetV1 does carry them, with ``visibility: locked``, as
# Immich's: the app shows them only behind its own PIN prompt.
_NOT_LOCKED = "a.visibility <> 'locked'"
# The partnerships sharing with the caller ($1): the sharer and the position they began at.
_SHARERS = "(SELECT shared_by_id, create_pos FROM partners WHERE shared_with_id = $1)"
# A backfill row (``%s``: the row's table alias): a sharer's row at or below the caller's upsert
# checkpoint ($6, the ``upto`` of :func:`changes`) when the partnership began after that
# checkpoint, so the upserts will not send it (Immich's sync.service backfills a partner created
# after the upsert checkpoint with the rows up to it; with no checkpoint the upserts send all).
_BACKFILL = "%s.update_pos <= $6 AND s.create_pos > $6"

#: SyncEntityType -> query of the caller's ($1) changes; each row has ``pos`` and ``key``.
SOURCES: Mapping[str, str] = {
    "AuthUserV1": (
        f"SELECT {_USER_COLS}, u.pin_code_hash IS NOT NULL AS has_pin_code, "
        "u.update_pos AS pos, u.id::text AS key FROM users u WHERE u.id = $1"
    ),
    "UserDeleteV1": (
        f"SELECT x.user_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM user_audit x "
        "WHERE $1::uuid IS NOT NULL"
    ),
    "UserV1": (
        f"SELECT {_USER_COLS}, u.update_pos AS pos, u.id::text AS key FROM users u "
        "WHERE $1::uuid IS NOT NULL"
    ),
    "AssetDeleteV1": (
        f"SELECT x.asset_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM asset_audit x "
        "WHERE x.owner_id = $1"
    ),
    "AssetV1": (
        f"SELECT {_ASSET_COLS}, a.update_pos AS pos, a.id::text AS key FROM assets a "
        "WHERE a.owner_id = $1 AND a.status <> 'deleted'"
    ),
    "AssetExifV1": (
        f"SELECT {_EXIF_COLS}, e.update_pos AS pos, e.asset_id::text AS key "
        "FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        "WHERE e.owner_id = $1 AND a.status <> 'deleted'"
    ),
    "AlbumDeleteV1": (
        f"SELECT x.album_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM album_audit x "
        "WHERE x.user_id = $1"
    ),
    "AlbumV1": (
        f"SELECT {_ALBUM_COLS}, greatest(al.update_pos, v.since) AS pos, al.id::text AS key "
        f"FROM albums al JOIN {_VISIBLE_ALBUMS} v ON v.album_id = al.id"
    ),
    "AlbumUserDeleteV1": (
        f"SELECT x.album_id, x.user_id, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        f"FROM album_user_audit x JOIN {_VISIBLE_ALBUMS} v ON v.album_id = x.album_id"
    ),
    # Members, and the owner as a member with role "owner" (positioned with its album), as
    # Immich 3.x, whose owner is an album_user row: the app's AlbumsV2 (no ownerId) relies on it.
    "AlbumUserV1": (
        "SELECT au.album_id, au.user_id, au.role, greatest(au.update_pos, v.since) AS pos, "
        "au.album_id::text || ':' || au.user_id::text AS key "
        f"FROM album_users au JOIN {_VISIBLE_ALBUMS} v ON v.album_id = au.album_id "
        "UNION ALL SELECT al.id AS album_id, al.owner_id AS user_id, 'owner' AS role, "
        "greatest(al.update_pos, v.since) AS pos, al.id::text || ':' || al.owner_id::text AS key "
        f"FROM albums al JOIN {_VISIBLE_ALBUMS} v ON v.album_id = al.id"
    ),
    "AlbumToAssetDeleteV1": (
        f"SELECT x.album_id, x.asset_id, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        f"FROM album_asset_audit x JOIN {_VISIBLE_ALBUMS} v ON v.album_id = x.album_id"
    ),
    "AlbumToAssetV1": (
        "SELECT aa.album_id, aa.asset_id, greatest(aa.update_pos, v.since) AS pos, "
        "aa.album_id::text || ':' || aa.asset_id::text AS key "
        f"FROM album_assets aa JOIN {_VISIBLE_ALBUMS} v ON v.album_id = aa.album_id"
    ),
    "AlbumAssetCreateV1": (
        f"SELECT {_ALBUM_ASSET_COLS}, greatest(a.update_pos, p.since) AS pos, a.id::text AS key "
        f"FROM assets a JOIN {_ALBUM_ASSET_PATHS} p ON p.asset_id = a.id "
        f"WHERE a.status <> 'deleted' AND {_NOT_LOCKED}"
    ),
    "AlbumAssetExifCreateV1": (
        f"SELECT {_EXIF_COLS}, greatest(e.update_pos, p.since) AS pos, e.asset_id::text AS key "
        f"FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        f"JOIN {_ALBUM_ASSET_PATHS} p ON p.asset_id = a.id "
        f"WHERE a.status <> 'deleted' AND {_NOT_LOCKED}"
    ),
    # Not the partnerships of a user deleted for good: the app drops them with the user on its
    # UserDeleteV1 (Immich's partner audit trigger skips the cascade of a user delete).
    "PartnerDeleteV1": (
        f"SELECT x.shared_by_id, x.shared_with_id, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM partner_audit x WHERE (x.shared_by_id = $1 OR x.shared_with_id = $1) "
        "AND EXISTS (SELECT 1 FROM users u WHERE u.id = x.shared_by_id) "
        "AND EXISTS (SELECT 1 FROM users u WHERE u.id = x.shared_with_id)"
    ),
    "PartnerV1": (
        "SELECT p.shared_by_id, p.shared_with_id, p.in_timeline, p.update_pos AS pos, "
        "p.shared_by_id::text || ':' || p.shared_with_id::text AS key FROM partners p "
        "WHERE p.shared_by_id = $1 OR p.shared_with_id = $1"
    ),
    "PartnerAssetDeleteV1": (
        f"SELECT x.asset_id, x.update_pos AS pos, 'd' || {_AUDIT_KEY} AS key "
        f"FROM asset_audit x JOIN {_SHARERS} s ON s.shared_by_id = x.owner_id "
        "WHERE x.update_pos >= s.create_pos "
        "UNION ALL SELECT a.id AS asset_id, x.update_pos AS pos, "
        f"'r' || {_AUDIT_KEY} || ':' || a.id::text AS key FROM partner_audit x "
        "JOIN assets a ON a.owner_id = x.shared_by_id AND a.status <> 'deleted' "
        "WHERE x.shared_with_id = $1 "
        "UNION ALL SELECT a.id AS asset_id, a.update_pos AS pos, 'l' || a.id::text AS key "
        f"FROM assets a JOIN {_SHARERS} s ON s.shared_by_id = a.owner_id "
        "WHERE a.status <> 'deleted' AND a.visibility = 'locked'"
    ),
    "PartnerAssetV1": (
        f"SELECT {_OTHERS_ASSET_COLS}, a.update_pos AS pos, a.id::text AS key "
        f"FROM assets a JOIN {_SHARERS} s ON s.shared_by_id = a.owner_id "
        f"WHERE a.status <> 'deleted' AND {_NOT_LOCKED}"
    ),
    "PartnerAssetBackfillV1": (
        f"SELECT {_OTHERS_ASSET_COLS}, s.create_pos AS pos, a.id::text AS key "
        f"FROM assets a JOIN {_SHARERS} s ON s.shared_by_id = a.owner_id "
        f"WHERE a.status <> 'deleted' AND {_BACKFILL % 'a'} AND {_NOT_LOCKED}"
    ),
    "PartnerAssetExifV1": (
        f"SELECT {_EXIF_COLS}, e.update_pos AS pos, e.asset_id::text AS key "
        "FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        f"JOIN {_SHARERS} s ON s.shared_by_id = a.owner_id "
        f"WHERE a.status <> 'deleted' AND {_NOT_LOCKED}"
    ),
    "PartnerAssetExifBackfillV1": (
        f"SELECT {_EXIF_COLS}, s.create_pos AS pos, e.asset_id::text AS key "
        "FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        f"JOIN {_SHARERS} s ON s.shared_by_id = a.owner_id "
        f"WHERE a.status <> 'deleted' AND {_BACKFILL % 'e'} AND {_NOT_LOCKED}"
    ),
    "PersonDeleteV1": (
        f"SELECT x.person_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM person_audit x "
        "WHERE x.owner_id = $1"
    ),
    "PersonV1": (
        "SELECT p.id, p.owner_id, p.name, p.birth_date, p.is_hidden, p.is_favorite, p.color, "
        "p.face_asset_id, p.created_at, p.updated_at, p.update_pos AS pos, p.id::text AS key "
        "FROM people p WHERE p.owner_id = $1"
    ),
    "AssetFaceDeleteV1": (
        f"SELECT x.asset_face_id, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM asset_face_audit x WHERE x.owner_id = $1"
    ),
    "AssetFaceV1": (
        "SELECT f.id, f.asset_id, f.person_id, f.image_width, f.image_height, "
        "f.bounding_box_x1, f.bounding_box_y1, f.bounding_box_x2, f.bounding_box_y2, "
        "f.source_type, f.deleted_at, f.update_pos AS pos, f.id::text AS key "
        "FROM asset_faces f JOIN assets a ON a.id = f.asset_id "
        "WHERE f.owner_id = $1 AND a.status <> 'deleted'"
    ),
    "AssetOcrDeleteV1": (
        f"SELECT x.ocr_id, x.asset_id, x.deleted_at, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM asset_ocr_audit x WHERE x.owner_id = $1"
    ),
    "AssetOcrV1": (
        "SELECT o.uid, o.asset_id, o.text, o.box, o.score, o.update_pos AS pos, "
        "o.uid::text AS key FROM asset_ocr o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.owner_id = $1 AND a.status <> 'deleted'"
    ),
    "AssetMetadataDeleteV1": (
        f"SELECT x.asset_id, x.key AS metadata_key, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM asset_metadata_audit x WHERE x.owner_id = $1"
    ),
    "AssetMetadataV1": (
        "SELECT m.asset_id, m.key AS metadata_key, m.value::text AS value, m.update_pos AS pos, "
        "m.asset_id::text || ':' || m.key AS key FROM asset_metadata m "
        "JOIN assets a ON a.id = m.asset_id WHERE m.owner_id = $1 AND a.status <> 'deleted'"
    ),
    "UserMetadataDeleteV1": (
        f"SELECT x.user_id, x.key AS metadata_key, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM user_metadata_audit x WHERE x.user_id = $1"
    ),
    "UserMetadataV1": (
        "SELECT m.user_id, m.key AS metadata_key, m.value::text AS value, m.update_pos AS pos, "
        "m.key AS key FROM user_metadata m WHERE m.user_id = $1"
    ),
    # --- non-destructive edits (0031_asset_edits.sql) ---
    "AssetEditDeleteV1": (
        f"SELECT x.edit_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM asset_edit_audit x "
        "WHERE x.owner_id = $1"
    ),
    "AssetEditV1": (
        "SELECT ed.id, ed.asset_id, ed.action, ed.parameters::text AS parameters, ed.sequence, "
        "ed.update_pos AS pos, ed.id::text AS key FROM asset_edits ed "
        "JOIN assets a ON a.id = ed.asset_id WHERE ed.owner_id = $1 AND a.status <> 'deleted'"
    ),
    # --- stacks (0019_stacks.sql) ---
    "StackDeleteV1": (
        f"SELECT x.stack_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM stack_audit x "
        "WHERE x.owner_id = $1"
    ),
    "StackV1": (
        f"SELECT {_STACK_COLS}, st.update_pos AS pos, st.id::text AS key FROM stacks st "
        "WHERE st.owner_id = $1"
    ),
    "PartnerStackDeleteV1": (
        f"SELECT x.stack_id, x.update_pos AS pos, 'd' || {_AUDIT_KEY} AS key "
        f"FROM stack_audit x JOIN {_SHARERS} s ON s.shared_by_id = x.owner_id "
        "WHERE x.update_pos >= s.create_pos "
        "UNION ALL SELECT st.id AS stack_id, x.update_pos AS pos, "
        f"'r' || {_AUDIT_KEY} || ':' || st.id::text AS key FROM partner_audit x "
        "JOIN stacks st ON st.owner_id = x.shared_by_id WHERE x.shared_with_id = $1"
    ),
    "PartnerStackV1": (
        f"SELECT {_STACK_COLS}, st.update_pos AS pos, st.id::text AS key "
        f"FROM stacks st JOIN {_SHARERS} s ON s.shared_by_id = st.owner_id"
    ),
    "PartnerStackBackfillV1": (
        f"SELECT {_STACK_COLS}, s.create_pos AS pos, st.id::text AS key "
        f"FROM stacks st JOIN {_SHARERS} s ON s.shared_by_id = st.owner_id "
        f"WHERE {_BACKFILL % 'st'}"
    ),
    # --- memories (0018_memories.sql): the caller's own -------------------------------------
    "MemoryDeleteV1": (
        f"SELECT x.memory_id, x.update_pos AS pos, {_AUDIT_KEY} AS key FROM memory_audit x "
        "WHERE x.owner_id = $1"
    ),
    "MemoryV1": (
        "SELECT m.id, m.owner_id, m.type, m.data::text AS data, m.memory_at, m.show_at, "
        "m.hide_at, m.seen_at, m.is_saved, m.created_at, m.updated_at, m.update_pos AS pos, "
        "m.id::text AS key FROM memories m WHERE m.owner_id = $1"
    ),
    "MemoryToAssetDeleteV1": (
        f"SELECT x.memory_id, x.asset_id, x.update_pos AS pos, {_AUDIT_KEY} AS key "
        "FROM memory_asset_audit x WHERE x.owner_id = $1"
    ),
    "MemoryToAssetV1": (
        "SELECT ma.memory_id, ma.asset_id, ma.update_pos AS pos, "
        "ma.memory_id::text || ':' || ma.asset_id::text AS key FROM memory_assets ma "
        "WHERE ma.owner_id = $1"
    ),
}


#: Sources that take the position of the caller's upsert checkpoint (``upto``) as ``$6``.
BACKFILLS = frozenset(
    {"PartnerAssetBackfillV1", "PartnerAssetExifBackfillV1", "PartnerStackBackfillV1"}
)


class Position(msgspec.Struct, frozen=True, order=True):
    """A place in a source's change order: transaction position, then row key."""

    pos: int
    key: str


#: Before every change.
START = Position(0, "")

#: The row key of a finished backfill: above every row key (uuids in lower-case hex, which
#: sort before ``z`` in the C and the language collations alike), so a checkpoint
#: ``(create_pos, BACKFILL_DONE)`` is past every backfill row of that partnership.
BACKFILL_DONE = "z"


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``session_sync_checkpoints``: the last ack a session sent for one type."""

    type: str
    ack: str
    updated_at: datetime


async def cutoff(pool: asyncpg.Pool, *, wait_s: float = 1.0) -> int:
    """The stream's upper bound: the xmin of a snapshot (every transaction below it has
    finished, so no change can appear below it later).

    Transactions in flight when this is called hold the bound back; it waits up to ``wait_s``
    seconds (polling every 20 ms) for them to end so that a stream reflects what was committed
    just before it, then settles for what it has.
    """
    row = await pool.fetchrow(
        "SELECT pg_snapshot_xmin(s)::text::bigint AS xmin, pg_snapshot_xmax(s)::text::bigint "
        "AS xmax FROM pg_current_snapshot() s"
    )
    xmin, target = int(row["xmin"]), int(row["xmax"])
    deadline = time.monotonic() + wait_s
    while xmin < target and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        xmin = int(
            await pool.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        )
    return xmin


async def changes(
    pool: asyncpg.Pool,
    source: str,
    user_id: uuid.UUID,
    *,
    after: Position,
    below: int,
    limit: int,
    upto: int = 0,
) -> list[dict[str, Any]]:
    """One page of ``user_id``'s changes of ``source``, in position order.

    Args:
        pool: Pool.
        source: A key of :data:`SOURCES` (a SyncEntityType).
        user_id: The caller; every source filters by what they may see.
        after: Only changes strictly after this position (the acknowledged checkpoint).
        below: Only changes with ``pos`` strictly below this (see :func:`cutoff`).
        limit: Page size (rows).
        upto: For a source of :data:`BACKFILLS`: the position of the caller's checkpoint of the
            matching upsert type (0 when none: nothing to back-fill).

    Returns:
        Rows as dicts of the source's columns plus ``pos`` (int) and ``key`` (str).

    Raises:
        KeyError: Unknown ``source``.
    """
    rows = await pool.fetch(
        f"SELECT * FROM ({SOURCES[source]}) q "
        "WHERE (q.pos, q.key) > ($2, $3) AND q.pos < $4 ORDER BY q.pos, q.key LIMIT $5",
        user_id,
        after.pos,
        after.key,
        below,
        limit,
        *((upto,) if source in BACKFILLS else ()),
    )
    return [dict(r) for r in rows]


async def partnerships_to_backfill(
    pool: asyncpg.Pool, user_id: uuid.UUID, *, after: Position, below: int
) -> list[int]:
    """The creation positions (ascending) of the partnerships sharing with ``user_id`` whose
    backfill is not finished: after ``after`` and below the cut-off ``below``.

    Args:
        pool: Pool.
        user_id: The caller (the partner shared with).
        after: The later of the session's backfill checkpoint and ``(upsert checkpoint,
            BACKFILL_DONE)``: a partnership made before the upsert checkpoint needs none.
        below: The stream's cut-off (:func:`cutoff`).
    """
    rows = await pool.fetch(
        "SELECT DISTINCT create_pos FROM partners WHERE shared_with_id = $1 "
        "AND (create_pos, $4::text) > ($2, $3) AND create_pos < $5 ORDER BY create_pos",
        user_id,
        after.pos,
        after.key,
        BACKFILL_DONE,
        below,
    )
    return [int(r["create_pos"]) for r in rows]


async def list_checkpoints(pool: asyncpg.Pool, session_id: uuid.UUID) -> list[Checkpoint]:
    """Every checkpoint of ``session_id``, by type."""
    rows = await pool.fetch(
        "SELECT type, ack, updated_at FROM session_sync_checkpoints WHERE session_id = $1 "
        "ORDER BY type",
        session_id,
    )
    return [Checkpoint(**dict(r)) for r in rows]


async def save_checkpoints(
    pool: asyncpg.Pool, session_id: uuid.UUID, acks: Mapping[str, str]
) -> None:
    """Store ``acks`` (type -> ack string) for ``session_id``, replacing earlier ones."""
    if not acks:
        return
    await pool.execute(
        "INSERT INTO session_sync_checkpoints (session_id, type, ack) "
        "SELECT $1, t, a FROM unnest($2::text[], $3::text[]) AS x(t, a) "
        "ON CONFLICT (session_id, type) DO UPDATE SET ack = EXCLUDED.ack, updated_at = now()",
        session_id,
        list(acks.keys()),
        list(acks.values()),
    )


async def delete_checkpoints(
    pool: asyncpg.Pool, session_id: uuid.UUID, types: Iterable[str] | None = None
) -> None:
    """Forget ``session_id``'s checkpoints of ``types`` (all of them when None)."""
    await pool.execute(
        "DELETE FROM session_sync_checkpoints WHERE session_id = $1 "
        "AND ($2::text[] IS NULL OR type = ANY($2))",
        session_id,
        None if types is None else list(types),
    )


async def reset_session(pool: asyncpg.Pool, session_id: uuid.UUID) -> None:
    """Start ``session_id``'s sync over: forget every checkpoint, clear the pending reset."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM session_sync_checkpoints WHERE session_id = $1", session_id)
        await conn.execute(
            "UPDATE sessions SET is_pending_sync_reset = false WHERE id = $1", session_id
        )


async def is_pending_reset(pool: asyncpg.Pool, session_id: uuid.UUID) -> bool:
    """Whether ``session_id`` was marked to reset its sync (``sessions.is_pending_sync_reset``)."""
    return bool(
        await pool.fetchval("SELECT is_pending_sync_reset FROM sessions WHERE id = $1", session_id)
    )


#: Every deletion-audit table the stream reads (each has ``deleted_at`` and ``update_pos``).
AUDIT_TABLES = (
    "user_audit",
    "asset_audit",
    "album_audit",
    "album_asset_audit",
    "album_user_audit",
    "person_audit",
    "asset_face_audit",
    "asset_ocr_audit",
    "asset_metadata_audit",
    "user_metadata_audit",
    "asset_edit_audit",
    "partner_audit",
    "stack_audit",
    "memory_audit",
    "memory_asset_audit",
)


async def prune_audit(pool: asyncpg.Pool, older_than: timedelta) -> int:
    """Delete audit rows (deletions told to the apps) older than ``older_than``, and raise the
    pruned horizon (``sync_audit_horizon.pruned_pos``) to the highest position removed.

    A session that has not streamed past that horizon may have missed a deletion: its next
    stream is a ``SyncResetV1`` (:func:`needs_reset`).

    Args:
        pool: Pool.
        older_than: Minimum age (by ``deleted_at``) of what is removed.

    Returns:
        How many audit rows were removed.
    """
    removed = 0
    top = 0
    async with pool.acquire() as conn, conn.transaction():
        for table in AUDIT_TABLES:
            row = await conn.fetchrow(
                f"WITH d AS (DELETE FROM {table} WHERE deleted_at < now() - $1::interval "
                "RETURNING update_pos) SELECT count(*) AS n, coalesce(max(update_pos), 0) AS top "
                "FROM d",
                older_than,
            )
            removed += int(row["n"])
            top = max(top, int(row["top"]))
        if top:
            await conn.execute(
                "UPDATE sync_audit_horizon SET pruned_pos = greatest(pruned_pos, $1)", top
            )
    return removed


async def needs_reset(pool: asyncpg.Pool, session_id: uuid.UUID) -> bool:
    """Whether ``session_id``'s checkpoints are too old for the retained audit rows.

    The session has seen every change below the cut-off of its last acknowledged
    ``SyncCompleteV1`` (or, without one, below its furthest checkpoint). When audit rows at or
    above that position were pruned (:func:`prune_audit`) it may have missed deletions and must
    start over. A session without checkpoints starts from the beginning anyway: no reset.
    """
    seen = await pool.fetchval(
        "SELECT coalesce(max(split_part(ack, '|', 2)::bigint) "
        "FILTER (WHERE type = 'SyncCompleteV1'), max(split_part(ack, '|', 2)::bigint)) "
        "FROM session_sync_checkpoints WHERE session_id = $1",
        session_id,
    )
    if seen is None:
        return False
    pruned = await pool.fetchval("SELECT pruned_pos FROM sync_audit_horizon")
    return bool(pruned is not None and int(seen) <= int(pruned))
