"""Repository: the timeline, i.e. a user's (or an album's) assets grouped by month.

Two queries back Immich's virtual-scrolling timeline: :func:`time_buckets` (one row per month
with its asset count) and :func:`time_bucket` (the assets of one month, as columns). Months are
those of ``local_date_time``, the capture wall-clock time stored as if it were UTC, so the
grouping is done in UTC. The buckets come from month counts kept by triggers (migration 0034)
where they can; a bucket's assets are read through ``assets_timeline_month_idx`` and built into
the response's JSON by PostgreSQL (:func:`time_bucket_json`). bench/timeline.py times both over
HTTP at 1,000,000 assets.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Literal

import asyncpg
import msgspec

from darkroom_db import assets, partners, visibility
from darkroom_db.search import tag_condition

Visibility = Literal["archive", "timeline", "hidden", "locked"]


class TimelineFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a timeline shows (Immich's TimeBucketDto query).

    Attributes:
        viewer_id: Who asks; without ``album_id`` the timeline is theirs.
        album_id: Only this album's assets (whoever owns them); the caller checks access with
            :func:`can_read_album` first.
        person_id: Only assets showing this person (a face of theirs in ``asset_faces``); the
            caller checks the person is the viewer's first.
        tag_id: Only assets with this tag or one of its descendants (as Immich).
        is_favorite: Only favourites (True) or non-favourites (False).
        is_trashed: The trash (True) instead of the library.
        visibility: One visibility; None means ``timeline`` for the main timeline and
            ``archive`` + ``timeline`` inside an album/person/tag and in the trash.
        bbox: (west, south, east, north) in degrees: only assets located inside.
        order: ``desc`` (newest first, the default) or ``asc``.
        order_by: ``takenAt`` (capture time) or ``createdAt`` (upload time).
        partner_ids: Sharers whose assets join the viewer's own timeline (``withPartners``:
            those who share with the viewer and are in their timeline; the caller checks
            that and limits the request to visible, untrashed, unfavourited-filter assets).
        owner_ids: Only these owners' assets (``userId``): the viewer's timeline, or that of
            a sharer who shares with the viewer (the caller checks that); with ``album_id``,
            the album's assets of these owners. Their favourite flag is not shown unless the
            viewer's own.
        with_stacked: Show a stack once, as its primary (``withStacked``): the other assets
            of a stack are left out of the buckets and their counts, as Immich's
            ``withStacked`` does (migration 0019).
        unlocked: The viewer's session is unlocked with the PIN code: ``visibility="locked"``
            may match (:func:`darkroom_db.visibility.condition`).
    """

    viewer_id: uuid.UUID
    album_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    tag_id: uuid.UUID | None = None
    is_favorite: bool | None = None
    is_trashed: bool | None = None
    visibility: Visibility | None = None
    bbox: tuple[float, float, float, float] | None = None
    order: Literal["asc", "desc"] = "desc"
    order_by: Literal["takenAt", "createdAt"] = "takenAt"
    partner_ids: tuple[uuid.UUID, ...] = ()
    owner_ids: tuple[uuid.UUID, ...] = ()
    with_stacked: bool = False
    unlocked: bool = False


class TimelineAsset(msgspec.Struct, frozen=True, kw_only=True):
    """One asset of a bucket, with what the timeline grid draws."""

    id: uuid.UUID
    owner_id: uuid.UUID
    type: str
    status: str
    visibility: str
    is_favorite: bool
    width: int | None
    height: int | None
    orientation: str | None
    thumbhash: bytes | None
    file_created_at: datetime
    local_date_time: datetime
    created_at: datetime
    duration_ms: int | None
    live_photo_video_id: uuid.UUID | None
    projection_type: str | None
    city: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    #: Its stack and the number of its assets in the timeline (not trashed, not archived,
    #: hidden or locked: Immich's ``getTimeBucket`` counts ``visibility = 'timeline'``), or None.
    stack_id: uuid.UUID | None = None
    stack_count: int | None = None


#: SQL: the asset ``a`` is not in a stack, or is its stack's primary (``withStacked``).
PRIMARY_OR_UNSTACKED = (
    "(a.stack_id IS NULL OR EXISTS (SELECT 1 FROM stacks st WHERE st.id = a.stack_id "
    "AND st.primary_asset_id = a.id))"
)


