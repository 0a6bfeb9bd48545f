"""Render a photo with its non-destructive edits (crop, rotate, mirror) applied.

Pure, blocking CPU work like :mod:`darkroom_thumbnail.render`, whose decoders it reuses: the
original is decoded whole and upright (never modified: it is only read), the edits are applied
in their order with libvips, and the full-size image, the preview and the thumbnail are encoded
from the result, at the sizes, formats and qualities of :class:`RenderSettings`.

The actions are the Immich 3.1.0 spec's (``AssetEditActionItemDto``): ``crop`` (``x``, ``y``,
``width``, ``height`` in pixels of the image as the preceding actions left it), ``rotate``
(``angle`` in degrees clockwise, a multiple of 90) and ``mirror`` (``axis`` ``horizontal``
flips left-right, ``vertical`` top-bottom).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pyvips
import structlog
from darkroom_media import CorruptMediaError, MediaError, MediaTooLargeError
from PIL import Image

from darkroom_thumbnail.render import (
    _NOT_THE_FILES_FAULT,
    FULL_SIZE,
    RenderedImage,
    RenderSettings,
    _describe,
    _encode,
    _finish,
    _resize,
    _thumbhash,
    decoder,
)

log = structlog.get_logger()

_QUARTER_TURNS = {90: "d90", 180: "d180", 270: "d270"}
"""Clockwise angle -> libvips ``rot`` angle (``VipsAngle``)."""


class Edit(msgspec.Struct, frozen=True):
    """One edit action as stored (``asset_edits.action``/``parameters``)."""

    action: str
    parameters: dict[str, Any]


class EditedRenditions(msgspec.Struct, frozen=True):
    """The renderings of an edited photo.

    Attributes:
        fullsize: The whole edited image, encoded like the preview (served for
            ``/original?edited=true``).
        preview: Shorter side ``preview_size`` (or less, never upscaled).
        thumbnail: Shorter side ``thumbnail_size`` (or less).
        thumbhash: Raw ThumbHash of the edited thumbnail (the asset's while it is edited, so
            clients' cache keys built on it change with the edit).
    """

    fullsize: RenderedImage
    preview: RenderedImage
    thumbnail: RenderedImage
    thumbhash: bytes


def apply_edits(
    image: pyvips.Image, edits: Sequence[Edit], scale: tuple[float, float] = (1.0, 1.0)
) -> pyvips.Image:
    """Apply ``edits`` in order to an upright image.

    Args:
        image: The upright original (or a scaled copy of it).
        edits: The actions, in order.
        scale: ``(sx, sy)``: pixels of ``image`` per pixel of the image the crops were given
            in (1 when ``image`` has the asset's recorded size). Swapped by a quarter turn.

    Returns:
        The edited image.

    Raises:
        ValueError: An unknown action, an angle that is not a multiple of 90, or an axis
            other than ``horizontal``/``vertical``.
    """
    sx, sy = scale
    for edit in edits:
        p = edit.parameters
        if edit.action == "crop":
            left = min(max(0, round(p["x"] * sx)), image.width - 1)
            top = min(max(0, round(p["y"] * sy)), image.height - 1)
            width = max(1, min(round(p["width"] * sx), image.width - left))
            height = max(1, min(round(p["height"] * sy), image.height - top))
            image = image.crop(left, top, width, height)
        elif edit.action == "rotate":
            angle = int(p["angle"]) % 360
            if int(p["angle"]) != p["angle"] or angle % 90:
                raise ValueError(f"rotate angle {p['angle']} is not a multiple of 90")
            if angle:
                image = image.rot(_QUARTER_TURNS[angle])
                if angle != 180:
                    sx, sy = sy, sx
        elif edit.action == "mirror":
            if p["axis"] not in ("horizontal", "vertical"):
                raise ValueError(f"mirror axis {p['axis']!r}")
            image = image.flip(p["axis"])
        else:
            raise ValueError(f"unknown edit action {edit.action!r}")
    return image


def render_edited(
    path: Path,
    *,
    mime_type: str,
    edits: Sequence[Edit],
    settings: RenderSettings,
    recorded_size: tuple[int, int] | None = None,
) -> EditedRenditions:
    """Decode the original whole and upright, apply ``edits`` and encode the renderings.

    Args:
        path: The original on local disk (read only).
        mime_type: Its sniffed MIME type (a photo's).
        edits: The actions, in order (at least one).
        settings: Sizes, formats, qualities and the pixel limit.
        recorded_size: The asset's ``(width, height)`` the crops refer to; when the decoder
            returns another size (a RAW's demosaiced area), crops are scaled to it.

    Returns:
        The full-size image, preview and thumbnail, edited.

    Raises:
        UnsupportedMediaError: No decoder for this MIME type.
        CorruptMediaError: The file cannot be decoded, or an edit cannot be applied.
        MediaTooLargeError: Over ``settings.max_pixels``.
    """
    started = time.perf_counter()
    decode, source = decoder(mime_type)
    whole = msgspec.structs.replace(settings, preview_size=FULL_SIZE)
    try:
        image = decode(path, whole).copy_memory()  # rotating needs random access
        scale = (1.0, 1.0)
        if recorded_size and recorded_size[0] > 0 and recorded_size[1] > 0:
            scale = (image.width / recorded_size[0], image.height / recorded_size[1])
        full = _finish(apply_edits(image, edits, scale))
        preview = _finish(_resize(full, settings.preview_size))
        thumbnail = _finish(_resize(preview, settings.thumbnail_size))
        thumbhash = _thumbhash(thumbnail)
        encoded = [
            (full, _encode(full, settings.preview_format, settings.preview_quality)),
            (preview, _encode(preview, settings.preview_format, settings.preview_quality)),
            (thumbnail, _encode(thumbnail, settings.thumbnail_format, settings.thumbnail_quality)),
        ]
    except MediaError:
        raise
    except Image.DecompressionBombError as error:
        raise MediaTooLargeError(_describe(error)) from error
    except _NOT_THE_FILES_FAULT:
        raise
    except Exception as error:  # a decoder's own error, or an edit libvips refused
        raise CorruptMediaError(f"cannot render the edits: {_describe(error)}") from error
    formats = (settings.preview_format, settings.preview_format, settings.thumbnail_format)
    out = [
        RenderedImage(data, img.width, img.height, f"image/{fmt}")
        for (img, data), fmt in zip(encoded, formats, strict=True)
    ]
    log.debug(
        "thumbnail.edited_rendered",
        source=source,
        edits=len(edits),
        fullsize=f"{full.width}x{full.height}",
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return EditedRenditions(fullsize=out[0], preview=out[1], thumbnail=out[2], thumbhash=thumbhash)


def thumbhash_of(encoded: bytes) -> bytes:
    """The ThumbHash of an encoded thumbnail (the unedited one, when edits are removed).

    Args:
        encoded: A WebP or JPEG thumbnail as :func:`darkroom_thumbnail.render.render` made it.

    Returns:
        Raw ThumbHash bytes.

    Raises:
        CorruptMediaError: The bytes cannot be decoded.
    """
    try:
        return _thumbhash(_finish(pyvips.Image.new_from_buffer(encoded, "")))
    except pyvips.Error as error:
        raise CorruptMediaError(f"cannot decode the thumbnail: {_describe(error)}") from error
