"""Non-destructive edits (issue #19 item 2): ``GET/PUT/DELETE /api/assets/{id}/edits``.

Shapes follow the Immich 3.1.0 spec (``AssetEditsCreateDto``, ``AssetEditsResponseDto``,
``CropParameters``, ``RotateParameters``, ``MirrorParameters``; permissions ``asset.edit.get``,
``asset.edit.create``, ``asset.edit.delete``). An asset's edits are a list of actions applied in
order to its upright original: ``crop`` (``x``/``y``/``width``/``height`` in pixels of the image as
the preceding actions left it), ``rotate`` (``angle`` in degrees clockwise, a multiple of 90) and
``mirror`` (``axis`` ``horizontal``: left-right, ``vertical``: top-bottom). A PUT replaces the
list, a DELETE removes it; either announces :class:`~darkroom_events.AssetEditsChanged`, on which
the thumbnail service renders the edited preview/thumbnail again from the original (which is never
modified), or removes them. Only the owner edits (partners, album members and shared links are
refused as Immich's ``requireAccess`` refuses them: 400 ``Not found or no asset.edit.* access``);
reading the list needs only ``asset.read`` access, as Immich's ``getAssetEdits`` checks, so an
album member or partner who sees the asset sees its edits.

As Immich's ``AssetService.editAsset``: a crop must be the first action (400 ``Crop action must
be the first edit action``), and live photos, GIF and SVG images are not edited (400).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from darkroom_db import asset_edits, assets
from darkroom_events import AssetEditsChanged
from darkroom_storage import StorageError
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import viewable_asset
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import Permission, require_access

log = structlog.get_logger()

Action = Literal["crop", "rotate", "mirror"]
#: The renderings made from the original with the edits applied (0031_asset_edits.sql).
EDITED_KINDS: tuple[assets.FileType, ...] = (
    "edited_preview",
    "edited_thumbnail",
    "edited_fullsize",
)
_MAX_SAFE = 9007199254740991  # the spec's maximum (JavaScript's Number.MAX_SAFE_INTEGER)


class CropParameters(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Spec: CropParameters (top-left ``x``/``y`` and size, in pixels)."""

    x: Annotated[int, msgspec.Meta(ge=0, le=_MAX_SAFE)]
    y: Annotated[int, msgspec.Meta(ge=0, le=_MAX_SAFE)]
    width: Annotated[int, msgspec.Meta(ge=1, le=_MAX_SAFE)]
    height: Annotated[int, msgspec.Meta(ge=1, le=_MAX_SAFE)]


