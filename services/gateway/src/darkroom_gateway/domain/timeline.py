"""The timeline: months with their counts, and one month's assets as columns.

Immich's web and mobile timelines call ``GET /api/timeline/buckets`` once, then
``GET /api/timeline/bucket?timeBucket=YYYY-MM-01`` for the months scrolled into view. A bucket
is COLUMNAR (TimeBucketAssetResponseDto): one array per field, index i of every array
describing the same asset.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Literal

import msgspec
from darkroom_db import partners, people, tags, timeline
from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, NoAccess
from darkroom_gateway.shared_access import link_album

Visibility = Literal["archive", "timeline", "hidden", "locked"]
UNSET = msgspec.UNSET


class TimeBucket(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: TimeBucketsResponseDto."""

    time_bucket: str
    count: int


class TimeBucketAssets(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: TimeBucketAssetResponseDto (columnar; optional columns only when asked for, and
    ``city``/``country`` left out for a shared link without metadata). The times are UTC
    ``timestamp`` strings as Immich's SQL writes them (``2024-01-02T03:04:05.5``, no zone)."""

    id: list[str]
    owner_id: list[str]
    ratio: list[float]
    is_favorite: list[bool]
    visibility: list[str]
    is_trashed: list[bool]
    is_image: list[bool]
    thumbhash: list[str | None]
    file_created_at: list[str]
    created_at: list[str]
    local_offset_hours: list[float]
    duration: list[int | None]
    projection_type: list[str | None]
    live_photo_video_id: list[str | None]
    city: list[str | None] | msgspec.UnsetType = UNSET
    country: list[str | None] | msgspec.UnsetType = UNSET
    latitude: list[float | None] | msgspec.UnsetType = UNSET
    longitude: list[float | None] | msgspec.UnsetType = UNSET
    stack: list[list[str] | None] | msgspec.UnsetType = UNSET


#: The columns every bucket has (the spec's ``required``), as :class:`TimeBucketAssets` names them.
REQUIRED_COLUMNS = (
    "id",
    "owner_id",
    "ratio",
    "is_favorite",
    "visibility",
    "is_trashed",
    "is_image",
    "thumbhash",
    "file_created_at",
    "created_at",
    "local_offset_hours",
    "duration",
    "projection_type",
    "live_photo_video_id",
)


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in degrees -> a tuple.

    Raises:
        BadRequest: Not four numbers within range.
    """
    if not value:
        return None
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except ValueError as exc:
        raise BadRequest("bbox must be west,south,east,north") from exc
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise BadRequest("bbox must be west,south,east,north")
    return west, south, east, north


#: A bucket: an optional sign (ISO 8601 expanded years, as ``toISOString`` writes them past
#: 9999), the year, month and day; anything after (a time) is not looked at.
BUCKET = re.compile(r"\s*[+-]?(\d{4,})-(\d\d)-(\d\d)")


def parse_bucket(value: str) -> date | None:
    """``2024-05-01`` (or an ISO date-time in that month) -> the first day of its month; None
    for a year past 9999, which holds no asset (Immich strips the sign and answers an empty
    bucket: its test "should handle 5 digit years").

    Raises:
        BadRequest: Not a date.
    """
    found = BUCKET.match(value)
    try:
        if found is None:
            raise ValueError(value)
        year, month, day = (int(part) for part in found.groups())
        if year > 9999:
            return None
        return date(year, month, day).replace(day=1)
    except ValueError as exc:
        raise BadRequest("timeBucket must be a date like 2024-01-01") from exc


def empty_bucket(f: timeline.TimelineFilter, *, with_coordinates: bool, hide_place: bool) -> bytes:
    """The JSON of a bucket without assets, with the columns a filled one would have."""
    return msgspec.json.encode(
        TimeBucketAssets(
            **{name: [] for name in REQUIRED_COLUMNS},
            **({} if hide_place else {"city": [], "country": []}),
            **({"latitude": [], "longitude": []} if with_coordinates and not hide_place else {}),
            **({"stack": []} if f.with_stacked else {}),
        )
    )


async def timeline_filter(
    deps: NamedDependency[Deps],
    auth: NamedDependency[Auth],
    album_id: Annotated[uuid.UUID | None, QueryParameter(name="albumId")] = None,
    bbox: FromQuery[str | None] = None,
    is_favorite: Annotated[bool | None, QueryParameter(name="isFavorite")] = None,
    is_trashed: Annotated[bool | None, QueryParameter(name="isTrashed")] = None,
    key: FromQuery[str | None] = None,
    order: FromQuery[Literal["asc", "desc"] | None] = None,
    order_by: Annotated[
        Literal["takenAt", "createdAt"] | None, QueryParameter(name="orderBy")
    ] = None,
    person_id: Annotated[uuid.UUID | None, QueryParameter(name="personId")] = None,
    slug: FromQuery[str | None] = None,
    tag_id: Annotated[uuid.UUID | None, QueryParameter(name="tagId")] = None,
    user_id: Annotated[uuid.UUID | None, QueryParameter(name="userId")] = None,
    visibility: FromQuery[Visibility | None] = None,
    with_partners: Annotated[bool | None, QueryParameter(name="withPartners")] = None,
    with_stacked: Annotated[bool | None, QueryParameter(name="withStacked")] = None,
) -> timeline.TimelineFilter:
    """Check access and build the repository filter of a timeline request: the query
    parameters both timeline routes share (a dependency of the controller). ``key``/``slug``
    are read by the auth guard: a caller through a shared link gets its album's timeline only
    (``albumId`` required, no other scope; trash, visibility and area filters are ignored).
    ``withPartners`` adds the assets of the users who share with the caller and whom the
    caller shows in their timeline (``inTimeline``); as in Immich's ``timeline.service.ts`` it
    is only allowed for ``visibility=timeline`` without a favourite or trash filter.
    ``withStacked`` shows each stack once, as its primary, in the counts and the buckets
    (the bucket's ``stack`` column then carries ``[stackId, count]``).

    Raises:
        NoAccess: A shared link without its own album's ``albumId`` (or with another scope).
        BadRequest: ``userId`` is neither the caller nor a partner sharing with them (or a
            partner's archive, trash or locked folder), ``albumId`` an album the caller cannot read,
            ``personId`` not one of the caller's people or ``tagId`` not one of their tags
            (Immich answers access errors of query ids with 400), or ``withPartners`` with
            archived, favourite, trashed or locked assets asked for.
    """
    if visibility == "locked":  # the locked folder: only through an unlocked session
        auth.require_elevated()
    if auth.shared_link is not None:  # a link sees its album's timeline and nothing else
        if album_id is None or user_id is not None:
            # Immich's timeBucketChecks: without an albumId the timeline is the link owner's
            # (or userId's), and TimelineRead is a permission no shared link grants
            raise NoAccess("timeline.read")
        if person_id is not None or tag_id or with_partners:
            raise NoAccess("album.read")
        await link_album(deps, auth.shared_link, album_id, "album.read")
        is_trashed, visibility, bbox = None, None, None
    elif user_id is not None and user_id != auth.user.id:
        # a partner's timeline (Immich's TimelineRead: the user or a sharer sharing with
        # them); their archive, trash and locked folder stay theirs (ArchiveRead: the owner)
        if user_id not in await partners.sharer_ids(deps.pool, auth.user.id):
            raise NoAccess("timeline.read")
        if visibility in ("archive", "hidden", "locked") or is_trashed:
            raise NoAccess("archive.read")
    if album_id is not None and not await timeline.can_read_album(
        deps.pool, auth.user.id, album_id
    ):
        raise NoAccess("album.read")
    if person_id is not None and not await people.get_person(deps.pool, auth.user.id, person_id):
        raise NoAccess("person.read")
    if tag_id is not None and not await tags.get_tag(deps.pool, auth.user.id, tag_id):
        raise NoAccess("tag.read")
    partner_ids: tuple[uuid.UUID, ...] = ()
    if with_partners:
        if visibility in (None, "archive", "locked") or is_favorite is not None or is_trashed:
            raise BadRequest(
                "withPartners is only supported for non-archived, non-trashed, non-favorited, "
                "non-locked assets"
            )
        if album_id is None:
            partner_ids = tuple(
                await partners.sharer_ids(deps.pool, auth.user.id, in_timeline=True)
            )
    owner_ids: tuple[uuid.UUID, ...] = ()
    if user_id is not None and auth.shared_link is None:
        owner_ids = (user_id, *(partner_ids if user_id == auth.user.id else ()))
    return timeline.TimelineFilter(
        partner_ids=partner_ids,
        owner_ids=owner_ids,
        viewer_id=auth.user.id,
        album_id=album_id,
        person_id=person_id,
        tag_id=tag_id,
        is_favorite=is_favorite,
        is_trashed=is_trashed,
        visibility=visibility,
        bbox=_bbox(bbox),
        order=order or "desc",
        order_by=order_by or "takenAt",
        with_stacked=bool(with_stacked),
        unlocked=auth.elevated,
    )


class TimelineController(Controller):
    """/api/timeline."""

    path = "/api/timeline"
    dependencies = {"f": Provide(timeline_filter)}  # noqa: RUF012 - Litestar's declaration style

    @get("/buckets", permission="asset.read", shared_link=True)
    async def get_time_buckets(
        self,
        deps: NamedDependency[Deps],
        f: NamedDependency[timeline.TimelineFilter],
        auth: NamedDependency[Auth],
        with_coordinates: Annotated[bool | None, QueryParameter(name="withCoordinates")] = None,
    ) -> list[TimeBucket]:
        """Months holding matching assets, with their counts (newest first by default)."""
        return [
            TimeBucket(time_bucket=month.isoformat(), count=count)
            for month, count in await timeline.time_buckets(deps.pool, f)
        ]

    @get("/bucket", permission="asset.read", shared_link=True)
    async def get_time_bucket(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        f: NamedDependency[timeline.TimelineFilter],
        time_bucket: Annotated[str, QueryParameter(name="timeBucket")],
        with_coordinates: Annotated[bool | None, QueryParameter(name="withCoordinates")] = None,
    ) -> TimeBucketAssets:
        """The matching assets of one month, as columns (JSON built by PostgreSQL,
        :func:`darkroom_db.timeline.time_bucket_json`)."""
        hide_place = auth.shared_link is not None and not auth.shared_link.show_metadata
        month = parse_bucket(time_bucket)
        options = {"with_coordinates": bool(with_coordinates), "hide_place": hide_place}
        body = (
            empty_bucket(f, **options)
            if month is None
            else await timeline.time_bucket_json(deps.pool, f, month, **options)
        )
        return Response(body, media_type=MediaType.JSON)  # type: ignore[return-value]


ROUTES = [TimelineController]
