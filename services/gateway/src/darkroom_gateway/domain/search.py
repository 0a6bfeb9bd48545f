"""Search: metadata, smart (CLIP, through the search service), random, statistics, explore,
places, cities, suggestions and people.

Every asset query is scoped to the caller's own assets (``darkroom_db.search.where_clause``
always filters by owner): a filter naming another user's album or person matches nothing. Metadata,
smart, random and statistics search, cities and suggestions also include the timeline assets
of the users who share their library with the caller and whom the caller shows in their
timeline (as Immich), with their favourite flags hidden (``isFavorite`` false).
Smart search asks the search service over NATS (``darkroom.rpc.search.smart``) for one page of
asset ids, then loads those assets here; when no CLIP model is loaded the answer is a 400 whose
message says so, and everything else keeps working. Place search looks up the GeoNames
gazetteer (:mod:`darkroom_gateway.places`), not anyone's photos, as Immich.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from darkroom_bus import RpcError, RpcTimeout, RpcUnavailable
from darkroom_db import partners, people
from darkroom_db import search as search_db
from darkroom_events.catalogue import SearchFilters, SmartSearchReply, SmartSearchRequest
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import AssetResponse, asset_response, parse_checksum
from darkroom_gateway.errors import ApiError, BadRequest

log = structlog.get_logger()

AssetType = Literal["IMAGE", "VIDEO", "AUDIO", "OTHER"]
Visibility = Literal["archive", "timeline", "hidden", "locked"]
SuggestionType = Literal[
    "country", "state", "city", "camera-make", "camera-model", "camera-lens-model"
]
UNSET = msgspec.UNSET
NullableStr = str | None | msgspec.UnsetType
#: Immich's default page size of metadata and smart search, and the largest it allows.
DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 1000
#: Seconds the gateway waits for the search service (text encoding + vector query).
SMART_SEARCH_TIMEOUT_S = 30.0
#: Shown when nobody serves smart search (the search service is not running).
SMART_SEARCH_UNAVAILABLE = "Smart search is not available: the search service is not running"


class ServiceUnavailable(ApiError):
    """503: a back-end service did not answer in time."""

    status = 503


class SearchFilterDto(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Fields every search DTO of the spec shares (RandomSearchDto, SmartSearchDto, ...)."""

    album_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    city: NullableStr = UNSET
    country: NullableStr = UNSET
    state: NullableStr = UNSET
    make: NullableStr = UNSET
    model: NullableStr = UNSET
    lens_model: NullableStr = UNSET
    rating: int | None | msgspec.UnsetType = UNSET
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    trashed_after: datetime | None = None
    trashed_before: datetime | None = None
    is_encoded: bool | None = None
    is_favorite: bool | None = None
    is_motion: bool | None = None
    is_not_in_album: bool | None = None
    is_offline: bool | None = None
    library_id: uuid.UUID | None = None
    ocr: str | None = None
    person_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    #: Absent: no tag filter; null: only untagged assets (Immich 3.1's "Untagged" search).
    tag_ids: list[uuid.UUID] | None | msgspec.UnsetType = UNSET
    type: AssetType | None = None
    visibility: Visibility | None = None
    with_deleted: bool | None = None
    with_exif: bool | None = None


class MetadataSearchDto(SearchFilterDto, frozen=True, kw_only=True, rename="camel"):
    """Spec: MetadataSearchDto."""

    checksum: str | None = None
    description: str | None = None
    encoded_video_path: str | None = None
    id: uuid.UUID | None = None
    order: Literal["asc", "desc"] = "desc"
    original_file_name: str | None = None
    original_path: str | None = None
    page: int = 1
    preview_path: str | None = None
    size: int = DEFAULT_PAGE_SIZE
    thumbnail_path: str | None = None
    with_people: bool | None = None
    with_stacked: bool | None = None


