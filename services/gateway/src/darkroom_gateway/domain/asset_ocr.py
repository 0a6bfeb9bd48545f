"""``GET /api/assets/{id}/ocr`` (spec ``getAssetOcr``): the text OCR read in an asset.

The embedding service's OCR (durable ``ocr``) stores one row per line it read in the asset's
preview (:mod:`darkroom_db.ocr`): the text, its box as four corners clockwise from the top left,
each normalised to 0..1 of the preview's width (x) or height (y), which is Immich's
``AssetOcrResponseDto`` convention, and one confidence. RapidOCR reports a single confidence per
line (the recogniser's), so it is both ``textScore`` and ``boxScore``.

Access is Immich's ``asset.read``: the owner, album members and partners who see the asset;
shared-link visitors are refused (the operation does not take a link). Lines come top to
bottom, an asset OCR has not run on (or found no text in) answers ``[]``.

A line's ``id`` is the one the sync stream sends as ``AssetOcrV1.id``. OCR reads the unedited
preview; for an edited photo the boxes are moved into the edited image (crop, then the quarter
turns and mirrors in order), as Immich's ``getOcr`` does with ``transformOcrBoundingBox``, so
they lie over the text of the picture the client shows.
"""

from __future__ import annotations

import uuid

import msgspec
from darkroom_db import asset_edits, ocr
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import viewable_asset


class AssetOcrResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetOcrResponseDto (corners normalised to 0..1, clockwise from top left)."""

    id: str
    asset_id: str
    text: str
    text_score: float
    box_score: float
    x1: float
    y1: float
    x2: float
    y2: float
    x3: float
    y3: float
    x4: float
    y4: float


def box_after_edits(
    box: list[float], edits: list[asset_edits.AssetEdit], width: int, height: int
) -> list[float]:
    """A box read in the unedited image, in the edited one (Immich's
    ``transformOcrBoundingBox``).

    The corners are taken to pixels of the upright original, moved by the first crop, then by
    each quarter turn (clockwise) and mirror in order; they are put back in 0..1 of the edited
    image, and reordered after the net rotation so that the first is again the text's top left
    (as Immich reorders; a mirror alone keeps the order).

    Args:
        box: ``x1, y1, ..., x4, y4`` in 0..1 of the unedited image.
        edits: The asset's edits in order (angles multiples of 90).
        width: The upright original's width in pixels.
        height: Its height in pixels.

    Returns:
        The eight coordinates in 0..1 of the edited image (outside 0..1 where a crop cut the
        line, as Immich leaves them).
    """
    points = [(box[2 * i] * width, box[2 * i + 1] * height) for i in range(4)]
    crop = next((e for e in edits if e.action == "crop"), None)
    if crop is not None:
        left, top = crop.parameters["x"], crop.parameters["y"]
        points = [(x - left, y - top) for x, y in points]
        width, height = crop.parameters["width"], crop.parameters["height"]
    turns = 0
    for edit in edits:
        if edit.action == "rotate":
            quarter = round(edit.parameters["angle"] / 90) % 4
            turns += quarter
            for _ in range(quarter):  # clockwise: the top left corner goes to the top right
                points = [(height - y, x) for x, y in points]
                width, height = height, width
        elif edit.action == "mirror":
            if edit.parameters["axis"] == "horizontal":
                points = [(width - x, y) for x, y in points]
            else:
                points = [(x, height - y) for x, y in points]
    shift = turns % 4
    points = points[-shift:] + points[:-shift] if shift else points
    return [v for x, y in points for v in (x / width, y / height)]


def ocr_response(
    asset_id: uuid.UUID, stored: ocr.StoredOcrLine, box: list[float] | None = None
) -> AssetOcrResponse:
    """The DTO of one stored line; its ``id`` is the line's public id (``asset_ocr.uid``, also
    ``AssetOcrV1.id`` in sync).

    Args:
        asset_id: The asset.
        stored: The line.
        box: Its box in the edited image (:func:`box_after_edits`); the stored one when None.
    """
    x1, y1, x2, y2, x3, y3, x4, y4 = stored.line.box if box is None else box
    return AssetOcrResponse(
        id=str(stored.uid),
        asset_id=str(asset_id),
        text=stored.line.text,
        text_score=stored.line.score,
        box_score=stored.line.score,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        x3=x3,
        y3=y3,
        x4=x4,
        y4=y4,
    )


class AssetOcrController(Controller):
    """/api/assets/{id}/ocr."""

    path = "/api/assets/{asset_id:uuid}/ocr"

    @get("/", permission="asset.read")
    async def get_asset_ocr(
        self,
        asset_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[AssetOcrResponse]:
        """Every line of text read in the asset, top to bottom.

        Raises:
            NoAccess: 400 ``Not found or no asset.read access``.
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.read")
        rows = await ocr.get_stored_lines(deps.pool, asset.owner_id, asset.id)
        edits = await asset_edits.list_edits(deps.pool, asset.id) if rows else []
        if not edits or not asset.width or not asset.height:
            return [ocr_response(asset.id, row) for row in rows]
        width, height = asset.width, asset.height
        return [
            ocr_response(asset.id, row, box_after_edits(row.line.box, edits, width, height))
            for row in rows
        ]


ROUTES = [AssetOcrController]
