"""Tags (the spec's "Tags" operations): a user's hierarchical labels and tagging assets.

Behaviour follows Immich 3.1's tag service as documented and observed:

- a tag's ``value`` is its full path; creating ``name`` under ``parentId`` gives
  ``<parent value>/<name>``; ``PUT /api/tags`` (upsert) takes paths and creates the missing
  parents (``Travel/2024/Japan`` -> ``Travel``, ``Travel/2024``, ``Travel/2024/Japan``);
- a duplicate value is refused with 400 ``A tag with that name already exists``;
- colours are hex (a missing ``#`` is added, as Immich's DTO transform does);
- deleting a tag deletes its descendants;
- ``PUT/DELETE /api/tags/{id}/assets`` answer one BulkIdResponseDto per id (``duplicate`` /
  ``no_permission`` / ``not_found``); ``PUT /api/tags/assets`` tags every listed asset the
  caller owns with every listed tag the caller owns (the others are skipped, as Immich's
  ``checkAccess`` filters them) and counts the links it made;
- only the owner sees or uses a tag: another user's tag id is 400 ``Not found or no tag.*
  access`` (:func:`darkroom_gateway.permissions.require_access`); only the owner of an asset
  may tag it (Immich: ``asset.update``/``asset.share``, which only the owner holds); a locked
  asset only through ``PUT /api/tags/assets`` from a session unlocked with the PIN code
  (``asset.update`` counts an elevated session, ``asset.share`` never does);
- each asset tagged or untagged is announced as updated (``darkroom.asset.updated``: the
  websocket's ``on_asset_update`` to its owner, with its tags), as Immich's ``AssetTag`` /
  ``AssetUntag`` events end in the sidecar write whose re-extraction sends ``on_asset_update``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import assets, tags
from darkroom_events import AssetUpdated
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access
from darkroom_gateway.schemas import (
    BulkIdResponse,
    BulkIds,
    add_outcomes,
    bulk_id_responses,
    remove_outcomes,
)

log = structlog.get_logger()

#: Spec: TagCreateDto.color / TagUpdateDto.color (3, 4, 6 or 8 hex digits, ``#`` optional).
Color = Annotated[
    str, msgspec.Meta(pattern=r"^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
]


class TagResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Spec: TagResponseDto (``parentId``/``color`` only when set, as Immich's ``mapTag``)."""

    id: str
    name: str
    value: str
    created_at: datetime
    updated_at: datetime
    parent_id: str | None = None
    color: str | None = None


class TagCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: TagCreateDto."""

    name: str
    parent_id: uuid.UUID | None = None
    color: Color | None = None


class TagUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: TagUpdateDto (``color`` null clears it, absent leaves it)."""

    color: Color | None | msgspec.UnsetType = msgspec.UNSET


