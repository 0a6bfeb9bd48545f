"""Near-duplicates: the caller's groups of visually near-identical assets (found by the embedding
service from CLIP embeddings), dissolving groups, and resolving them (keep some, trash the rest).

A group id the caller has no asset in (another user's, or none) is refused as Immich's
``duplicate.checkOwnerAccess`` refuses it: 400 ``Not found or no duplicate.delete access``, for
the whole request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
from darkroom_db import albums, assets, exif, smart_search, tags
from darkroom_events import AssetsTrashed, AssetUpdated
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.asset_edits import UNSET, apply_edits
from darkroom_gateway.domain.assets import AssetResponse, asset_response
from darkroom_gateway.domain.trash import purge_assets
from darkroom_gateway.errors import BadRequest, NoAccess
from darkroom_gateway.schemas import BulkIdResponse, BulkIds


class DuplicateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: DuplicateResponseDto."""

    duplicate_id: str
    assets: list[AssetResponse]
    suggested_keep_asset_ids: list[str]


class DuplicateResolveGroup(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: DuplicateResolveGroupDto."""

    duplicate_id: uuid.UUID
    keep_asset_ids: list[uuid.UUID]
    trash_asset_ids: list[uuid.UUID]


class DuplicateResolve(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: DuplicateResolveDto."""

    groups: list[DuplicateResolveGroup]


def suggested_keep(group: list[assets.Asset], exifs: dict[uuid.UUID, exif.Exif | None]) -> str:
    """The asset to keep by default: the largest file, then the one with the most EXIF fields
    (what Immich's web UI suggests: the best quality copy carries the most information)."""

    def score(a: assets.Asset) -> tuple[int, int, str]:
        row = exifs.get(a.id)
        filled = 0 if row is None else sum(v is not None for v in msgspec.structs.astuple(row))
        return (a.file_size, filled, str(a.id))

    return str(max(group, key=score).id)


async def require_groups(deps: Deps, auth: Auth, duplicate_ids: list[uuid.UUID]) -> None:
    """Check that every id is a group of the caller (all or nothing, as Immich's
    ``requireAccess`` with ``duplicate.delete``).

    Raises:
        NoAccess: Some id is no group of the caller's.
    """
    if not duplicate_ids:
        return
    owned = await smart_search.owned_groups(deps.pool, auth.user.id, duplicate_ids)
    if len(owned) < len(set(duplicate_ids)):
        raise NoAccess("duplicate.delete")


def _unique_lines(values: list[str]) -> list[str]:
    """The distinct non-blank lines of ``values``, stripped, in order of first appearance."""
    lines: dict[str, None] = {}
    for value in values:
        for line in value.splitlines():
            if line.strip():
                lines.setdefault(line.strip())
    return list(lines)


async def merge_into_keeper(
    deps: Deps, owner_id: uuid.UUID, keeper: uuid.UUID, members: list[uuid.UUID]
) -> None:
    """Carry what the group's assets hold over to the one asset kept, before the others go to
    the trash (Immich's ``DuplicateService.resolveGroup``/``getSyncMergeResult``, done when one
    asset is kept and some are trashed).

    The keeper becomes a favourite if any member is; archived if any is; gets the highest
    rating, every distinct description line (oldest member first), the location when all
    members that have one agree; it goes into every album of a member that the caller may add
    to (owner or editor) and gets every member's tags.

    Args:
        deps: The gateway's connections.
        owner_id: The caller, owner of the group.
        keeper: The asset kept.
        members: Every asset of the group (the keeper included), oldest first.
    """
    rows = await assets.get_assets(deps.pool, owner_id, members)
    owned = {a.id for a in rows}  # another user's member lends nothing (its tags, its text)
    members = [asset_id for asset_id in members if asset_id in owned]
    exifs = [await exif.get_exif(deps.pool, owner_id, asset_id) for asset_id in members]
    ratings = [e.rating for e in exifs if e is not None and e.rating]
    lines = _unique_lines([e.description for e in exifs if e is not None])
    places = {
        (e.latitude, e.longitude)
        for e in exifs
        if e is not None and e.latitude is not None and e.longitude is not None
    }
    latitude, longitude = next(iter(places)) if len(places) == 1 else (UNSET, UNSET)
    await apply_edits(
        deps,
        owner_id,
        [keeper],
        is_favorite=any(a.is_favorite for a in rows),
        visibility="archive" if any(a.visibility == "archive" for a in rows) else "timeline",
        description="\n".join(lines) if lines else UNSET,
        date_time_original=UNSET,
        time_zone=UNSET,
        shift_minutes=UNSET,
        latitude=latitude,
        longitude=longitude,
        rating=max(ratings) if ratings and max(ratings) > 0 else UNSET,
    )
    album_ids: dict[uuid.UUID, None] = {}
    for asset_id in members:
        for album in await albums.list_albums(deps.pool, owner_id, asset_id=asset_id):
            if await albums.get_role(deps.pool, owner_id, album.id) in ("owner", "editor"):
                album_ids.setdefault(album.id)
    await albums.add_assets(deps.pool, list(album_ids), [keeper])
    tag_ids = {t.id for asset_id in members for t in await tags.tags_of_asset(deps.pool, asset_id)}
    await tags.add_assets(deps.pool, [(tag_id, keeper) for tag_id in tag_ids])
    await announce(
        deps, AssetUpdated(asset_id=str(keeper), owner_id=str(owner_id), at=datetime.now(UTC))
    )


async def resolve_group(deps: Deps, auth: Auth, group: DuplicateResolveGroup) -> BulkIdResponse:
    """Resolve one group of the caller (see ``resolve_duplicates``): its bulk result."""
    gid = str(group.duplicate_id)
    members = await smart_search.group_members(deps.pool, group.duplicate_id)
    if not members:
        return BulkIdResponse(id=gid, success=False, error="not_found")
    keep = [i for i in dict.fromkeys(group.keep_asset_ids) if i in members]
    trash = [i for i in dict.fromkeys(group.trash_asset_ids) if i in members]
    for asset_id in members:
        if asset_id in keep and asset_id in trash:
            message = "An asset cannot be in both keepAssetIds and trashAssetIds"
        elif asset_id not in keep and asset_id not in trash:
            message = "Every asset must be in either keepAssetIds or trashAssetIds"
        else:
            continue
        return BulkIdResponse(id=gid, success=False, error="validation", error_message=message)
    if len(await assets.get_assets(deps.pool, auth.user.id, trash)) < len(trash):
        # a member of another user's (Immich: ``checkAccess(AssetDelete)`` of the trashed)
        message = "No permission to delete assets"
        return BulkIdResponse(id=gid, success=False, error="no_permission", error_message=message)
    if len(keep) == 1 and trash:
        await merge_into_keeper(deps, auth.user.id, keep[0], members)
    if trash and not deps.config.current.trash.enabled:
        # trash off: the others are deleted for good, as Immich's resolveGroup (``force``)
        await smart_search.clear_duplicates(deps.pool, auth.user.id, [group.duplicate_id])
        await purge_assets(deps, auth.user.id, trash)
        return BulkIdResponse(id=gid, success=True)
    async with deps.pool.acquire() as conn, conn.transaction():
        if trash:
            await assets.trash_assets(conn, auth.user.id, trash)
        await smart_search.clear_duplicates(conn, auth.user.id, [group.duplicate_id])
    if trash:
        trashed = AssetsTrashed(
            owner_id=str(auth.user.id),
            asset_ids=[str(i) for i in trash],
            at=datetime.now(UTC),
        )
        await announce(deps, trashed)
    return BulkIdResponse(id=gid, success=True)


class DuplicateController(Controller):
    """/api/duplicates."""

    path = "/api/duplicates"

    @get("/", permission="duplicate.read")
    async def get_asset_duplicates(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[DuplicateResponse]:
        """The caller's duplicate groups with two or more active assets, newest group first.
        Groups left with a single asset are dissolved first (Immich's ``getDuplicates``:
        ``cleanupSingletonGroups``), so that asset's ``duplicateId`` is null again."""
        await smart_search.clear_singleton_groups(deps.pool, auth.user.id)
        out: list[DuplicateResponse] = []
        for duplicate_id, ids in await smart_search.duplicate_groups(deps.pool, auth.user.id):
            rows = await assets.get_assets(deps.pool, auth.user.id, ids)
            order = {asset_id: i for i, asset_id in enumerate(ids)}
            rows.sort(key=lambda a: order[a.id])
            exifs = {a.id: await exif.get_exif(deps.pool, auth.user.id, a.id) for a in rows}
            if len(rows) < 2:
                continue
            out.append(
                DuplicateResponse(
                    duplicate_id=str(duplicate_id),
                    assets=[
                        msgspec.structs.replace(
                            asset_response(a, exifs[a.id]), duplicate_id=str(duplicate_id)
                        )
                        for a in rows
                    ],
                    suggested_keep_asset_ids=[suggested_keep(rows, exifs)],
                )
            )
        return out

    @delete("/", status_code=204, permission="duplicate.delete")
    async def delete_duplicates(
        self, data: JSONBody[BulkIds], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Dissolve the caller's groups ``ids`` (assets stay).

        Raises:
            NoAccess: An id is no group of the caller's (nothing is dissolved).
        """
        await require_groups(deps, auth, data.ids)
        await smart_search.clear_duplicates(deps.pool, auth.user.id, data.ids)

    @delete("/{duplicate_id:uuid}", status_code=204, permission="duplicate.delete")
    async def delete_duplicate(
        self,
        duplicate_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Dissolve one of the caller's groups.

        Raises:
            NoAccess: The caller has no group with this id.
        """
        await require_groups(deps, auth, [duplicate_id])
        await smart_search.clear_duplicates(deps.pool, auth.user.id, [duplicate_id])

    @post("/resolve", status_code=200, permission="duplicate.delete")
    async def resolve_duplicates(
        self,
        data: JSONBody[DuplicateResolve],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Resolve groups: keep ``keepAssetIds``, trash ``trashAssetIds``, dissolve the group
        (Immich's ``DuplicateService.resolve``).

        Ids that are not in the group are ignored. With the trash off (``trash.enabled``
        false) the others are deleted for good instead of trashed, as Immich. Per group:
        ``not_found`` when nothing of it is left; ``validation`` when an asset is named both to
        keep and to trash, or not named at all; ``no_permission`` when an asset to trash is
        another user's (nothing is changed for that group). With one
        asset kept and some trashed, the kept one takes over what the others hold
        (:func:`merge_into_keeper`).

        Raises:
            BadRequest: No groups.
            NoAccess: A group id is no group of the caller's (the whole request is refused).
        """
        if not data.groups:
            raise BadRequest("groups must contain at least 1 element")
        await require_groups(deps, auth, [g.duplicate_id for g in data.groups])
        results: list[BulkIdResponse] = []
        for group in data.groups:
            results.append(await resolve_group(deps, auth, group))
        return results


ROUTES = [DuplicateController]
