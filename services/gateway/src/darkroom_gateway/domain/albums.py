"""Albums and album sharing: /api/albums.

Who may do what (the spec's permissions, Immich's album roles):
- the owner: everything (update, delete, share, change roles, add and remove any asset);
- an editor: see the album, add assets they can view, remove assets they own, leave;
- a viewer: see the album and its assets, leave;
- anyone else: 404, as if the album did not exist.
A member who lacks the right for an action gets 403.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
import structlog
from darkroom_db import albums, shared_links, users
from darkroom_events import AlbumCreated, AlbumUpdated
from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.notifications import album_invited, album_updated
from darkroom_gateway.domain.users import UserResponse, preferences_response, user_response
from darkroom_gateway.errors import BadRequest, NoAccess
from darkroom_gateway.permissions import Permission, require_access
from darkroom_gateway.schemas import (
    BulkIdError,
    BulkIdResponse,
    BulkIds,
    add_outcomes,
    bulk_id_responses,
    remove_outcomes,
)
from darkroom_gateway.shared_access import link_album

log = structlog.get_logger()

MemberRole = Literal["editor", "viewer"]


class AlbumUserResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AlbumUserResponseDto."""

    role: Literal["editor", "owner", "viewer"]
    user: UserResponse


class ContributorCount(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: ContributorCountResponseDto."""

    user_id: str
    asset_count: int


class AlbumResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Spec: AlbumResponseDto (optional fields are left out when unknown)."""

    id: str
    album_name: str
    description: str
    album_thumbnail_asset_id: str | None
    album_users: list[AlbumUserResponse]
    asset_count: int
    created_at: datetime
    updated_at: datetime
    has_shared_link: bool
    is_activity_enabled: bool
    shared: bool
    order: Literal["asc", "desc"] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    last_modified_asset_timestamp: datetime | None = None
    contributor_counts: list[ContributorCount] | None = None


class AlbumUserCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AlbumUserCreateDto."""

    user_id: uuid.UUID
    role: MemberRole


class CreateAlbum(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: CreateAlbumDto."""

    album_name: str
    description: str = ""
    asset_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    album_users: list[AlbumUserCreate] = msgspec.field(default_factory=list)


class UpdateAlbum(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: UpdateAlbumDto (absent fields stay as they are)."""

    album_name: str | None = None
    description: str | None = None
    album_thumbnail_asset_id: uuid.UUID | None = None
    is_activity_enabled: bool | None = None
    order: Literal["asc", "desc"] | None = None


class AlbumUserAdd(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AlbumUserAddDto (``owner`` is a valid role on the wire; the route refuses it)."""

    user_id: uuid.UUID
    role: Literal["editor", "owner", "viewer"] = "editor"


class AddUsers(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AddUsersDto."""

    album_users: list[AlbumUserAdd]


class UpdateAlbumUser(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: UpdateAlbumUserDto (``owner`` is not a role one can be given)."""

    role: MemberRole


class AlbumsAddAssets(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AlbumsAddAssetsDto."""

    album_ids: list[uuid.UUID]
    asset_ids: list[uuid.UUID]


class AlbumsAddAssetsResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Spec: AlbumsAddAssetsResponseDto."""

    success: bool
    error: BulkIdError | None = None


class AlbumStatistics(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AlbumStatisticsResponseDto."""

    owned: int
    shared: int
    not_shared: int


class MapMarkerResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MapMarkerResponseDto."""

    id: str
    lat: float
    lon: float
    city: str | None
    state: str | None
    country: str | None


def _day(value: datetime | None) -> datetime | None:
    """The UTC midnight of ``value``'s day (a ``localDateTime``: local wall time written as
    UTC), as Immich's ``AlbumRepository.getMetadataForIds`` gives an album's ``startDate`` and
    ``endDate``: ``min/max(("localDateTime" AT TIME ZONE 'UTC')::date)``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def album_response(
    album: albums.Album,
    members: list[albums.Member],
    viewer_id: uuid.UUID,
    contributor_counts: dict[uuid.UUID, int] | None = None,
    has_shared_link: bool = False,
    *,
    day_dates: bool = False,
) -> AlbumResponse:
    """Map an album to AlbumResponseDto (``has_shared_link``: a public link opens it).

    ``albumUsers`` lists the owner first, then the caller (when not the owner), then the rest
    alphabetically, as the spec describes. ``day_dates``: ``startDate``/``endDate`` are the
    days of the earliest/latest asset (:func:`_day`), as Immich's ``GET /albums`` and
    ``GET /albums/{id}`` give them; otherwise the assets' own ``localDateTime``, as its create
    and update answers (``mapAlbum`` over the album's assets) give them.
    """
    ordered = sorted(
        members, key=lambda m: (m.role != "owner", m.user.id != viewer_id)
    )  # stable: the repository already sorted the rest by name
    return AlbumResponse(
        id=str(album.id),
        album_name=album.album_name,
        description=album.description,
        album_thumbnail_asset_id=(
            str(album.album_thumbnail_asset_id) if album.album_thumbnail_asset_id else None
        ),
        album_users=[AlbumUserResponse(role=m.role, user=user_response(m.user)) for m in ordered],
        asset_count=album.asset_count,
        created_at=album.created_at,
        updated_at=album.updated_at,
        has_shared_link=has_shared_link,
        is_activity_enabled=album.is_activity_enabled,
        shared=album.shared,
        order="asc" if album.order == "asc" else "desc",
        start_date=_day(album.start_date) if day_dates else album.start_date,
        end_date=_day(album.end_date) if day_dates else album.end_date,
        last_modified_asset_timestamp=album.last_modified_asset_timestamp,
        contributor_counts=(
            None
            if contributor_counts is None
            else [
                ContributorCount(user_id=str(user_id), asset_count=n)
                for user_id, n in sorted(contributor_counts.items(), key=lambda kv: -kv[1])
            ]
        ),
    )


#: Album roles that hold each album permission (Immich's album access: the owner holds every
#: one; an editor may also add and remove assets; any member may read).
ANY_MEMBER: tuple[albums.Role, ...] = ("owner", "editor", "viewer")
EDITORS: tuple[albums.Role, ...] = ("owner", "editor")
OWNER: tuple[albums.Role, ...] = ("owner",)


async def _role(
    deps: Deps,
    auth: Auth,
    album_id: uuid.UUID,
    permission: Permission,
    roles: tuple[albums.Role, ...] = ANY_MEMBER,
) -> albums.Role:
    """The caller's role in the album, when it is one of ``roles``.

    Args:
        deps: Connections.
        auth: The caller.
        album_id: The album.
        permission: The permission the route needs (named in the refusal).
        roles: The roles that hold it.

    Raises:
        NoAccess: The caller does not see the album, or their role does not hold
            ``permission``.
    """
    role = await albums.get_role(deps.pool, auth.user.id, album_id)
    return require_access(role if role in roles else None, permission)


async def _detail(
    deps: Deps, auth: Auth, album_id: uuid.UUID, *, full: bool = False
) -> AlbumResponse:
    """One album as the caller sees it.

    Args:
        deps: Connections.
        auth: The caller.
        album_id: The album.
        full: As ``GET /albums/{id}`` answers (Immich's ``AlbumService.get``): dates as days
            and, when the album is shared (members or a link), ``contributorCounts``; the other
            routes' answers (create, update, share) have no ``contributorCounts``.
    """
    detail = require_access(
        await albums.get_album_detail(deps.pool, auth.user.id, album_id), "album.read"
    )
    linked = album_id in await shared_links.albums_with_links(deps.pool, [album_id])
    counts = detail.contributor_counts if full and detail.album.shared else None
    return album_response(
        detail.album, detail.members, auth.user.id, counts, linked, day_dates=full
    )


async def _add_results(
    deps: Deps, auth: Auth, album_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[BulkIdResponse]:
    """Add assets to one album the caller may edit; one result per requested id, in order."""
    present = await albums.has_assets(deps.pool, album_id, ids)
    allowed = await albums.addable_assets(deps.pool, auth.user.id, ids)
    to_add = [i for i in dict.fromkeys(ids) if i not in present and i in allowed]
    added = {asset for _, asset in await albums.add_assets(deps.pool, [album_id], to_add)}
    if added:
        await album_updated(deps, [album_id], auth.user.id)
        await _changed(deps, [album_id], auth.user.id)
    return bulk_id_responses(add_outcomes(ids, added, present, allowed))


async def _changed(deps: Deps, album_ids: list[uuid.UUID], user_id: uuid.UUID) -> None:
    """Announce ``darkroom.album.updated`` for each album ``user_id`` just changed."""
    at = datetime.now(UTC)
    for album_id in dict.fromkeys(album_ids):
        await announce(deps, AlbumUpdated(album_id=str(album_id), user_id=str(user_id), at=at))


class AlbumController(Controller):
    """/api/albums."""

    path = "/api/albums"

    @get("/", permission="album.read")
    async def get_all_albums(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        asset_id: Annotated[uuid.UUID | None, QueryParameter(name="assetId")] = None,
        album_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        is_owned: Annotated[bool | None, QueryParameter(name="isOwned", required=False)] = None,
        is_shared: Annotated[bool | None, QueryParameter(name="isShared", required=False)] = None,
        name: Annotated[str | None, QueryParameter(name="name", required=False)] = None,
    ) -> list[AlbumResponse]:
        """Albums the caller owns or that are shared with them, newest first.

        ``isOwned``/``isShared`` narrow the list (see :func:`darkroom_db.albums.list_albums`);
        ``assetId`` lists the albums holding that asset and ignores the other parameters (the
        spec; Immich).
        """
        found = (
            await albums.list_albums(deps.pool, auth.user.id, asset_id=asset_id)
            if asset_id is not None
            else await albums.list_albums(
                deps.pool,
                auth.user.id,
                is_owned=is_owned,
                is_shared=is_shared,
                album_id=album_id,
                name=name,
            )
        )
        members = await albums.members_of(deps.pool, found)
        linked = await shared_links.albums_with_links(deps.pool, [a.id for a in found])
        return [
            album_response(
                a, members[a.id], auth.user.id, has_shared_link=a.id in linked, day_dates=True
            )
            for a in found
        ]

    @post("/", status_code=201, permission="album.create")
    async def create_album(
        self, data: JSONBody[CreateAlbum], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> AlbumResponse:
        """A new album of the caller's, with initial assets (those they may add) and members.

        The caller listed among the members is dropped: they are its owner (Immich's
        ``AlbumService.create`` filters the auth user out of ``albumUsers``).

        Raises:
            BadRequest: A member is unknown ("Invalid user", as Immich's
                ``AlbumService.create``), or listed twice.
        """
        album_users = [u for u in data.album_users if u.user_id != auth.user.id]
        member_ids = [u.user_id for u in album_users]
        if len(set(member_ids)) != len(member_ids):
            raise BadRequest("Duplicate album user")
        if set(member_ids) - await albums.existing_users(deps.pool, member_ids):
            raise BadRequest("Invalid user")
        # a new album sorts as the owner's preference says (albums.defaultAssetOrder; Immich)
        stored = await users.get_preferences(deps.pool, auth.user.id) or {}
        album_id = await albums.create_album(
            deps.pool,
            owner_id=auth.user.id,
            album_name=data.album_name,
            description=data.description,
            members=[(u.user_id, u.role) for u in album_users],
            order=preferences_response(stored).albums.default_asset_order,
        )
        if data.asset_ids:
            allowed = await albums.addable_assets(deps.pool, auth.user.id, data.asset_ids)
            await albums.add_assets(
                deps.pool, [album_id], [i for i in dict.fromkeys(data.asset_ids) if i in allowed]
            )
        log.info("album.created", album_id=str(album_id), owner_id=str(auth.user.id))
        await announce(
            deps,
            AlbumCreated(album_id=str(album_id), owner_id=str(auth.user.id), at=datetime.now(UTC)),
        )
        await album_invited(deps, album_id, auth.user, member_ids)
        return await _detail(deps, auth, album_id)

    @get("/statistics", permission="album.statistics")
    async def get_album_statistics(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> AlbumStatistics:
        """How many albums the caller owns, has shared or sees shared, and keeps unshared."""
        stats = await albums.statistics(deps.pool, auth.user.id)
        return AlbumStatistics(owned=stats.owned, shared=stats.shared, not_shared=stats.not_shared)

    @put("/assets", permission="albumAsset.create")
    async def add_assets_to_albums(
        self,
        data: JSONBody[AlbumsAddAssets],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> AlbumsAddAssetsResponse:
        """Put many assets in many albums (those the caller may edit, assets they may add).

        ``success`` when at least one asset went into an album; otherwise the reason:
        ``no_permission`` (no album or asset usable) or ``duplicate`` (all there already).
        """
        editable = [
            album_id
            for album_id in dict.fromkeys(data.album_ids)
            if await albums.get_role(deps.pool, auth.user.id, album_id) in ("owner", "editor")
        ]
        allowed = await albums.addable_assets(deps.pool, auth.user.id, data.asset_ids)
        assets = [i for i in dict.fromkeys(data.asset_ids) if i in allowed]
        if not editable or not assets:
            return AlbumsAddAssetsResponse(success=False, error="no_permission")
        added = await albums.add_assets(deps.pool, editable, assets)
        if not added:
            return AlbumsAddAssetsResponse(success=False, error="duplicate")
        await album_updated(deps, [album for album, _ in added], auth.user.id)
        await _changed(deps, [album for album, _ in added], auth.user.id)
        return AlbumsAddAssetsResponse(success=True)

    @get("/{album_id:uuid}", permission="album.read", shared_link=True)
    async def get_album_info(
        self,
        album_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> AlbumResponse:
        """One album the caller owns or is a member of, or the album of the caller's shared
        link (``key``/``slug``, read by the auth guard)."""
        if auth.shared_link is not None:
            await link_album(deps, auth.shared_link, album_id, "album.read")
        return await _detail(deps, auth, album_id, full=True)

    @patch("/{album_id:uuid}", permission="album.update")
    async def update_album_info(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[UpdateAlbum],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> AlbumResponse:
        """Rename, describe, reorder, pick the thumbnail, toggle activity (owner or editor, as
        Immich's ``album.update`` access: owner, or a shared user with the editor role).

        Raises:
            BadRequest: The thumbnail asset is not in the album.
        """
        await _role(deps, auth, album_id, "album.update", EDITORS)
        thumb = data.album_thumbnail_asset_id
        if thumb is not None and not await albums.has_assets(deps.pool, album_id, [thumb]):
            raise BadRequest("Invalid album thumbnail")
        await albums.update_album(
            deps.pool,
            album_id,
            album_name=data.album_name,
            description=data.description,
            album_thumbnail_asset_id=thumb,
            is_activity_enabled=data.is_activity_enabled,
            order=data.order,
        )
        await _changed(deps, [album_id], auth.user.id)
        return await _detail(deps, auth, album_id)

    @delete("/{album_id:uuid}", status_code=204, permission="album.delete")
    async def delete_album(
        self,
        album_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete an album (owner only); its assets stay in their owners' libraries."""
        await _role(deps, auth, album_id, "album.delete", OWNER)
        await albums.delete_album(deps.pool, album_id)
        log.info("album.deleted", album_id=str(album_id), owner_id=str(auth.user.id))

    @get("/{album_id:uuid}/map-markers", permission="album.read", shared_link=True)
    async def get_album_map_markers(
        self,
        album_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: Annotated[str | None, QueryParameter(name="key", required=False)] = None,
        slug: Annotated[str | None, QueryParameter(name="slug", required=False)] = None,
    ) -> list[MapMarkerResponse]:
        """The album's assets that have GPS coordinates (none through a shared link that
        hides metadata)."""
        if auth.shared_link is not None:
            await link_album(deps, auth.shared_link, album_id, "album.read")
            if not auth.shared_link.show_metadata:
                return []
        else:
            await _role(deps, auth, album_id, "album.read")
        return [
            MapMarkerResponse(
                id=str(m.id), lat=m.lat, lon=m.lon, city=m.city, state=m.state, country=m.country
            )
            for m in await albums.map_markers(deps.pool, album_id)
        ]

    @put("/{album_id:uuid}/assets", permission="albumAsset.create")
    async def add_assets_to_album(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Add assets (owner or editor); per id: success, ``duplicate`` (already in it) or
        ``no_permission`` (not an asset the caller may add).

        Raises:
            NoAccess: The caller is a viewer or does not see the album.
        """
        await _role(deps, auth, album_id, "albumAsset.create", EDITORS)
        return await _add_results(deps, auth, album_id, data.ids)

    @delete("/{album_id:uuid}/assets", status_code=200, permission="albumAsset.delete")
    async def remove_asset_from_album(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Take assets out of the album; per id: success, ``not_found`` (not in it) or
        ``no_permission`` (an editor may only remove their own assets).

        Raises:
            NoAccess: The caller is a viewer or does not see the album.
        """
        role = await _role(deps, auth, album_id, "albumAsset.delete", EDITORS)
        present = await albums.has_assets(deps.pool, album_id, data.ids)
        owners = await albums.owners_of(deps.pool, present)
        removable = [i for i in present if role == "owner" or owners.get(i) == auth.user.id]
        removed = await albums.remove_assets(deps.pool, album_id, removable)
        if removed:
            await _changed(deps, [album_id], auth.user.id)
        denied = set(present) - set(removable)
        return bulk_id_responses(remove_outcomes(data.ids, removed, denied))

    @put("/{album_id:uuid}/users", permission="albumUser.create")
    async def add_users_to_album(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[AddUsers],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> AlbumResponse:
        """Share the album with more users (owner or editor: Immich's ``album.share`` access).

        Users already in the album, its owner included, are skipped, as Immich's
        ``AlbumService.addUsers`` does; the album comes back either way.

        Raises:
            BadRequest: No users given; one is given the ``owner`` role ("Cannot add another
                owner", as Immich's ``AlbumService.addUsers``), unknown ("Invalid user") or
                listed twice.
        """
        await _role(deps, auth, album_id, "album.share", EDITORS)
        if not data.album_users:
            raise BadRequest("albumUsers must contain at least 1 elements")
        if any(u.role == "owner" for u in data.album_users):
            raise BadRequest("Cannot add another owner")
        detail = require_access(
            await albums.get_album_detail(deps.pool, auth.user.id, album_id), "album.share"
        )
        present = {detail.album.owner_id} | {m.user.id for m in detail.members}
        new = [u for u in data.album_users if u.user_id not in present]
        ids = [u.user_id for u in new]
        if len(set(ids)) != len(ids):
            raise BadRequest("Duplicate album user")
        if set(ids) - await albums.existing_users(deps.pool, ids):
            raise BadRequest("Invalid user")
        if not new:
            return await _detail(deps, auth, album_id)
        # owners were refused above; the filter narrows the role to a member's
        members = [(u.user_id, u.role) for u in new if u.role != "owner"]
        await albums.add_members(deps.pool, album_id, members)
        log.info("album.shared", album_id=str(album_id), users=[str(i) for i in ids])
        await album_invited(deps, album_id, auth.user, ids)
        return await _detail(deps, auth, album_id)

    @put("/{album_id:uuid}/user/{user_id:str}", status_code=204, permission="albumUser.update")
    async def update_album_user(
        self,
        album_id: FromPath[uuid.UUID],
        user_id: FromPath[str],
        data: JSONBody[UpdateAlbumUser],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Change a member's role (owner or editor: Immich's ``album.share`` access).

        Raises:
            NoAccess: The caller is neither the album's owner nor an editor.
            BadRequest: ``userId`` is the owner ("User is owner", as Immich's
                ``AlbumService.updateUser``) or not a member of the album.
        """
        await _role(deps, auth, album_id, "album.share", EDITORS)
        member = _user_id(user_id, auth)
        if await albums.get_role(deps.pool, member, album_id) == "owner":
            raise BadRequest("User is owner")
        if not await albums.set_member_role(deps.pool, album_id, member, data.role):
            raise BadRequest("Album not shared with user")

    @delete("/{album_id:uuid}/user/{user_id:str}", status_code=204, permission="albumUser.delete")
    async def remove_user_from_album(
        self,
        album_id: FromPath[uuid.UUID],
        user_id: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Stop sharing with a member (owner or editor), or leave the album (``userId`` = me).

        Raises:
            BadRequest: The owner cannot be removed ("Cannot remove the last album owner", as
                Immich's ``AlbumService.removeUser``: an album keeps its one owner).
            NoAccess: The caller does not see the album, or is a viewer removing someone else
                (``album.share``: the owner and editors share, as in Immich).
            BadRequest: ``userId`` is not a member of the album.
        """
        role = await _role(deps, auth, album_id, "album.read")
        member = _user_id(user_id, auth)
        mine = member == auth.user.id
        if (role if mine else await albums.get_role(deps.pool, member, album_id)) == "owner":
            raise BadRequest("Cannot remove the last album owner")
        if role not in EDITORS and not mine:
            raise NoAccess("album.share")
        if not await albums.remove_member(deps.pool, album_id, member):
            raise BadRequest("Album not shared with user")
        log.info("album.user_removed", album_id=str(album_id), user_id=str(member))


def _user_id(raw: str, auth: Auth) -> uuid.UUID:
    """A ``userId`` path value: a UUID or ``me`` (the caller).

    Raises:
        BadRequest: Neither.
    """
    if raw == "me":
        return auth.user.id
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise BadRequest("userId must be a UUID or 'me'") from exc


ROUTES = [AlbumController]