class TagUpsert(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: TagUpsertDto: full tag paths."""

    tags: list[str]


class TagBulkAssets(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: TagBulkAssetsDto."""

    asset_ids: list[uuid.UUID]
    tag_ids: list[uuid.UUID]


class TagBulkAssetsResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: TagBulkAssetsResponseDto: the number of (tag, asset) links made."""

    count: int


def tag_response(tag: tags.Tag) -> TagResponse:
    """Map a tag row to TagResponseDto."""
    return TagResponse(
        id=str(tag.id),
        name=tag.name,
        value=tag.value,
        created_at=tag.created_at,
        updated_at=tag.updated_at,
        parent_id=str(tag.parent_id) if tag.parent_id else None,
        color=tag.color,
    )


def _color(value: str | None) -> str | None:
    """A hex colour with its ``#`` (Immich adds a missing one)."""
    if value is None or value.startswith("#"):
        return value
    return f"#{value}"


async def announce_tagged(deps: Deps, owner_id: uuid.UUID, asset_ids: Iterable[uuid.UUID]) -> None:
    """Announce each asset whose tags changed (``darkroom.asset.updated``, once per asset), as
    Immich's tag service emits ``AssetTag``/``AssetUntag`` per asset."""
    now = datetime.now(UTC)
    for asset_id in dict.fromkeys(asset_ids):
        await announce(deps, AssetUpdated(asset_id=str(asset_id), owner_id=str(owner_id), at=now))


class TagController(Controller):
    """/api/tags."""

    path = "/api/tags"

    @get("/", permission="tag.read")
    async def get_all_tags(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[TagResponse]:
        """Every tag of the caller, by value (parents before children)."""
        return [tag_response(t) for t in await tags.list_tags(deps.pool, auth.user.id)]

    @post("/", status_code=201, permission="tag.create")
    async def create_tag(
        self, data: JSONBody[TagCreate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TagResponse:
        """Create a tag, under ``parentId`` when given.

        Raises:
            NoAccess: ``parentId`` is not one of the caller's tags.
            BadRequest: The caller has a tag with this value already.
        """
        if not data.name.strip():  # the name itself: under a parent the value is never empty
            raise BadRequest("name must not be empty")
        value = data.name
        parent_id = None
        if data.parent_id is not None:
            parent = require_access(
                await tags.get_tag(deps.pool, auth.user.id, data.parent_id), "tag.read"
            )
            value, parent_id = f"{parent.value}/{data.name}", parent.id
        created = await tags.create_tag(
            deps.pool, auth.user.id, value, parent_id=parent_id, color=_color(data.color)
        )
        if created is None:
            raise BadRequest("A tag with that name already exists")
        log.info("tag.created", tag_id=str(created.id), owner_id=str(auth.user.id))
        return tag_response(created)

    @put("/", permission="tag.create")
    async def upsert_tags(
        self, data: JSONBody[TagUpsert], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[TagResponse]:
        """Create the tags of these paths (and their parents) where missing; the leaf tags."""
        async with deps.pool.acquire() as conn, conn.transaction():
            leaves = await tags.upsert_paths(conn, auth.user.id, data.tags)
        return [tag_response(t) for t in leaves]

    @put("/assets", permission="tag.asset")
    async def bulk_tag_assets(
        self,
        data: JSONBody[TagBulkAssets],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> TagBulkAssetsResponse:
        """Tag each listed asset the caller owns with each listed tag the caller owns; ids
        that are not the caller's are skipped (as Immich), and so are locked assets unless the
        caller's session is unlocked (``asset.update``). ``count``: links newly made."""
        tag_ids = await tags.owned_ids(deps.pool, auth.user.id, data.tag_ids)
        asset_ids = await assets.owned_ids(
            deps.pool, auth.user.id, data.asset_ids, unlocked=auth.elevated
        )
        pairs = [
            (t, a)
            for t in dict.fromkeys(data.tag_ids)
            if t in tag_ids
            for a in dict.fromkeys(data.asset_ids)
            if a in asset_ids
        ]
        added = await tags.add_assets(deps.pool, pairs)
        await announce_tagged(deps, auth.user.id, [a for _, a in added])
        return TagBulkAssetsResponse(count=len(added))

    @get("/{tag_id:uuid}", permission="tag.read")
    async def get_tag_by_id(
        self, tag_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> TagResponse:
        """One tag of the caller.

        Raises:
            NoAccess: Not one of the caller's tags.
        """
        tag = require_access(await tags.get_tag(deps.pool, auth.user.id, tag_id), "tag.read")
        return tag_response(tag)

    @put("/{tag_id:uuid}", permission="tag.update")
    async def update_tag(
        self,
        tag_id: FromPath[uuid.UUID],
        data: JSONBody[TagUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> TagResponse:
        """Change a tag's colour (null clears it).

        Raises:
            NoAccess: Not one of the caller's tags.
        """
        tag = require_access(await tags.get_tag(deps.pool, auth.user.id, tag_id), "tag.update")
        if isinstance(data.color, msgspec.UnsetType):
            return tag_response(tag)
        updated = require_access(
            await tags.set_color(deps.pool, auth.user.id, tag_id, _color(data.color)),
            "tag.update",
        )
        return tag_response(updated)

    @delete("/{tag_id:uuid}", status_code=204, permission="tag.delete")
    async def delete_tag(
        self, tag_id: FromPath[uuid.UUID], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Delete a tag and its descendants (their assets stay, untagged).

        Raises:
            NoAccess: Not one of the caller's tags.
        """
        require_access(await tags.delete_tag(deps.pool, auth.user.id, tag_id), "tag.delete")
        log.info("tag.deleted", tag_id=str(tag_id), owner_id=str(auth.user.id))

    @put("/{tag_id:uuid}/assets", permission="tag.asset")
    async def tag_assets(
        self,
        tag_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Tag assets; per id: success, ``duplicate`` (already tagged) or ``no_permission``
        (not the caller's asset), in the order given.

        Raises:
            NoAccess: Not one of the caller's tags.
        """
        require_access(await tags.get_tag(deps.pool, auth.user.id, tag_id), "tag.asset")
        present = await tags.tagged(deps.pool, tag_id, data.ids)
        allowed = await assets.owned_ids(deps.pool, auth.user.id, data.ids)
        to_add = [(tag_id, a) for a in dict.fromkeys(data.ids) if a in allowed and a not in present]
        added = {a for _, a in await tags.add_assets(deps.pool, to_add)}
        await announce_tagged(deps, auth.user.id, added)
        return bulk_id_responses(add_outcomes(data.ids, added, present, allowed))

    @delete("/{tag_id:uuid}/assets", status_code=200, permission="tag.asset")
    async def untag_assets(
        self,
        tag_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Untag assets; per id: success or ``not_found`` (it did not carry the tag).

        Raises:
            NoAccess: Not one of the caller's tags.
        """
        require_access(await tags.get_tag(deps.pool, auth.user.id, tag_id), "tag.asset")
        removed = await tags.remove_assets(deps.pool, tag_id, data.ids)
        await announce_tagged(deps, auth.user.id, removed)
        return bulk_id_responses(remove_outcomes(data.ids, removed))


ROUTES = [TagController]