class SmartSearchDto(SearchFilterDto, frozen=True, kw_only=True, rename="camel"):
    """Spec: SmartSearchDto."""

    language: str | None = None
    page: int = 1
    query: str | None = None
    query_asset_id: uuid.UUID | None = None
    size: int = DEFAULT_PAGE_SIZE


class RandomSearchDto(SearchFilterDto, frozen=True, kw_only=True, rename="camel"):
    """Spec: RandomSearchDto."""

    size: int = DEFAULT_PAGE_SIZE
    with_people: bool | None = None
    with_stacked: bool | None = None


class StatisticsSearchDto(SearchFilterDto, frozen=True, kw_only=True, rename="camel"):
    """Spec: StatisticsSearchDto."""

    description: str | None = None


class LargeAssetSearchDto(SearchFilterDto, frozen=True, kw_only=True, rename="camel"):
    """The query of ``POST /api/search/large-assets`` (the spec sends these filters as query
    parameters, not a body): the shared filters plus ``minFileSize`` (bytes) and ``size``."""

    min_file_size: int = 0
    size: int = DEFAULT_PAGE_SIZE


class SearchFacetCount(msgspec.Struct, frozen=True):
    """Spec: SearchFacetCountResponseDto."""

    count: int
    value: str


class SearchFacet(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: SearchFacetResponseDto."""

    field_name: str
    counts: list[SearchFacetCount]


class SearchAssetResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: SearchAssetResponseDto (``nextPage`` is the next page number as a string)."""

    items: list[AssetResponse]
    total: int
    count: int
    next_page: str | None
    facets: list[SearchFacet] = msgspec.field(default_factory=list)


class SearchAlbumResult(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SearchAlbumResponseDto (asset searches find no albums)."""

    items: list[dict[str, Any]] = msgspec.field(default_factory=list)
    total: int = 0
    count: int = 0
    facets: list[SearchFacet] = msgspec.field(default_factory=list)


class SearchResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: SearchResponseDto."""

    assets: SearchAssetResult
    albums: SearchAlbumResult = msgspec.field(default_factory=SearchAlbumResult)


class SearchStatisticsResponse(msgspec.Struct, frozen=True):
    """Spec: SearchStatisticsResponseDto."""

    total: int


class SearchExploreItem(msgspec.Struct, frozen=True):
    """Spec: SearchExploreItem."""

    value: str
    data: AssetResponse


class SearchExploreResponse(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: SearchExploreResponseDto."""

    field_name: str
    items: list[SearchExploreItem]


class PlacesResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Spec: PlacesResponseDto (``admin1name`` is the state/province, ``admin2name`` the
    county/district; each left out when GeoNames has none, as Immich's ``mapPlaces``)."""

    name: str
    latitude: float
    longitude: float
    admin1name: str | None = None
    admin2name: str | None = None


class PersonResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PersonResponseDto."""

    id: str
    name: str
    birth_date: date | None
    thumbnail_path: str
    is_hidden: bool
    is_favorite: bool
    color: str | msgspec.UnsetType = msgspec.UNSET  # optional, not nullable
    updated_at: datetime


def _check_page(page: int, size: int) -> None:
    if page < 1:
        raise BadRequest("page must not be less than 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"size must be between 1 and {MAX_PAGE_SIZE}")


#: The EXIF text filters where an empty string means "no value" (``IS NULL``), as ``null`` does:
#: Immich's metadata search e2e expects ``{city: ''}`` to find the same assets as
#: ``{city: null}`` (the assets without a place), not none.
EXIF_TEXT_FILTERS = ("city", "state", "country", "make", "model", "lens_model")


def db_filters(dto: SearchFilterDto, auth: Auth) -> search_db.AssetFilters:
    """The request's filters as the repository's :class:`~darkroom_db.search.AssetFilters`.
    An empty EXIF text filter (:data:`EXIF_TEXT_FILTERS`) is read as ``null``.

    Args:
        dto: The request's filters.
        auth: The caller: ``visibility: locked`` needs a session unlocked with the PIN code.

    Raises:
        BadRequest: A checksum that is not a SHA-1, or a rating outside 1..5.
        Unauthorized: ``visibility: locked`` without an unlocked session (Immich's
            ``requireElevatedPermission``: 401 ``Elevated permission is required``).
    """
    if dto.visibility == "locked":
        auth.require_elevated()
    if isinstance(dto.rating, int) and not 1 <= dto.rating <= 5:
        raise BadRequest("rating must be between 1 and 5")
    fields: dict[str, Any] = {
        name: getattr(dto, name)
        for name in search_db.AssetFilters.__struct_fields__
        if hasattr(dto, name) and name not in ("checksum", "with_deleted")
    }
    for name in EXIF_TEXT_FILTERS:  # "" asks for the unset value, as null does
        if fields[name] == "":
            fields[name] = None
    fields["with_deleted"] = bool(dto.with_deleted)
    fields["album_ids"] = list(dto.album_ids)
    fields["person_ids"] = list(dto.person_ids)
    fields["tag_ids"] = dto.tag_ids if isinstance(dto.tag_ids, list) else None
    fields["is_untagged"] = dto.tag_ids is None
    fields["with_stacked"] = getattr(dto, "with_stacked", None)
    fields["unlocked"] = auth.elevated
    checksum = getattr(dto, "checksum", None)
    if checksum:
        fields["checksum"] = parse_checksum(checksum)
    return search_db.AssetFilters(**fields)


def wire_filters(f: search_db.AssetFilters) -> SearchFilters:
    """Repository filters as the smart-search request carries them (JSON, string ids)."""
    raw = msgspec.to_builtins(f)
    raw.pop("id", None)
    raw.pop("checksum", None)
    raw.pop("original_path", None)
    raw.pop("with_stacked", None)
    return msgspec.convert(raw, SearchFilters)


def _responses(
    rows: list[Any],
    viewer_id: uuid.UUID,
    shown: dict[uuid.UUID, list[people.Person]] | None = None,
) -> list[AssetResponse]:
    """AssetResponseDto of each (asset, exif) row; ``isFavorite`` only for the viewer's own;
    ``people`` from ``shown`` (:func:`_people`), the viewer's own assets only."""
    out = []
    for a, e in rows:
        if a.owner_id != viewer_id:  # a partner's asset: no favourite, no people of theirs
            out.append(msgspec.structs.replace(asset_response(a, e), is_favorite=False))
        else:
            out.append(asset_response(a, e, shown.get(a.id, []) if shown is not None else None))
    return out


async def _people(
    deps: Deps, assets: list[Any], viewer_id: uuid.UUID, with_people: bool | None
) -> dict[uuid.UUID, list[people.Person]] | None:
    """The people in the viewer's assets of a page when the request asked (``withPeople``)."""
    if not with_people:
        return None
    return await people.people_of_assets(deps.pool, viewer_id, [a.id for a in assets])


async def _page(
    deps: Deps,
    assets: list[Any],
    *,
    page: int,
    has_more: bool,
    viewer_id: uuid.UUID,
    with_people: bool | None = None,
) -> SearchResponse:
    rows = await search_db.with_exif(deps.pool, assets)
    items = _responses(rows, viewer_id, await _people(deps, assets, viewer_id, with_people))
    return SearchResponse(
        assets=SearchAssetResult(
            items=items,
            total=len(items),
            count=len(items),
            next_page=str(page + 1) if has_more else None,
        )
    )


async def _partner_ids(deps: Deps, auth: Auth) -> list[uuid.UUID]:
    """The users whose timeline assets the caller's searches include: those sharing their
    library with the caller whom the caller shows in their timeline (Immich's
    ``getUserIdsToSearch``: metadata, smart, random and statistics search, cities and
    suggestions)."""
    return await partners.sharer_ids(deps.pool, auth.user.id, in_timeline=True)


class SearchController(Controller):
    """/api/search."""

    path = "/api/search"

    @post("/metadata", status_code=200, permission="asset.read")
    async def search_assets(
        self,
        data: JSONBody[MetadataSearchDto],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: FromQuery[str | None] = None,
        slug: FromQuery[str | None] = None,
    ) -> SearchResponse:
        """One page of the caller's assets matching every given filter, newest first."""
        _check_page(data.page, data.size)
        found, has_more = await search_db.search_metadata(
            deps.pool,
            auth.user.id,
            db_filters(data, auth),
            page=data.page,
            size=data.size,
            order=data.order,
            partner_ids=await _partner_ids(deps, auth),
        )
        return await _page(
            deps,
            found,
            page=data.page,
            has_more=has_more,
            viewer_id=auth.user.id,
            with_people=data.with_people,
        )

    @post("/smart", status_code=200, permission="asset.read")
    async def search_smart(
        self,
        data: JSONBody[SmartSearchDto],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SearchResponse:
        """One page of the caller's assets that look most like ``query`` (CLIP), filtered.

        Raises:
            BadRequest: No query, or smart search is not available (no model / no service).
            ServiceUnavailable: The search service did not answer in time.
        """
        _check_page(data.page, data.size)
        if not (data.query and data.query.strip()) and data.query_asset_id is None:
            raise BadRequest("Either query or queryAssetId must be set")
        partner_ids = await _partner_ids(deps, auth)
        request = SmartSearchRequest(
            owner_id=str(auth.user.id),
            partner_ids=[str(i) for i in partner_ids],
            query=data.query,
            query_asset_id=str(data.query_asset_id) if data.query_asset_id else None,
            language=data.language,
            filters=wire_filters(db_filters(data, auth)),
            page=data.page,
            size=data.size,
        )
        try:
            reply = await deps.bus.request(
                SmartSearchRequest.subject,
                request,
                SmartSearchReply,
                timeout=SMART_SEARCH_TIMEOUT_S,
            )
        except RpcUnavailable as exc:
            raise BadRequest(SMART_SEARCH_UNAVAILABLE) from exc
        except RpcTimeout as exc:
            raise ServiceUnavailable("Smart search timed out; try again") from exc
        except RpcError as exc:
            log.warning("search.smart_failed", error=str(exc))
            raise ServiceUnavailable("Smart search failed") from exc
        if reply.status != "ok":
            raise BadRequest(reply.error or "Smart search is not available")
        ids = [uuid.UUID(i) for i in reply.asset_ids]
        found = await search_db.assets_in_order(
            deps.pool, auth.user.id, ids, partner_ids=partner_ids
        )
        return await _page(
            deps, found, page=data.page, has_more=reply.has_more, viewer_id=auth.user.id
        )

    @post("/random", status_code=200, permission="asset.read")
    async def search_random(
        self,
        data: JSONBody[RandomSearchDto],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[AssetResponse]:
        """Up to ``size`` of the caller's assets matching the filters, in random order."""
        _check_page(1, data.size)
        found = await search_db.random_assets(
            deps.pool,
            auth.user.id,
            db_filters(data, auth),
            size=data.size,
            partner_ids=await _partner_ids(deps, auth),
        )
        return _responses(
            await search_db.with_exif(deps.pool, found),
            auth.user.id,
            await _people(deps, found, auth.user.id, data.with_people),
        )

    @post("/statistics", status_code=200, permission="asset.statistics")
    async def search_asset_statistics(
        self,
        data: JSONBody[StatisticsSearchDto],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SearchStatisticsResponse:
        """How many of the caller's assets match the filters."""
        total = await search_db.count_assets(
            deps.pool,
            auth.user.id,
            db_filters(data, auth),
            partner_ids=await _partner_ids(deps, auth),
        )
        return SearchStatisticsResponse(total=total)

    @post("/large-assets", status_code=200, permission="asset.read")
    async def search_large_assets(  # noqa: PLR0913 - the spec's query parameters
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        album_ids: Annotated[list[uuid.UUID] | None, QueryParameter(name="albumIds")] = None,
        city: Annotated[str | None, QueryParameter(name="city")] = None,
        country: Annotated[str | None, QueryParameter(name="country")] = None,
        created_after: Annotated[datetime | None, QueryParameter(name="createdAfter")] = None,
        created_before: Annotated[datetime | None, QueryParameter(name="createdBefore")] = None,
        is_encoded: Annotated[bool | None, QueryParameter(name="isEncoded")] = None,
        is_favorite: Annotated[bool | None, QueryParameter(name="isFavorite")] = None,
        is_motion: Annotated[bool | None, QueryParameter(name="isMotion")] = None,
        is_not_in_album: Annotated[bool | None, QueryParameter(name="isNotInAlbum")] = None,
        is_offline: Annotated[bool | None, QueryParameter(name="isOffline")] = None,
        lens_model: Annotated[str | None, QueryParameter(name="lensModel")] = None,
        library_id: Annotated[uuid.UUID | None, QueryParameter(name="libraryId")] = None,
        make: Annotated[str | None, QueryParameter(name="make")] = None,
        min_file_size: Annotated[int | None, QueryParameter(name="minFileSize")] = None,
        model: Annotated[str | None, QueryParameter(name="model")] = None,
        ocr: Annotated[str | None, QueryParameter(name="ocr")] = None,
        person_ids: Annotated[list[uuid.UUID] | None, QueryParameter(name="personIds")] = None,
        rating: Annotated[int | None, QueryParameter(name="rating")] = None,
        size: Annotated[int | None, QueryParameter(name="size")] = None,
        state_name: Annotated[str | None, QueryParameter(name="state")] = None,
        tag_ids: Annotated[list[uuid.UUID] | None, QueryParameter(name="tagIds")] = None,
        taken_after: Annotated[datetime | None, QueryParameter(name="takenAfter")] = None,
        taken_before: Annotated[datetime | None, QueryParameter(name="takenBefore")] = None,
        trashed_after: Annotated[datetime | None, QueryParameter(name="trashedAfter")] = None,
        trashed_before: Annotated[datetime | None, QueryParameter(name="trashedBefore")] = None,
        kind: Annotated[AssetType | None, QueryParameter(name="type")] = None,
        updated_after: Annotated[datetime | None, QueryParameter(name="updatedAfter")] = None,
        updated_before: Annotated[datetime | None, QueryParameter(name="updatedBefore")] = None,
        visibility: Annotated[Visibility | None, QueryParameter(name="visibility")] = None,
        with_deleted: Annotated[bool | None, QueryParameter(name="withDeleted")] = None,
        with_exif: Annotated[bool | None, QueryParameter(name="withExif")] = None,
    ) -> list[AssetResponse]:
        """Up to ``size`` (default 250) of the caller's own assets matching the filters (query
        parameters, as the spec sends them) whose original is at least ``minFileSize`` bytes,
        largest first (the web app's "Large files" utility). Partners' assets are not listed:
        the list is for tidying one's own library.

        Raises:
            BadRequest: ``minFileSize`` below 0, ``size`` outside 1..1000 or a rating outside
                1..5 (a value of the wrong type is Litestar's 400 validation error).
        """
        given = {
            name: value
            for name, value in locals().items()
            if name not in ("self", "auth", "deps", "kind", "state_name") and value is not None
        }
        # ``type`` and ``state`` are the spec's names (Litestar reserves ``state``)
        if kind is not None:
            given["type"] = kind
        if state_name is not None:
            given["state"] = state_name
        dto = LargeAssetSearchDto(**given)
        if dto.min_file_size < 0:
            raise BadRequest("minFileSize must not be less than 0")
        _check_page(1, dto.size)
        found = await search_db.large_assets(
            deps.pool,
            auth.user.id,
            db_filters(dto, auth),
            min_file_size=dto.min_file_size,
            size=dto.size,
        )
        return _responses(await search_db.with_exif(deps.pool, found), auth.user.id)

    @get("/explore", permission="asset.read")
    async def get_explore_data(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[SearchExploreResponse]:
        """The caller's cities with at least 5 assets, by name, one photo each (the Explore
        page; Immich's ``getExploreData``: ``search_db.explore_cities``)."""
        cities = await search_db.explore_cities(deps.pool, auth.user.id)
        rows = await search_db.with_exif(deps.pool, [a for _, a in cities])
        items = [
            SearchExploreItem(value=city, data=asset_response(a, e))
            for (city, _), (a, e) in zip(cities, rows, strict=True)
        ]
        return [SearchExploreResponse(field_name="exifInfo.city", items=items)]

    @get("/places", permission="asset.read")
    async def search_places(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        name: Annotated[str, QueryParameter(name="name")],
    ) -> list[PlacesResponse]:
        """GeoNames places whose name, county or state is like ``name`` (Immich's
        ``searchPlaces``: the whole gazetteer, not the caller's photos; best 20 first). The
        list is read and searched in a thread: the first search loads it (about 2 s)."""
        found = await asyncio.to_thread(deps.places.search, name)
        return [
            PlacesResponse(
                name=p.name,
                latitude=p.latitude,
                longitude=p.longitude,
                admin1name=p.admin1,
                admin2name=p.admin2,
            )
            for p in found
        ]

    @get("/cities", permission="asset.read")
    async def get_assets_by_city(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[AssetResponse]:
        """One photo per city of the caller's timeline and of the partners they show in it
        (Immich's ``getAssetsByCity`` searches ``getUserIdsToSearch``; images only)."""
        found = await search_db.assets_by_city(
            deps.pool, auth.user.id, partner_ids=await _partner_ids(deps, auth)
        )
        return _responses(await search_db.with_exif(deps.pool, found), auth.user.id)

    @get("/suggestions", permission="asset.read")
    async def get_search_suggestions(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        kind: Annotated[SuggestionType, QueryParameter(name="type")],
        country: FromQuery[str | None] = None,
        state_name: Annotated[str | None, QueryParameter(name="state")] = None,
        make: FromQuery[str | None] = None,
        model: FromQuery[str | None] = None,
        lens_model: Annotated[str | None, QueryParameter(name="lensModel")] = None,
        include_null: Annotated[bool | None, QueryParameter(name="includeNull")] = None,
    ) -> list[str | None]:
        """Values of one place or camera field in the caller's timeline and their partners'
        (Immich's ``getSearchSuggestions``), narrowed by the fields that apply to ``type``;
        ``includeNull`` appends null."""
        return await search_db.suggestions(
            deps.pool,
            auth.user.id,
            kind,
            country=country,
            state=state_name,
            make=make,
            model=model,
            lens_model=lens_model,
            include_null=bool(include_null),
            partner_ids=await _partner_ids(deps, auth),
        )

    @get("/person", permission="person.read")
    async def search_person(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        name: Annotated[str, QueryParameter(name="name")],
        with_hidden: Annotated[bool | None, QueryParameter(name="withHidden")] = None,
    ) -> list[PersonResponse]:
        """The caller's people whose name is like ``name`` (pg_trgm word similarity of the
        unaccented names, nearest first, at most 100: Immich's ``searchPerson``)."""
        hits = await search_db.people_by_name(
            deps.pool, auth.user.id, name, with_hidden=bool(with_hidden)
        )
        return [
            PersonResponse(
                id=str(p.id),
                name=p.name,
                birth_date=p.birth_date,
                thumbnail_path=p.thumbnail_path,
                is_hidden=p.is_hidden,
                is_favorite=p.is_favorite,
                color=msgspec.UNSET if p.color is None else p.color,
                updated_at=p.updated_at,
            )
            for p in hits
        ]


ROUTES = [SearchController]
