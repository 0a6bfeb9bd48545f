"""Make the video of a motion photo a hidden asset linked to its still (as Immich does)."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg
import structlog
from darkroom_db import assets
from darkroom_events import AssetCreated, AssetHidden, Event
from darkroom_runtime import Context

log = structlog.get_logger()

#: Namespace of the motion video's asset id (uuid5 of the still's id): a redelivery that finds
#: no link yet (it died before the commit) writes the same key and inserts the same row.
MOTION_NAMESPACE = uuid.UUID("6f1d3c52-58a1-4f7e-9d0c-5e2b8f0a7c11")


def motion_key(owner_id: uuid.UUID, video_id: uuid.UUID) -> str:
    """``upload/<userId>/<ab>/<cd>/<videoId>.mp4``: the upload layout of ingest's originals
    (``darkroom_ingest.keys.original_key``), so the storage template and deletion treat the
    extracted video like any original.

    Args:
        owner_id: The still's owner.
        video_id: The motion asset's id.
    """
    hex_id = video_id.hex
    return f"upload/{owner_id}/{hex_id[:2]}/{hex_id[2:4]}/{video_id}.mp4"


def motion_file_name(still_name: str) -> str:
    """``IMG_1.heic`` -> ``IMG_1.mp4`` (Immich names the motion part after the still)."""
    stem = still_name.rsplit(".", 1)[0] if "." in still_name else still_name
    return f"{stem}.mp4"


async def store_motion_video(ctx: Context, still: assets.Asset, video: bytes) -> str:
    """Write the extracted video at its key before the transaction that links it.

    Returns:
        The key.
    """
    video_id = uuid.uuid5(MOTION_NAMESPACE, str(still.id))
    key = motion_key(still.owner_id, video_id)
    await ctx.storage.put(key, video, content_type="video/mp4")
    return key


async def link_motion_video(
    conn: asyncpg.Connection, still: assets.Asset, video: bytes, key: str
) -> tuple[list[Event], str | None]:
    """Insert (or find, by checksum) the motion asset and link it as the still's
    ``live_photo_video_id``. Run inside the extraction's transaction.

    De-duplicated as Immich: when the owner already has an asset with the video's SHA-1 (the
    same motion photo uploaded twice, or the video uploaded on its own), that asset is linked
    and hidden instead, and the object just written is not used.

    Args:
        conn: Connection inside the transaction.
        still: The motion photo.
        video: The extracted bytes (a byte-exact slice of the original).
        key: Where :func:`store_motion_video` wrote them.

    Returns:
        The events to publish with the commit (``asset.created`` for a new motion asset,
        ``asset.hidden``), and the key left unused (to delete after the commit), if any.
    """
    checksum = hashlib.sha1(video, usedforsecurity=False).digest()
    video_id = uuid.uuid5(MOTION_NAMESPACE, str(still.id))
    events: list[Event] = []
    row = await assets.insert_asset(
        conn,
        assets.NewAsset(
            id=video_id,
            owner_id=still.owner_id,
            device_asset_id="NONE",
            device_id="NONE",
            type="VIDEO",
            original_path=key,
            original_file_name=motion_file_name(still.original_file_name),
            original_mime_type="video/mp4",
            checksum=checksum,
            file_size=len(video),
            file_created_at=still.file_created_at,
            file_modified_at=still.file_modified_at,
        ),
    )
    unused: str | None = None
    if row is None:
        existing = await conn.fetchval(
            "SELECT id FROM assets WHERE owner_id = $1 AND checksum = $2 AND library_id IS NULL",
            still.owner_id,
            checksum,
        )
        if existing is None:  # pragma: no cover - the conflict row vanished meanwhile
            raise RuntimeError("motion video conflict without an existing asset")
        if existing != video_id:
            unused = key
        video_id = existing
    else:
        events.append(
            AssetCreated(
                asset_id=str(video_id),
                owner_id=str(still.owner_id),
                type="VIDEO",
                original_key=key,
                original_file_name=row.original_file_name,
                mime_type="video/mp4",
                checksum=checksum.hex(),
                file_size=len(video),
                file_created_at=still.file_created_at,
                file_modified_at=still.file_modified_at,
            )
        )
    if await assets.set_live_photo_video(conn, still.owner_id, still.id, video_id):
        events.append(
            AssetHidden(
                asset_id=str(video_id), owner_id=str(still.owner_id), still_id=str(still.id)
            )
        )
        log.info("metadata.motion_photo_linked", asset_id=str(still.id), video_id=str(video_id))
    return events, unused
