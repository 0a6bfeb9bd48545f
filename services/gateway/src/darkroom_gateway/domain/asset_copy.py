"""``PUT /api/assets/copy`` (spec ``copyAsset``, permission ``asset.copy``): give one asset what
another has, as Immich's clients do after replacing a photo by an edited copy.

``AssetCopyDto``: ``sourceId``, ``targetId`` and five switches, each true by default:

- ``albums``: the target joins every album holding the source that the caller owns or edits;
- ``sharedLinks``: the target joins each of the caller's shared links holding the source;
- ``stack``: the target joins the source's stack (a target in another stack takes the source's
  whole stack into its own, as Immich's ``copyStack``);
- ``favorite``: the target's favourite flag becomes the source's;
- ``sidecar``: the source's XMP sidecar is copied beside the target's original (stored
  originals only: an external library's files are never written) and recorded on the target.

Both assets must be the caller's (400 ``Not found or no asset.copy access`` otherwise, nothing
changed); shared-link visitors are refused (403). 204. Albums that gained the target are
announced (``darkroom.album.updated``), as when assets are added to them.
"""

from __future__ import annotations

import uuid

import msgspec
import structlog
from darkroom_db import asset_copy
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.albums import _changed
from darkroom_gateway.domain.assets import _own_asset

log = structlog.get_logger()


class AssetCopy(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetCopyDto."""

    source_id: uuid.UUID
    target_id: uuid.UUID
    albums: bool = True
    shared_links: bool = True
    stack: bool = True
    favorite: bool = True
    sidecar: bool = True


class AssetCopyController(Controller):
    """/api/assets/copy."""

    path = "/api/assets/copy"

    @put("/", status_code=204, permission="asset.copy")
    async def copy_asset(
        self, data: JSONBody[AssetCopy], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Copy the source asset's albums, shared links, stack, favourite and sidecar to the
        target (each as its switch says).

        Raises:
            NoAccess: Either asset is not the caller's.
        """
        source = await _own_asset(deps, auth, data.source_id, "asset.copy")
        target = await _own_asset(deps, auth, data.target_id, "asset.copy")
        if source.id == target.id:
            return
        copied = await asset_copy.copy_relations(
            deps.pool,
            auth.user.id,
            source.id,
            target.id,
            albums=data.albums,
            shared_links=data.shared_links,
            stack=data.stack,
            favorite=data.favorite,
        )
        sidecar = None
        if data.sidecar and source.sidecar_path and not source.is_external:
            if not target.is_external:
                sidecar = f"{target.original_path}.xmp"
                await deps.storage.copy(source.sidecar_path, sidecar)
                await asset_copy.set_sidecar_path(deps.pool, auth.user.id, target.id, sidecar)
        if copied.album_ids:
            await _changed(deps, copied.album_ids, auth.user.id)
        log.info(
            "asset.copied",
            source_id=str(source.id),
            target_id=str(target.id),
            albums=len(copied.album_ids),
            shared_links=len(copied.shared_link_ids),
            stacked=copied.stack_id is not None,
            sidecar=sidecar is not None,
        )


ROUTES = [AssetCopyController]