class RotateParameters(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Spec: RotateParameters (``angle`` in degrees, clockwise)."""

    angle: float


class MirrorParameters(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Spec: MirrorParameters."""

    axis: Literal["horizontal", "vertical"]


_PARAMETERS: dict[str, type[msgspec.Struct]] = {
    "crop": CropParameters,
    "rotate": RotateParameters,
    "mirror": MirrorParameters,
}


class EditActionItem(msgspec.Struct, frozen=True):
    """Spec: AssetEditActionItemDto (``parameters`` checked against ``action`` afterwards)."""

    action: Action
    parameters: dict[str, Any]


class EditsCreate(msgspec.Struct, frozen=True):
    """Spec: AssetEditsCreateDto (at least one action)."""

    edits: Annotated[list[EditActionItem], msgspec.Meta(min_length=1)]


class EditActionItemResponse(msgspec.Struct, frozen=True):
    """Spec: AssetEditActionItemResponseDto."""

    id: str
    action: Action
    parameters: dict[str, Any]


class EditsResponse(msgspec.Struct, frozen=True, rename="camel"):
    """Spec: AssetEditsResponseDto."""

    asset_id: str
    edits: list[EditActionItemResponse]


def _invalid(path: str, message: str) -> ValidationException:
    """A 400 ``Validation failed`` naming the field (``path`` dotted, e.g.
    ``edits.0.parameters.width``)."""
    return ValidationException(detail=message, extra=[{"key": path, "message": message}])


def validate_edits(
    items: list[EditActionItem], width: int, height: int
) -> list[asset_edits.NewEdit]:
    """Check each action's parameters and that every crop lies inside the image.

    The image's size is followed through the list: a quarter turn swaps width and height, a
    crop makes the crop's size the image's.

    Args:
        items: The actions as sent.
        width: The upright original's width in pixels.
        height: Its height in pixels.

    Returns:
        The actions to store (parameters normalised: a whole angle is an int).

    Raises:
        ValidationException: A parameter is missing, of the wrong type or out of range, a
            rotation is not a multiple of 90 degrees, or a crop reaches outside the image
            (400, the field named in ``errors[].path``).
    """
    out: list[asset_edits.NewEdit] = []
    for i, item in enumerate(items):
        where = f"edits.{i}.parameters"
        try:
            params = msgspec.convert(item.parameters, _PARAMETERS[item.action])
        except msgspec.ValidationError as exc:
            text = str(exc)
            # "... - at `$.width`" (a bad value) or "missing required field `height`"
            named = re.search(r"`\$\.(\w+)`|required field `(\w+)`", text)
            field = next((g for g in named.groups() if g), "") if named else ""
            raise _invalid(f"{where}.{field}" if field else where, text) from exc
        if isinstance(params, CropParameters):
            if params.x + params.width > width or params.y + params.height > height:
                raise _invalid(
                    where,
                    f"Crop {params.width}x{params.height} at ({params.x}, {params.y}) is "
                    f"outside the {width}x{height} image",
                )
            width, height = params.width, params.height
        elif isinstance(params, RotateParameters):
            if params.angle % 90 != 0:
                raise _invalid(f"{where}.angle", "angle must be a multiple of 90")
            params = RotateParameters(angle=int(params.angle))
            if int(params.angle) % 180 != 0:
                width, height = height, width
        out.append(asset_edits.NewEdit(action=item.action, parameters=msgspec.to_builtins(params)))
    return out


def edits_response(asset_id: uuid.UUID, edits: list[asset_edits.AssetEdit]) -> EditsResponse:
    """Map stored edits to AssetEditsResponseDto."""
    return EditsResponse(
        asset_id=str(asset_id),
        edits=[EditActionItemResponse(str(e.id), e.action, e.parameters) for e in edits],
    )


async def _own_asset(
    deps: Deps, auth: Auth, asset_id: uuid.UUID, permission: Permission
) -> assets.Asset:
    """One of the caller's own assets (never through a shared link).

    Raises:
        NoAccess: No such asset of the caller's (400 naming ``permission``).
    """
    found = None
    if auth.shared_link is None:
        found = await assets.get_asset(deps.pool, auth.user.id, asset_id)
    return require_access(found, permission, unlocked=auth.elevated)


class AssetEditsController(Controller):
    """/api/assets/{id}/edits."""

    path = "/api/assets/{asset_id:uuid}/edits"

    @get("/", permission="asset.edit.get")
    async def get_asset_edits(
        self,
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> EditsResponse:
        """The edits of an asset the caller sees (an empty list when it has none).

        Raises:
            NoAccess: The caller does not see it (400 ``Not found or no asset.read access``).
        """
        await viewable_asset(deps, auth, asset_id, "asset.read")
        return edits_response(asset_id, await asset_edits.list_edits(deps.pool, asset_id))

    @put("/", status_code=200, permission="asset.edit.create")
    async def edit_asset(
        self,
        asset_id: FromPath[uuid.UUID],
        data: JSONBody[EditsCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> EditsResponse:
        """Replace the edits of one of the caller's photos; the edited renderings follow.

        Raises:
            BadRequest: The asset is not an editable photo (:func:`_check_editable`), its size
                is not known yet (metadata pending), or a crop is not the first action.
            ValidationException: An action is invalid (:func:`validate_edits`).
        """
        asset = await _own_asset(deps, auth, asset_id, "asset.edit.create")
        _check_editable(asset)
        if not asset.width or not asset.height:
            raise BadRequest("Asset dimensions are not available for editing")
        if any(e.action == "crop" for e in data.edits) and data.edits[0].action != "crop":
            raise BadRequest("Crop action must be the first edit action")
        new = validate_edits(data.edits, asset.width, asset.height)
        async with deps.outbox.transaction() as tx:
            stored = await asset_edits.replace_edits(
                tx.conn, asset_id=asset_id, owner_id=auth.user.id, edits=new
            )
            await tx.add(_changed(asset))
        log.info("asset.edits.saved", asset_id=str(asset_id), actions=len(stored))
        return edits_response(asset_id, stored)

    @delete("/", status_code=204, permission="asset.edit.delete")
    async def remove_asset_edits(
        self,
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Remove the edits of one of the caller's assets; the unedited renderings are served
        again once the thumbnail service removed the edited ones."""
        asset = await _own_asset(deps, auth, asset_id, "asset.edit.delete")
        async with deps.outbox.transaction() as tx:
            removed = await asset_edits.delete_edits(tx.conn, asset_id)
            keys = [await assets.delete_file(tx.conn, asset_id, kind) for kind in EDITED_KINDS]
            await tx.add(_changed(asset))
        for key in keys:  # the rows are gone: the unedited renderings are served from now on
            if key is not None:
                try:
                    await deps.storage.delete(key)
                except StorageError as exc:  # an orphan object, not a failure of the revert
                    log.warning("asset.edits.orphan", key=key, error=f"{exc!r}")
        log.info("asset.edits.removed", asset_id=str(asset_id), actions=removed)


def _check_editable(asset: assets.Asset) -> None:
    """Refuse what Immich's ``editAsset`` refuses, in its order and words.

    Raises:
        BadRequest: A video, a live photo (a still with a motion part), a GIF or an SVG.
    """
    if asset.type != "IMAGE":
        raise BadRequest("Only images can be edited")
    if asset.live_photo_video_id is not None:
        raise BadRequest("Editing live photos is not supported")
    names = (asset.original_path.lower(), asset.original_file_name.lower())
    if any(n.endswith(".gif") for n in names):
        raise BadRequest("Editing GIF images is not supported")
    if any(n.endswith(".svg") for n in names):
        raise BadRequest("Editing SVG images is not supported")


def _changed(asset: assets.Asset) -> AssetEditsChanged:
    return AssetEditsChanged(
        asset_id=str(asset.id), owner_id=str(asset.owner_id), at=datetime.now(UTC)
    )


ROUTES = [AssetEditsController]
