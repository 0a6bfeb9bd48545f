"""``GET /api/assets/{id}/ocr`` (spec ``getAssetOcr``): the text OCR read in an asset.

The embedding service's OCR (durable ``ocr``) stores one row per line it read in the asset's
preview (:mod:`darkroom_db.ocr`): the text, its box as four corners clockwise from the top left,
each normalised to 0..1 of the preview's width (x) or height (y), which is Immich's
``AssetOcrResponseDto`` convention, and one confidence. RapidOCR reports a single confidence per
line (the recogniser's), so it is both ``textScore`` and ``boxScore``.

Access is Immich's ``asset.read``: the owner, album members and partners who see the asset;
shared-link visitors are refused (the operation does not take a link). Lines come top to
bottom, an asset OCR has not run on (or found no text in) answers ``[]``.
"""

from __future__ import annotations

import uuid

import msgspec
from darkroom_db import ocr
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import _viewable_asset


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


def ocr_response(asset_id: uuid.UUID, stored: ocr.StoredOcrLine) -> AssetOcrResponse:
    """The DTO of one stored line.

    Its ``id`` is a UUID (the spec's format) derived from the row id with UUID v5 in the asset's
    namespace (RFC 9562 section 5.5), so it is stable while the row lives.
    """
    x1, y1, x2, y2, x3, y3, x4, y4 = stored.line.box
    return AssetOcrResponse(
        id=str(uuid.uuid5(asset_id, f"ocr:{stored.id}")),
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
        asset = await _viewable_asset(deps, auth, asset_id, "asset.read")
        rows = await ocr.get_stored_lines(deps.pool, asset.owner_id, asset.id)
        return [ocr_response(asset.id, row) for row in rows]


ROUTES = [AssetOcrController]
