"""Map markers: every asset of a user's library that has GPS coordinates (``GET /api/map/markers``).

Which assets count (Immich's map: its own library, optionally widened by shared albums):
- the caller's own active assets (trashed and deleted ones never);
- with ``with_shared_albums``, also the active assets of every album the caller owns or is a
  member of, whoever owns them;
- with ``partner_ids`` (``withPartners``: the users who share with the caller and whom the
  caller shows in their timeline), also those partners' active ``timeline`` assets (never their
  archived ones, and never under a favourite filter: favourites are the viewer's own);
- ``timeline`` visibility only, or ``timeline`` and ``archive`` when archived assets are asked
  for; ``hidden`` (the video half of a live photo) and ``locked`` never show on the map.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from darkroom_db.albums import MapMarker

__all__ = ["MapMarker", "markers"]


async def markers(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    *,
    is_archived: bool | None = None,
    is_favorite: bool | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    with_shared_albums: bool = False,
    partner_ids: Sequence[uuid.UUID] = (),
) -> list[MapMarker]:
    """The geotagged assets ``user_id`` sees on their map, newest ``file_created_at`` first
    (Immich's ``MapRepository.getMapMarkers`` orders by ``fileCreatedAt``, the instant, not
    the local wall-clock time).

    Args:
        pool: Pool.
        user_id: Whose map.
        is_archived: True adds archived assets to the timeline ones; False or None: timeline
            assets only (Immich's ``isArchived``).
        is_favorite: Only favourites (True) or only non-favourites (False); None: both.
        created_after: Only assets whose ``file_created_at`` is at or after this instant.
        created_before: Only assets whose ``file_created_at`` is at or before this instant.
        with_shared_albums: Also the assets of albums the user owns or is a member of.
        partner_ids: Also the ``timeline`` assets of these users (checked by the caller to
            share with ``user_id``); ignored under an ``is_favorite`` filter.

    Returns:
        One marker per asset: id, latitude and longitude (degrees, WGS 84), city/state/country
        as reverse geocoding found them (None when unknown).
    """
    conds = ["x.status = 'active'", "e.latitude IS NOT NULL", "e.longitude IS NOT NULL"]
    args: list[object] = [user_id]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    owned = "x.owner_id = $1"
    if partner_ids and is_favorite is None:
        owned = (
            f"(x.owner_id = $1 OR (x.owner_id = ANY({arg(list(partner_ids))}::uuid[]) "
            "AND x.visibility = 'timeline'))"
        )
    if with_shared_albums:
        conds.append(
            f"({owned} OR EXISTS (SELECT 1 FROM album_assets aa "
            "JOIN albums al ON al.id = aa.album_id AND al.deleted_at IS NULL "
            "WHERE aa.asset_id = x.id AND (al.owner_id = $1 OR EXISTS (SELECT 1 FROM album_users m "
            "WHERE m.album_id = al.id AND m.user_id = $1))))"
        )
    else:
        conds.append(owned)
    conds.append(
        "x.visibility IN ('timeline', 'archive')" if is_archived else "x.visibility = 'timeline'"
    )
    if is_favorite is not None:
        conds.append(f"x.is_favorite = {arg(is_favorite)}")
    if created_after is not None:
        conds.append(f"x.file_created_at >= {arg(created_after)}")
    if created_before is not None:
        conds.append(f"x.file_created_at <= {arg(created_before)}")
    rows = await pool.fetch(
        "SELECT x.id, e.latitude AS lat, e.longitude AS lon, e.city, e.state, e.country "
        "FROM assets x JOIN asset_exif e ON e.asset_id = x.id "
        f"WHERE {' AND '.join(conds)} ORDER BY x.file_created_at DESC, x.id",
        *args,
    )
    return [MapMarker(**dict(r)) for r in rows]
