"""Near-duplicates: the caller's groups of visually near-identical assets (found by the embedding
service from CLIP embeddings), dissolving groups, and resolving them (keep some, trash the rest).

Another user's group is answered 404 (or "not_found" in a bulk result), as if it did not exist.
"""

from __future__ import annotations

import uuid

import msgspec
from darkroom_db import assets, exif, smart_search
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import AssetResponse, asset_response
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


class DuplicateController(Controller):
    """/api/duplicates."""

    path = "/api/duplicates"

    @get("/", permission="duplicate.read")
    async def get_asset_duplicates(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[DuplicateResponse]:
        """The caller's duplicate groups with two or more active assets, newest group first."""
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
        """Dissolve the caller's groups ``ids`` (assets stay; ids of others are ignored)."""
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
        if not await smart_search.clear_duplicates(deps.pool, auth.user.id, [duplicate_id]):
            raise NoAccess("duplicate.delete")

    @post("/resolve", status_code=200, permission="duplicate.delete")
    async def resolve_duplicates(
        self,
        data: JSONBody[DuplicateResolve],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Resolve groups: trash ``trashAssetIds``, keep ``keepAssetIds``, dissolve the group.

        Per group: ``not_found`` when the caller has no such group, ``validation`` when an id is
        not in the group (nothing is changed for that group).

        Raises:
            BadRequest: No groups.
        """
        if not data.groups:
            raise BadRequest("groups must contain at least 1 element")
        results: list[BulkIdResponse] = []
        for group in data.groups:
            gid = str(group.duplicate_id)
            members = set(
                await smart_search.group_members(deps.pool, auth.user.id, group.duplicate_id)
            )
            if not members:
                results.append(BulkIdResponse(id=gid, success=False, error="not_found"))
                continue
            named = set(group.keep_asset_ids) | set(group.trash_asset_ids)
            if not named <= members or set(group.keep_asset_ids) & set(group.trash_asset_ids):
                results.append(
                    BulkIdResponse(
                        id=gid,
                        success=False,
                        error="validation",
                        error_message="asset ids must be distinct members of the group",
                    )
                )
                continue
            async with deps.pool.acquire() as conn, conn.transaction():
                if group.trash_asset_ids:
                    await assets.trash_assets(conn, auth.user.id, list(group.trash_asset_ids))
                await smart_search.clear_duplicates(conn, auth.user.id, [group.duplicate_id])
            results.append(BulkIdResponse(id=gid, success=True))
        return results


ROUTES = [DuplicateController]
