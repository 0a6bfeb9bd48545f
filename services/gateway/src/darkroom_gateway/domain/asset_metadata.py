"""Asset metadata: key/value objects of an asset (``/api/assets/{id}/metadata``,
``/api/assets/metadata``), e.g. the iOS app's ``mobile-app`` entry with the photo's iCloud id,
sent in the upload's multipart ``metadata`` field (:func:`parse_upload_metadata`).

Reading needs ``asset.read`` on an asset the caller can see (own, or through an album); writing
needs ``asset.update`` and ownership. Storage: :mod:`darkroom_db.asset_metadata`; the mobile app
also gets the entries through sync (``AssetMetadataV1``).

As Immich's asset service (``getMetadataByKey``, ``upsertMetadata``, ``upsertBulkMetadata``): a
key the asset has no entry for is 400 (not 404), and a request naming one key (of one asset)
twice is refused with 400 ``Duplicate items are not allowed: "<key>"`` before anything is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from darkroom_db import albums, asset_metadata, partners
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.trash import require_owned
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access


class UpsertItem(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetMetadataUpsertItemDto."""

    key: str
    value: dict[str, Any]


class Upsert(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetMetadataUpsertDto."""

    items: list[UpsertItem]


class BulkUpsertItem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetMetadataBulkUpsertItemDto."""

    asset_id: uuid.UUID
    key: str
    value: dict[str, Any]


class BulkUpsert(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetMetadataBulkUpsertDto."""

    items: list[BulkUpsertItem]


class BulkDeleteItem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetMetadataBulkDeleteItemDto."""

    asset_id: uuid.UUID
    key: str


class BulkDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetMetadataBulkDeleteDto."""

    items: list[BulkDeleteItem]


class MetadataResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetMetadataResponseDto."""

    key: str
    value: dict[str, Any]
    updated_at: datetime


class BulkMetadataResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetMetadataBulkResponseDto."""

    asset_id: uuid.UUID
    key: str
    value: dict[str, Any]
    updated_at: datetime


def _refuse_duplicates(keys: list[str]) -> None:
    """Immich's check in ``upsertMetadata``/``upsertBulkMetadata``: each item once.

    Args:
        keys: Each item's key as Immich spells it in the message: ``key`` for one asset,
            ``(assetId, key)`` for the bulk route.

    Raises:
        BadRequest: A key given twice, named in the message.
    """
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise BadRequest(f'Duplicate items are not allowed: "{key}"')
        seen.add(key)


def _response(item: asset_metadata.Item) -> MetadataResponse:
    return MetadataResponse(key=item.key, value=item.value, updated_at=item.updated_at)


def parse_upload_metadata(raw: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The upload's multipart ``metadata`` field (spec: AssetMediaCreateDto.metadata, an array
    of AssetMetadataUpsertItemDto sent as one JSON text, as the mobile app does).

    Returns:
        ``(key, value)`` pairs; none when the field is absent or empty.

    Raises:
        BadRequest: Not a JSON array of ``{key: string, value: object}``.
    """
    if not raw:
        return []
    try:
        items = msgspec.json.decode(raw, type=list[UpsertItem])
    except msgspec.ValidationError as exc:
        raise BadRequest(f"metadata: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest("metadata must be a JSON array of {key, value}") from exc
    return [(item.key, item.value) for item in items]


async def _readable(deps: Deps, auth: Auth, asset_id: uuid.UUID) -> None:
    """The caller may read the asset: theirs, in an album they see, or a partner's (Immich's
    ``asset.read`` access); a locked one only through the owner's unlocked session.

    Raises:
        NoAccess: None of these.
    """
    asset = await albums.get_viewable_asset(deps.pool, auth.user.id, asset_id)
    if asset is None:
        asset = await partners.get_partner_asset(deps.pool, auth.user.id, asset_id)
    own = asset is not None and asset.owner_id == auth.user.id
    require_access(asset, "asset.read", unlocked=own and auth.elevated)


async def _owned(deps: Deps, auth: Auth, asset_ids: set[uuid.UUID]) -> None:
    await require_owned(deps, auth, list(asset_ids), "asset.update")  # one query for all ids


class AssetMetadataController(Controller):
    """/api/assets/{id}/metadata and /api/assets/metadata."""

    path = "/api/assets"

    @get("/{asset_id:uuid}/metadata", permission="asset.read")
    async def get_asset_metadata(
        self,
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[MetadataResponse]:
        """Every metadata entry of an asset the caller can see.

        Raises:
            BadRequest: No such asset, or not visible to the caller (as Immich answers).
        """
        await _readable(deps, auth, asset_id)
        return [_response(i) for i in await asset_metadata.list_for_asset(deps.pool, asset_id)]

    @get("/{asset_id:uuid}/metadata/{key:str}", permission="asset.read")
    async def get_asset_metadata_by_key(
        self,
        asset_id: FromPath[uuid.UUID],
        key: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> MetadataResponse:
        """One metadata entry of an asset the caller can see.

        Raises:
            BadRequest: No such asset, or not visible to the caller; or no such entry (Immich's
                ``getMetadataByKey`` answers 400, not 404).
        """
        await _readable(deps, auth, asset_id)
        item = await asset_metadata.get(deps.pool, asset_id, key)
        if item is None:
            raise BadRequest(f'Metadata with key "{key}" not found for asset with id "{asset_id}"')
        return _response(item)

    @put("/{asset_id:uuid}/metadata", permission="asset.update")
    async def update_asset_metadata(
        self,
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[Upsert],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[MetadataResponse]:
        """Create or replace entries of one of the caller's assets.

        Raises:
            BadRequest: Not the caller's asset, or a key given twice.
        """
        await _owned(deps, auth, {asset_id})
        _refuse_duplicates([i.key for i in data.items])
        stored = await asset_metadata.upsert(
            deps.pool, auth.user.id, [(asset_id, i.key, i.value) for i in data.items]
        )
        return [_response(i) for i in stored]

    @delete("/{asset_id:uuid}/metadata/{key:str}", status_code=204, permission="asset.update")
    async def delete_asset_metadata(
        self,
        asset_id: FromPath[uuid.UUID],
        key: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Remove one entry of one of the caller's assets.

        Raises:
            BadRequest: Not the caller's asset.
        """
        await _owned(deps, auth, {asset_id})
        await asset_metadata.delete(deps.pool, auth.user.id, [(asset_id, key)])

    @put("/metadata", permission="asset.update")
    async def update_bulk_asset_metadata(
        self, data: JSONBody[BulkUpsert], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[BulkMetadataResponse]:
        """Create or replace entries of several of the caller's assets.

        Raises:
            BadRequest: An asset that is not the caller's, or an (asset, key) given twice.
        """
        await _owned(deps, auth, {i.asset_id for i in data.items})
        _refuse_duplicates([f"({i.asset_id}, {i.key})" for i in data.items])
        stored = await asset_metadata.upsert(
            deps.pool, auth.user.id, [(i.asset_id, i.key, i.value) for i in data.items]
        )
        return [
            BulkMetadataResponse(
                asset_id=i.asset_id, key=i.key, value=i.value, updated_at=i.updated_at
            )
            for i in stored
        ]

    @delete("/metadata", status_code=204, permission="asset.update")
    async def delete_bulk_asset_metadata(
        self, data: JSONBody[BulkDelete], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Remove entries of several of the caller's assets.

        Raises:
            BadRequest: An asset that is not the caller's.
        """
        await _owned(deps, auth, {i.asset_id for i in data.items})
        await asset_metadata.delete(
            deps.pool, auth.user.id, [(i.asset_id, i.key) for i in data.items]
        )


ROUTES = [AssetMetadataController]
