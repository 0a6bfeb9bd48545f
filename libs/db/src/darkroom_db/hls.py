"""HLS ladders of videos (issue #19 item 1): the ``asset_files`` row of type ``hls``.

The transcode service stores every rendition's MPEG-TS segments concatenated in ONE object
(the row's ``path``), so every code path that deletes an asset's derived files by key deletes
the ladder too; the row's ``manifest`` says where each segment lies in it and how long it
plays. The gateway writes the playlists from the manifest (RFC 8216).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec


class HlsSegment(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One media segment: bytes ``[offset, offset + length)`` of the ladder object.

    Attributes:
        offset: First byte in the ladder object.
        length: Size in bytes.
        duration: Playing time in seconds (the playlist's ``#EXTINF``).
    """

    offset: int
    length: int
    duration: float


class HlsRendition(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One rung of the ladder (RFC 8216 section 4.3.4.2, ``EXT-X-STREAM-INF``).

    Attributes:
        name: Its name in URIs ("360p", "720p"...).
        width: Video width in pixels.
        height: Video height in pixels.
        bandwidth: Peak segment bit rate in bits/s (``BANDWIDTH``).
        average_bandwidth: Mean bit rate in bits/s (``AVERAGE-BANDWIDTH``).
        codecs: RFC 6381 codecs (``CODECS``), e.g. "avc1.42c01e,mp4a.40.2".
        segments: The segments in playing order.
    """

    name: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    segments: tuple[HlsSegment, ...]


class HlsLadder(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A video's HLS ladder.

    Attributes:
        segment_s: Target segment length in seconds the encoder cut at.
        renditions: Lowest first.
    """

    segment_s: float
    renditions: tuple[HlsRendition, ...]


class StoredLadder(msgspec.Struct, frozen=True, kw_only=True):
    """A ladder with the object holding its segments.

    Attributes:
        key: Storage key of the segments object.
        size: Its size in bytes.
        updated_at: When it was (re)made.
        ladder: What is in it.
    """

    key: str
    size: int
    updated_at: datetime
    ladder: HlsLadder


async def store_ladder(
    conn: asyncpg.Connection,
    *,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    key: str,
    size: int,
    ladder: HlsLadder,
) -> None:
    """Insert or replace the asset's ladder (idempotent; one ``hls`` row per asset)."""
    top = ladder.renditions[-1]
    await conn.execute(
        "INSERT INTO asset_files (id, asset_id, owner_id, type, path, mime_type, width, height, "
        "size, manifest) VALUES ($1, $2, $3, 'hls', $4, 'video/mp2t', $5, $6, $7, $8::jsonb) "
        "ON CONFLICT (asset_id, type) DO UPDATE SET path = excluded.path, "
        "mime_type = excluded.mime_type, width = excluded.width, height = excluded.height, "
        "size = excluded.size, manifest = excluded.manifest, updated_at = now()",
        uuid.uuid4(),
        asset_id,
        owner_id,
        key,
        top.width,
        top.height,
        size,
        msgspec.json.encode(ladder).decode(),
    )


async def get_ladder(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, asset_id: uuid.UUID
) -> StoredLadder | None:
    """The ladder of ``owner_id``'s asset, or None when it has none (yet)."""
    row = await pool.fetchrow(
        "SELECT path, size, updated_at, manifest::text AS manifest FROM asset_files "
        "WHERE asset_id = $1 AND owner_id = $2 AND type = 'hls' AND manifest IS NOT NULL",
        asset_id,
        owner_id,
    )
    if row is None:
        return None
    return StoredLadder(
        key=row["path"],
        size=row["size"],
        updated_at=row["updated_at"],
        ladder=msgspec.json.decode(row["manifest"], type=HlsLadder),
    )
