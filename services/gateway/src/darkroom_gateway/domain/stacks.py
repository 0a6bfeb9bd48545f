"""Stacks (the spec's "Stacks" operations): assets of one owner grouped under a primary asset.

Behaviour follows Immich 3.1's stack service and its e2e tests as documented and observed:

- ``POST /api/stacks`` needs at least 2 assets, all the caller's (Immich checks
  ``asset.update`` on each: 400 ``Not found or no asset.update access``); the first becomes the
  primary; a listed asset that is the primary of a stack brings that stack's assets along (the
  stacks merge, the old one is deleted); a listed member of another stack moves out of it;
- ``GET /api/stacks`` lists the caller's stacks (``primaryAssetId`` narrows to one);
- a stack lists (and may have as primary) only its members the timelines show: not in the
  trash, not locked, not hidden (Immich's ``withAssets``: ``withDefaultVisibility``);
- ``PUT /api/stacks/{id}`` changes the primary (400 ``Primary asset must be in the stack``) and
  always counts as an update (``StackUpdate``), even with nothing to change;
- ``DELETE /api/stacks/{id}/assets/{assetId}`` takes an asset out (400 ``Asset not in stack``;
  400 ``Cannot remove stack's primary asset``);
- a stack left with fewer than 2 assets is deleted, whatever removed them (migration
  ``0019_stacks.sql``);
- another user's stack id is 400 ``Not found or no stack.<action> access``
  (:func:`darkroom_gateway.permissions.require_access`).

Each change is announced (``darkroom.stack.created/updated/deleted``); the websocket tells the
owner's clients ``on_asset_stack_update`` (:mod:`darkroom_gateway.realtime`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import exif, stacks, tags
from darkroom_events import StackCreated, StackDeleted, StackUpdated
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import AssetResponse, asset_response
from darkroom_gateway.domain.trash import require_owned
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access
from darkroom_gateway.schemas import BulkIds

log = structlog.get_logger()


class StackResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: StackResponseDto."""

    id: str
    primary_asset_id: str
    assets: list[AssetResponse]


class StackCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: StackCreateDto (first id becomes primary, at least 2)."""

    asset_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=2)]


class StackUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: StackUpdateDto."""

    primary_asset_id: uuid.UUID | None = None


async def stack_response(deps: Deps, stack: stacks.Stack) -> StackResponse:
    """Map a stack to StackResponseDto: its assets (not in the trash) as their owner sees
    them, with EXIF and tags (Immich's ``mapStack`` over the stack's assets with ``exifInfo``)."""
    rows = await stacks.stack_assets(deps.pool, stack)
    items = []
    for asset in rows:
        exif_row = await exif.get_exif(deps.pool, asset.owner_id, asset.id)
        tagged = await tags.tags_of_asset(deps.pool, asset.id)
        items.append(asset_response(asset, exif_row, tagged=tagged))
    return StackResponse(
        id=str(stack.id), primary_asset_id=str(stack.primary_asset_id), assets=items
    )


async def announce_stack_changes(
    deps: Deps,
    owner_id: uuid.UUID,
    *,
    updated: Sequence[uuid.UUID] = (),
    deleted: Sequence[uuid.UUID] = (),
) -> None:
    """Announce stacks that changed (``darkroom.stack.updated``) or are gone
    (``darkroom.stack.deleted``) after the change is committed."""
    now = datetime.now(UTC)
    for stack_id in updated:
        await announce(deps, StackUpdated(stack_id=str(stack_id), owner_id=str(owner_id), at=now))
    if deleted:
        await announce(
            deps, StackDeleted(stack_ids=[str(s) for s in deleted], owner_id=str(owner_id))
        )