def _default_visibility(f: TimelineFilter, scoped: bool = False) -> tuple[Visibility, ...]:
    """The visibilities shown when the request names none: the main timeline's own assets,
    ``archive`` too inside an album, person or tag, and in the trash (Immich's default
    visibility there: the trash holds what was archived as well, and emptying it deletes it)."""
    return ("archive", "timeline") if scoped or f.is_trashed else ("timeline",)


def _where(f: TimelineFilter) -> tuple[str, list[object]]:
    """SQL conditions on ``a`` (assets) and ``e`` (asset_exif) for ``f``, with their values.

    Placeholders start at $1; the caller appends its own after them.
    """
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    scoped = f.album_id is not None or f.person_id is not None or f.tag_id is not None
    conds = [f"a.status = {arg('trashed' if f.is_trashed else 'active')}"]
    if f.album_id is not None:
        conds.append(
            f"a.id IN (SELECT asset_id FROM album_assets WHERE album_id = {arg(f.album_id)})"
        )
    # userId: those owners (within the album, with one); else an album's assets are anyone's
    owners = list(f.owner_ids) or ([] if f.album_id is not None else [f.viewer_id, *f.partner_ids])
    if len(owners) == 1:  # the main timeline's plan (the month index) keeps a plain equality
        conds.append(f"a.owner_id = {arg(owners[0])}")
    elif owners:
        conds.append(f"a.owner_id = ANY({arg(owners)}::uuid[])")
    if f.person_id is not None:
        conds.append(
            "EXISTS (SELECT 1 FROM asset_faces af WHERE af.asset_id = a.id "
            f"AND af.person_id = {arg(f.person_id)} AND af.deleted_at IS NULL)"
        )
    if f.tag_id is not None:
        conds.append(tag_condition("a", arg(f.tag_id)))
    if scoped and f.visibility in ("hidden", "locked"):
        conds.append("false")  # never shown inside shared scopes
    else:
        conds.append(
            visibility.condition(
                "a",
                f.visibility,
                unlocked=f.unlocked,
                param=arg,
                default=_default_visibility(f, scoped),
            )
        )
    if f.is_favorite is not None:
        conds.append(f"a.is_favorite = {arg(f.is_favorite)}")
    if f.with_stacked:
        conds.append(PRIMARY_OR_UNSTACKED)
    if f.bbox is not None:
        west, south, east, north = f.bbox
        lon = (
            f"e.longitude BETWEEN {arg(west)} AND {arg(east)}"
            if west <= east  # a box across the antimeridian wraps around
            else f"(e.longitude >= {arg(west)} OR e.longitude <= {arg(east)})"
        )
        conds.append(f"e.latitude BETWEEN {arg(south)} AND {arg(north)} AND {lon}")
    return " AND ".join(conds), args


#: The bucket of an asset: the month of its capture wall-clock time. Must match the expression
#: of ``assets_timeline_month_idx`` (migration 0004) for the index to serve the queries.
MONTH_OF_CAPTURE = "date_trunc('month', a.local_date_time AT TIME ZONE 'UTC')"
MONTH_OF_UPLOAD = "date_trunc('month', a.created_at AT TIME ZONE 'UTC')"


def _time_col(f: TimelineFilter) -> str:
    return "a.created_at" if f.order_by == "createdAt" else "a.local_date_time"


def _month_expr(f: TimelineFilter) -> str:
    return MONTH_OF_UPLOAD if f.order_by == "createdAt" else MONTH_OF_CAPTURE