class StackController(Controller):
    """/api/stacks."""

    path = "/api/stacks"

    @get("/", permission="stack.read")
    async def search_stacks(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        primary_asset_id: Annotated[uuid.UUID | None, QueryParameter(name="primaryAssetId")] = None,
    ) -> list[StackResponse]:
        """The caller's stacks (only the one with this primary, when ``primaryAssetId``)."""
        found = await stacks.search(deps.pool, auth.user.id, primary_asset_id)
        return [await stack_response(deps, s) for s in found]

    @post("/", status_code=201, permission="stack.create")
    async def create_stack(
        self, data: JSONBody[StackCreate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> StackResponse:
        """Stack assets under the first one, merging stacks whose primary is listed.

        Raises:
            NoAccess: An asset is not the caller's (``asset.update``, as Immich).
            BadRequest: Fewer than 2 different assets.
        """
        await require_owned(deps, auth, data.asset_ids, "asset.update")
        if len(set(data.asset_ids)) < 2:
            raise BadRequest("assetIds must contain at least 2 different assets")
        async with deps.pool.acquire() as conn, conn.transaction():
            made = await stacks.create(conn, auth.user.id, data.asset_ids)
        stack = made.stack
        log.info(
            "stack.created",
            stack_id=str(stack.id),
            owner_id=str(auth.user.id),
            assets=len(stack.asset_ids),
            merged=len(made.merged),
        )
        await announce(
            deps,
            StackCreated(
                stack_id=str(stack.id),
                owner_id=str(auth.user.id),
                primary_asset_id=str(stack.primary_asset_id),
                asset_ids=[str(a) for a in stack.asset_ids],
            ),
        )
        await announce_stack_changes(
            deps, auth.user.id, updated=made.updated, deleted=[*made.merged, *made.emptied]
        )
        return await stack_response(deps, stack)

    @delete("/", status_code=204, permission="stack.delete")
    async def delete_stacks(
        self, data: JSONBody[BulkIds], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Unstack several stacks (their assets stay).

        Raises:
            NoAccess: A stack is not the caller's (all or nothing, as Immich).
        """
        ids = list(dict.fromkeys(data.ids))
        owned = await stacks.owned_ids(deps.pool, auth.user.id, ids)
        require_access(len(owned) == len(ids) or None, "stack.delete")
        deleted = await stacks.delete_stacks(deps.pool, auth.user.id, ids)
        await announce_stack_changes(deps, auth.user.id, deleted=deleted)

    @get("/{stack_id:uuid}", permission="stack.read")
    async def get_stack(
        self,
        stack_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> StackResponse:
        """One of the caller's stacks with its assets.

        Raises:
            NoAccess: Not one of the caller's stacks.
        """
        stack = require_access(
            await stacks.get_stack(deps.pool, auth.user.id, stack_id), "stack.read"
        )
        return await stack_response(deps, stack)

    @put("/{stack_id:uuid}", permission="stack.update")
    async def update_stack(
        self,
        stack_id: FromPath[uuid.UUID],
        data: JSONBody[StackUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> StackResponse:
        """Make another of the stack's assets its primary. Whatever the body (even none, or
        the primary it has), the stack counts as updated and the owner's clients are told, as
        Immich's ``update`` always writes the stack and emits ``StackUpdate``.

        Raises:
            NoAccess: Not one of the caller's stacks.
            BadRequest: ``primaryAssetId`` is not one of the assets the stack lists (a member
                in the trash, locked or hidden is not).
        """
        require_access(await stacks.get_stack(deps.pool, auth.user.id, stack_id), "stack.update")
        if not await stacks.set_primary(deps.pool, auth.user.id, stack_id, data.primary_asset_id):
            raise BadRequest("Primary asset must be in the stack")
        await announce_stack_changes(deps, auth.user.id, updated=[stack_id])
        stack = require_access(
            await stacks.get_stack(deps.pool, auth.user.id, stack_id), "stack.update"
        )
        return await stack_response(deps, stack)

    @delete("/{stack_id:uuid}", status_code=204, permission="stack.delete")
    async def delete_stack(
        self,
        stack_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Unstack: delete the stack, its assets stay.

        Raises:
            NoAccess: Not one of the caller's stacks.
        """
        require_access(await stacks.get_stack(deps.pool, auth.user.id, stack_id), "stack.delete")
        deleted = await stacks.delete_stacks(deps.pool, auth.user.id, [stack_id])
        await announce_stack_changes(deps, auth.user.id, deleted=deleted)

    @delete("/{stack_id:uuid}/assets/{asset_id:uuid}", status_code=204, permission="stack.update")
    async def remove_asset_from_stack(
        self,
        stack_id: FromPath[uuid.UUID],
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Take an asset out of a stack (the stack goes when fewer than 2 assets are left).

        Raises:
            NoAccess: Not one of the caller's stacks.
            BadRequest: The asset is not in the stack, or is its primary.
        """
        stack = require_access(
            await stacks.get_stack(deps.pool, auth.user.id, stack_id), "stack.update"
        )
        if stack.primary_asset_id == asset_id:
            raise BadRequest("Cannot remove stack's primary asset")
        if not await stacks.remove_asset(deps.pool, auth.user.id, stack_id, asset_id):
            raise BadRequest("Asset not in stack")
        if await stacks.exists(deps.pool, stack_id):
            await announce_stack_changes(deps, auth.user.id, updated=[stack_id])
        else:
            await announce_stack_changes(deps, auth.user.id, deleted=[stack_id])


ROUTES = [StackController]