async def can_read_album(pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID) -> bool:
    """Whether ``user_id`` owns album ``album_id`` or is one of its members."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM albums WHERE id = $1 AND owner_id = $2) "
            "OR EXISTS (SELECT 1 FROM album_users WHERE album_id = $1 AND user_id = $2)",
            album_id,
            user_id,
        )
    )


def _counted(f: TimelineFilter) -> bool:
    """Whether ``asset_month_counts`` (migration 0034) answers the buckets of ``f``: a timeline
    of owners (the viewer, partners) by capture month filtered only on the counted columns.
    Albums, people, tags, a map box, upload months and the locked folder are counted live."""
    return (
        f.album_id is None
        and f.person_id is None
        and f.tag_id is None
        and f.bbox is None
        and f.order_by == "takenAt"
        and f.visibility != "locked"
    )


#: Fold an owner's month-count deltas into the counts once this many have piled up
#: (each upload writes about three: its row, then its capture month set by the metadata).
FOLD_AFTER = 256


async def fold_counts(pool: asyncpg.Pool, owners: list[uuid.UUID]) -> None:
    """Fold the month-count deltas of ``owners`` whose deltas have piled up past
    :data:`FOLD_AFTER` into ``asset_month_counts`` (``darkroom_timeline_counts_fold``,
    migration 0034). An owner being folded by another session is skipped, not waited for."""
    piled = await pool.fetch(
        "SELECT owner_id FROM asset_month_count_deltas WHERE owner_id = ANY($1::uuid[]) "
        "GROUP BY 1 HAVING count(*) > $2",
        owners,
        FOLD_AFTER,
    )
    for row in piled:
        await pool.fetchval("SELECT darkroom_timeline_counts_fold($1)", row["owner_id"])


async def _counted_buckets(pool: asyncpg.Pool, f: TimelineFilter) -> list[tuple[date, int]]:
    """:func:`time_buckets` from the kept month counts plus their unfolded deltas, less, for
    ``withStacked``, the stacks' non-primary members of each month (counted live through
    ``assets_stacked_month_idx``, migration 0037)."""
    owners = list(f.owner_ids) or [f.viewer_id, *f.partner_ids]
    await fold_counts(pool, owners)
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    status = arg("trashed" if f.is_trashed else "active")
    conds = [
        f"a.owner_id = ANY({arg(owners)}::uuid[])",
        f"a.status = {status}",
        visibility.condition(
            "a", f.visibility, unlocked=f.unlocked, param=arg, default=_default_visibility(f)
        ),
    ]
    if f.is_favorite is not None:
        conds.append(f"a.is_favorite = {arg(f.is_favorite)}")
    where = " AND ".join(conds)
    stacked = (
        f"SELECT {MONTH_OF_CAPTURE} AS month, -count(*) AS n FROM assets a "
        f"WHERE {where} AND a.stack_id IS NOT NULL AND NOT {PRIMARY_OR_UNSTACKED} GROUP BY 1"
        if f.with_stacked
        else "SELECT NULL::timestamp AS month, 0::bigint AS n WHERE false"
    )
    rows = await pool.fetch(
        "SELECT month, sum(n) AS n FROM ("
        f"SELECT a.month, a.n FROM asset_month_counts a WHERE {where} "
        f"UNION ALL SELECT a.month, a.d FROM asset_month_count_deltas a WHERE {where} "
        f"UNION ALL {stacked}) counted "
        f"GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1 {'ASC' if f.order == 'asc' else 'DESC'}",
        *args,
    )
    return [(r["month"].date(), int(r["n"])) for r in rows]


async def time_buckets(pool: asyncpg.Pool, f: TimelineFilter) -> list[tuple[date, int]]:
    """Months that hold assets matching ``f``, with their counts.

    The main timeline, favourites, archive and trash (and partners' assets in the timeline)
    are answered from the month counts kept by triggers (:func:`_counted_buckets`, migration
    0034); other scopes count their assets live. May fold the owners' piled-up count deltas
    first (:func:`fold_counts`), a write.

    Returns:
        (first day of the month, number of assets), newest month first unless ``f.order`` is
        ``asc``.
    """
    if _counted(f):
        return await _counted_buckets(pool, f)
    where, args = _where(f)
    join = "JOIN asset_exif e ON e.asset_id = a.id" if f.bbox is not None else ""
    rows = await pool.fetch(
        f"SELECT {_month_expr(f)} AS month, count(*) AS n FROM assets a {join} WHERE {where} "
        f"GROUP BY 1 ORDER BY 1 {'ASC' if f.order == 'asc' else 'DESC'}",
        *args,
    )
    return [(r["month"].date(), int(r["n"])) for r in rows]


def month_range(bucket: date) -> tuple[datetime, datetime]:
    """[start, end) of the month of ``bucket`` as UTC datetimes (see the module docstring);
    December 9999 ends at the last microsecond Python can write."""
    start = datetime(bucket.year, bucket.month, 1, tzinfo=UTC)
    if bucket.month < 12:
        return start, datetime(bucket.year, bucket.month + 1, 1, tzinfo=UTC)
    if bucket.year < datetime.max.year:
        return start, datetime(bucket.year + 1, 1, 1, tzinfo=UTC)
    return start, datetime.max.replace(tzinfo=UTC)


def _month_rows(f: TimelineFilter, bucket: date) -> tuple[str, list[object]]:
    """SQL (unordered) of the rows of :class:`TimelineAsset` matching ``f`` in the month of
    ``bucket``, and its values: one query for :func:`time_bucket` and
    :func:`time_bucket_json`."""
    where, args = _where(f)
    start, end = month_range(bucket)
    n = len(args)
    col = _time_col(f)
    sql = (
        "SELECT a.id, a.owner_id, a.type, a.status, a.visibility, a.is_favorite, a.width, "
        "a.height, e.orientation, a.thumbhash, a.file_created_at, a.local_date_time, "
        "a.created_at, a.duration_ms, a.live_photo_video_id, e.projection_type, e.city, "
        "e.country, e.latitude, e.longitude, a.stack_id, "
        "CASE WHEN a.stack_id IS NULL THEN NULL ELSE (SELECT count(*) FROM assets m "
        "WHERE m.stack_id = a.stack_id AND m.status = 'active' "
        "AND m.visibility = 'timeline') END AS stack_count "
        f"FROM assets a LEFT JOIN asset_exif e ON e.asset_id = a.id "
        f"WHERE {where} AND {_month_expr(f)} = ${n + 1} "
        f"AND {col} >= ${n + 2} AND {col} < ${n + 3}"
    )
    return sql, [*args, start.replace(tzinfo=None), start, end]


def _bucket_order(f: TimelineFilter, alias: str) -> str:
    """SQL ``ORDER BY`` of a bucket's assets (rows aliased ``alias``), as Immich's
    ``getTimeBucket``: the capture day (``localDateTime::date``), then the instant taken
    (``fileCreatedAt``); or, for ``orderBy=createdAt``, the upload time first. Newest first
    unless ``f.order`` is ``asc``; ties broken by id. Within a day two photos taken in different
    time zones follow their instants, not their wall-clock times; the web app shows a month in
    the order served (``addAssets(bucket, preSorted)``)."""
    direction = "ASC" if f.order == "asc" else "DESC"
    first = (
        f"{alias}.created_at"
        if f.order_by == "createdAt"
        else f"({alias}.local_date_time AT TIME ZONE 'UTC')::date"
    )
    keys = (first, f"{alias}.file_created_at", f"{alias}.id")
    return "ORDER BY " + ", ".join(f"{key} {direction}" for key in keys)


async def time_bucket(pool: asyncpg.Pool, f: TimelineFilter, bucket: date) -> list[TimelineAsset]:
    """The assets matching ``f`` in the month of ``bucket``, in timeline order
    (:func:`_bucket_order`)."""
    sql, args = _month_rows(f, bucket)
    rows = await pool.fetch(f"{sql} {_bucket_order(f, 'a')}", *args)
    return [TimelineAsset(**dict(r)) for r in rows]


async def time_bucket_json(
    pool: asyncpg.Pool,
    f: TimelineFilter,
    bucket: date,
    *,
    with_coordinates: bool,
    hide_place: bool,
) -> bytes:
    """The assets matching ``f`` in the month of ``bucket`` as the JSON of Immich's
    ``TimeBucketAssetResponseDto`` (columns: one array per field, in timeline order), built by
    PostgreSQL in one statement.

    Same rows and order as :func:`time_bucket`; each column's value is what Immich's
    ``asset.repository.ts`` ``getTimeBucket`` computes in its SQL (kept equal to a Python
    reference by libs/db/tests/test_timeline_json.py):

    - ``ratio``: width / height to 3 places (1 without a size). The asset's width and height
      are its displayed size already (metadata extraction swaps them for EXIF orientations
      5-8), so the orientation is not looked at again.
    - ``isFavorite``: only the viewer's own favourites (``isFavorite AND ownerId = <caller>``):
      a partner's or an album member's flag is never shown.
    - ``fileCreatedAt`` / ``createdAt``: the UTC ``timestamp``, which PostgreSQL's JSON writes
      ``2024-01-02T03:04:05.5`` (no zone suffix, fraction only as far as it goes).
    - ``localOffsetHours``: (local_date_time - file_created_at) in hours, a ``real`` divided
      by 3600, not rounded.
    - ``thumbhash``: base64; ``stack`` with ``f.with_stacked``: ``[stack id, its assets in
      the timeline]``, null when none is.
    - ``with_coordinates`` adds ``latitude``/``longitude``; ``hide_place`` (a shared link
      without metadata) leaves ``city`` and ``country`` out, as Immich selects them only for
      ``!auth.sharedLink || auth.sharedLink.showExif``, and the coordinates too.

    Building the JSON in the database avoids decoding ~20 values per asset into Python objects
    and encoding them again: at ~5,000 assets a month this was most of the request's time
    (issue #20 item 1; bench/timeline.py).
    """
    rows, args = _month_rows(f, bucket)
    viewer = f"${len(args) + 1}"
    args.append(f.viewer_id)
    order = _bucket_order(f, "t")

    def agg(expression: str) -> str:
        return f"coalesce(json_agg({expression} {order}), '[]')"

    columns = {
        "id": agg("t.id"),
        "ownerId": agg("t.owner_id"),
        "ratio": agg(
            "CASE WHEN coalesce(t.width, 0) = 0 OR coalesce(t.height, 0) = 0 THEN 1 "
            "ELSE round(t.width::numeric / t.height, 3) END"
        ),
        "isFavorite": agg(f"(t.is_favorite AND t.owner_id = {viewer}::uuid)"),
        "visibility": agg("t.visibility"),
        "isTrashed": agg("(t.status = 'trashed')"),
        "isImage": agg("(t.type = 'IMAGE')"),
        "thumbhash": agg("translate(encode(t.thumbhash, 'base64'), E'\\n', '')"),
        "fileCreatedAt": agg("(t.file_created_at AT TIME ZONE 'UTC')"),
        "createdAt": agg("(t.created_at AT TIME ZONE 'UTC')"),
        "localOffsetHours": agg(
            "extract(epoch FROM (t.local_date_time - t.file_created_at))::real / 3600"
        ),
        "duration": agg("t.duration_ms"),
        "projectionType": agg("t.projection_type"),
        "livePhotoVideoId": agg("t.live_photo_video_id"),
    }
    if not hide_place:
        columns["city"] = agg("t.city")
        columns["country"] = agg("t.country")
        if with_coordinates:
            columns["latitude"] = agg("t.latitude")
            columns["longitude"] = agg("t.longitude")
    if f.with_stacked:
        columns["stack"] = agg(
            "CASE WHEN t.stack_count > 0 "
            "THEN json_build_array(t.stack_id::text, t.stack_count::text) END"
        )
    fields = ", ".join(f"'{name}', {expression}" for name, expression in columns.items())
    body = await pool.fetchval(f"SELECT json_build_object({fields})::text FROM ({rows}) t", *args)
    return body.encode()


async def album_asset_ids(
    pool: asyncpg.Pool, album_id: uuid.UUID, *, include_archived: bool = True
) -> list[uuid.UUID]:
    """Ids of the active assets of album ``album_id`` (check :func:`can_read_album` first)."""
    visibilities = ["timeline", "archive"] if include_archived else ["timeline"]
    rows = await pool.fetch(
        "SELECT a.id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id "
        "WHERE aa.album_id = $1 AND a.status = 'active' AND a.visibility = ANY($2::text[]) "
        "ORDER BY a.local_date_time, a.id",
        album_id,
        visibilities,
    )
    return [r["id"] for r in rows]


async def downloadable_assets(
    pool: asyncpg.Pool, viewer_id: uuid.UUID, ids: list[uuid.UUID], *, unlocked: bool = False
) -> list[assets.Asset]:
    """The assets among ``ids`` that ``viewer_id`` may download: theirs (trash included),
    active ones in albums they own or are a member of, and those a partner shares with them
    (:func:`darkroom_db.partners.partner_assets`). Locked ones only with ``unlocked`` (the
    viewer's own, through a session unlocked with the PIN code).

    Returns:
        Asset rows in no particular order; ids the viewer may not touch are left out.
    """
    rows = await pool.fetch(
        f"SELECT {assets.ASSET_COLUMNS} FROM assets WHERE id = ANY($2::uuid[]) "
        "AND ($3 OR visibility <> 'locked') "
        "AND status <> 'deleted' AND (owner_id = $1 OR (status = 'active' AND EXISTS ("
        " SELECT 1 FROM album_assets aa JOIN albums al ON al.id = aa.album_id "
        " WHERE aa.asset_id = assets.id AND (al.owner_id = $1 OR EXISTS ("
        "  SELECT 1 FROM album_users au WHERE au.album_id = al.id AND au.user_id = $1)))))",
        viewer_id,
        ids,
        unlocked,
    )
    found = [assets.Asset(**dict(r)) for r in rows]
    rest = set(ids) - {a.id for a in found}
    return found + (await partners.partner_assets(pool, viewer_id, list(rest)) if rest else [])
