"""Render an asset's preview (JPEG), thumbnail (WebP) and ThumbHash from its original file.

Pure, blocking CPU work with no NATS/DB/storage imports: the service runs :func:`render` in a
thread pool. Sizes follow Immich's defaults (``image.preview.size`` 1440, ``image.thumbnail.size``
250, quality 80; server/src/config.ts): the *shorter* side of each rendition is the target size
(Immich resizes with sharp's ``fit: "outside"``), and nothing is ever upscaled.

Decoders, by the MIME type ingest sniffed:

* JPEG, PNG, WebP, TIFF, GIF, AVIF: libvips ``thumbnail`` straight from the file, which shrinks
  on load (a JPEG is decoded at 1/2, 1/4 or 1/8 scale), applies the EXIF orientation and turns
  embedded ICC profiles into sRGB. ``fail_on="error"`` makes a truncated file an error instead
  of a grey half-image.
* HEIC/HEIF: libheif through ``pillow_heif.open_heif`` (this libvips build has no HEVC decoder).
  libheif already applies the HEIF ``irot``/``imir`` transforms, which the HEIF spec makes
  authoritative, so the EXIF orientation is not applied again.
* BMP, JPEG 2000, JPEG XL, Photoshop PSD: Pillow. For a PSD that is the composite image the
  file stores beside its layers (Photoshop's "maximize compatibility", on by default); a PSD
  saved without one has no pixels to show and is refused as corrupt.
* Camera RAW: LibRaw through rawpy. The embedded JPEG preview is used when its shorter side
  reaches the preview size (fast, and it is the camera's own rendering); else the raw data is
  demosaiced, at half size when that is still big enough.
* Video: a poster frame decoded with PyAV (FFmpeg) from the keyframe at or before
  ``min(1 s, 10% of the duration)``, turned upright by the display-matrix rotation.

The thumbnail is made from the in-memory preview rather than from the original again: it is a
small resize of a 1440 px image, which costs less than decoding the original a second time.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeAlias

import av
import msgspec
import numpy as np
import numpy.typing as npt
import pillow_heif
import pillow_jxl  # noqa: F401 - registers Pillow's JPEG XL opener (libvips here has none)
import pyvips
import rawpy
import structlog
from darkroom_media import (
    CorruptMediaError,
    MediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
)
from darkroom_media.types import IMAGE_TYPES, VIDEO_TYPES
from PIL import Image

from darkroom_thumbnail.thumbhash import rgba_to_thumbhash

#: An encoding of a rendition (Immich's ImageFormat).
ImageFormat: TypeAlias = Literal["jpeg", "webp"]

__all__ = [
    "FULL_SIZE",
    "RenderSettings",
    "RenderedImage",
    "Renditions",
    "decoder",
    "render",
    "render_pyvips_baseline",
]

log = structlog.get_logger()

_VIPS_MAX_COORD = 10_000_000
"""libvips' largest image dimension (``VIPS_MAX_COORD``); an unbounded side of a box."""

FULL_SIZE = _VIPS_MAX_COORD
"""A ``preview_size`` that makes a decoder return the whole image (nothing is upscaled)."""

_THUMBHASH_SIDE = 100
"""ThumbHash input box; Immich hashes its thumbnail resized to fit 100x100."""

_VIPS_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/apng", "image/webp", "image/tiff", "image/gif", "image/avif"}
)
_VIPS_LOADERS = frozenset(
    {"jpegload", "pngload", "webpload", "tiffload", "gifload", "heifload", "uhdrload"}
)
"""libvips loaders the fast path accepts: a file sniffed as a photo must not reach e.g. svgload."""

_HEIF_MIME_TYPES = frozenset({"image/heic", "image/heif", "image/hif"})
_PILLOW_MIME_TYPES = frozenset(  # jxl: pillow-jxl-plugin
    {"image/bmp", "image/jp2", "image/jxl", "image/psd", "image/vnd.adobe.photoshop"}
)
_PILLOW_FORMATS = frozenset({"BMP", "JPEG2000", "JXL", "PSD"})
"""Pillow plugins the Pillow path accepts, whatever the file's bytes make Pillow pick."""
_RAW_MIME_TYPES = (
    frozenset(mime for t in IMAGE_TYPES.values() if t.raw for mime in t.mime_types)
    - _PILLOW_MIME_TYPES  # Immich counts PSD as raw; it is no camera file LibRaw reads
)
_VIDEO_MIME_TYPES = frozenset(mime for t in VIDEO_TYPES.values() for mime in t.mime_types)

_LIBRAW_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}
"""LibRaw ``sizes.flip`` -> EXIF orientation (inverse of dcraw's ``"50132467"[orientation]``)."""

_NOT_THE_FILES_FAULT = (TypeError, AttributeError, NameError, ImportError, MemoryError)
"""Not the file's fault: these propagate instead of becoming CorruptMediaError."""

_EXIF_ORIENTATION = 0x0112
"""EXIF tag 274, Orientation (EXIF 2.32, table 4)."""

_POSTER_MAX_SECONDS = 1.0
_POSTER_FRACTION = 0.1


class RenderSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How renditions are made.

    Attributes:
        preview_size: Target length in pixels of the preview's shorter side (Immich's
            ``image.preview.size`` default, 1440). Smaller images keep their size.
        preview_quality: JPEG quality of the preview, 1-100 (Immich default 80).
        thumbnail_size: Target length in pixels of the thumbnail's shorter side (Immich's
            ``image.thumbnail.size`` default, 250).
        thumbnail_quality: WebP quality of the thumbnail, 1-100 (Immich default 80).
        preview_format: Encoding of the preview (Immich's ``image.preview.format``, JPEG).
        thumbnail_format: Encoding of the thumbnail (Immich's ``image.thumbnail.format``, WebP).
        max_pixels: Largest ``width * height`` decoded; larger files (decompression bombs
            included) raise :class:`~darkroom_media.MediaTooLargeError` from their header alone.
    """

    preview_size: int = 1440
    preview_quality: int = 80
    thumbnail_size: int = 250
    thumbnail_quality: int = 80
    preview_format: ImageFormat = "jpeg"
    thumbnail_format: ImageFormat = "webp"
    max_pixels: int = 250_000_000


class RenderedImage(msgspec.Struct, frozen=True):
    """One encoded rendition.

    Attributes:
        data: The encoded file (JPEG or WebP bytes), upright, sRGB, without metadata.
        width: Width in pixels.
        height: Height in pixels.
        mime_type: ``"image/jpeg"`` or ``"image/webp"``.
    """

    data: bytes
    width: int
    height: int
    mime_type: str


class Renditions(msgspec.Struct, frozen=True):
    """Everything :func:`render` makes for one asset.

    Attributes:
        preview: JPEG whose shorter side is ``preview_size`` (or the original's, if smaller).
        thumbnail: WebP whose shorter side is ``thumbnail_size`` (or the preview's, if smaller).
        thumbhash: Raw ThumbHash bytes (5-25) of the thumbnail; the API base64-encodes them.
    """

    preview: RenderedImage
    thumbnail: RenderedImage
    thumbhash: bytes


def render(path: Path, *, mime_type: str, settings: RenderSettings) -> Renditions:
    """Render the preview, thumbnail and ThumbHash of one photo or video.

    Args:
        path: The original file on local disk (read only, never modified).
        mime_type: Its real MIME type as sniffed by ingest (e.g. ``"image/heic"``,
            ``"image/x-adobe-dng"``, ``"video/quicktime"``); parameters after ``;`` are ignored.
        settings: Sizes, qualities and the pixel limit.

    Returns:
        The renditions: preview JPEG, thumbnail WebP (both upright, sRGB, metadata stripped,
        never upscaled) and the ThumbHash.

    Raises:
        UnsupportedMediaError: No decoder for this MIME type (e.g. SVG, PDF).
        CorruptMediaError: The file is empty, truncated or cannot be decoded.
        MediaTooLargeError: Its header declares more than ``settings.max_pixels`` pixels.
        OSError: The file cannot be read at all (missing, permissions): not the media's fault,
            so the caller may retry.
    """
    started = time.perf_counter()
    mime = mime_type.split(";", 1)[0].strip().lower()
    if path.stat().st_size == 0:
        raise CorruptMediaError("the file is empty")
    decode, source = decoder(mime_type)

    try:
        preview = _finish(decode(path, settings))
        preview_data = _encode(preview, settings.preview_format, settings.preview_quality)
        thumbnail = _finish(_resize(preview, settings.thumbnail_size))
        thumbnail_data = _encode(thumbnail, settings.thumbnail_format, settings.thumbnail_quality)
        thumbhash = _thumbhash(thumbnail)
    except MediaError:
        raise
    except Image.DecompressionBombError as error:
        raise MediaTooLargeError(_describe(error)) from error
    except _NOT_THE_FILES_FAULT:
        raise  # a bug or no memory, not a bad file: the job fails loudly, is retried
    except Exception as error:  # each decoder has its own error types; all mean "bad file"
        raise CorruptMediaError(f"cannot decode {mime}: {_describe(error)}") from error

    log.debug(
        "thumbnail.rendered",
        source=source,
        mime_type=mime,
        preview=f"{preview.width}x{preview.height}",
        thumbnail=f"{thumbnail.width}x{thumbnail.height}",
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return Renditions(
        preview=RenderedImage(
            preview_data, preview.width, preview.height, f"image/{settings.preview_format}"
        ),
        thumbnail=RenderedImage(
            thumbnail_data, thumbnail.width, thumbnail.height, f"image/{settings.thumbnail_format}"
        ),
        thumbhash=thumbhash,
    )


def decoder(mime_type: str) -> tuple[Callable[[Path, RenderSettings], pyvips.Image], str]:
    """The decoder of a MIME type and the name of the library it uses.

    A decoder returns the upright image with its shorter side at most
    ``settings.preview_size`` pixels (:data:`FULL_SIZE` for the whole image), uncached.

    Args:
        mime_type: The sniffed MIME type (parameters after ``;`` are ignored).

    Returns:
        ``(decode, source)``, e.g. ``(_preview_vips, "libvips")``.

    Raises:
        UnsupportedMediaError: No decoder for this MIME type.
    """
    mime = mime_type.split(";", 1)[0].strip().lower()
    if mime in _VIPS_MIME_TYPES:
        return _preview_vips, "libvips"
    if mime in _HEIF_MIME_TYPES:
        return _preview_heif, "libheif"
    if mime in _PILLOW_MIME_TYPES:
        return _preview_pillow, "pillow"
    if mime in _RAW_MIME_TYPES:
        return _preview_raw, "libraw"
    if mime in _VIDEO_MIME_TYPES or mime.startswith("video/"):
        return _preview_video, "ffmpeg"
    raise UnsupportedMediaError(f"no renderer for {mime_type!r}")


def render_pyvips_baseline(path: Path, settings: RenderSettings) -> tuple[bytes, bytes]:
    """The two plain libvips renders :func:`render` is benchmarked against.

    Two ``thumbnail`` calls on the original with the same target boxes as :func:`render` (so the
    outputs have the same size), saved as JPEG and WebP; no guards, no colour normalisation, no
    error mapping, no ThumbHash, no reuse of the preview. For libvips-readable files only.

    Args:
        path: A JPEG/PNG/WebP/TIFF/GIF/AVIF file.
        settings: Sizes and qualities (``max_pixels`` is ignored).

    Returns:
        ``(preview_jpeg, thumbnail_webp)`` bytes.

    Raises:
        pyvips.Error: The file cannot be decoded.
    """
    header = pyvips.Image.new_from_file(str(path))
    width, height = _upright_size(header)
    box_width, box_height = _box(width, height, settings.preview_size)
    preview = pyvips.Image.thumbnail(str(path), box_width, height=box_height, size="down")
    box_width, box_height = _box(width, height, settings.thumbnail_size)
    thumbnail = pyvips.Image.thumbnail(str(path), box_width, height=box_height, size="down")
    return (
        preview.jpegsave_buffer(Q=settings.preview_quality, keep="none"),
        thumbnail.webpsave_buffer(Q=settings.thumbnail_quality, keep="none"),
    )


# --- decoders: each returns the preview-sized (or smaller) upright image --------------------


def _preview_vips(path: Path, settings: RenderSettings) -> pyvips.Image:
    header = pyvips.Image.new_from_file(str(path), access="sequential", fail_on="error")
    loader = header.get("vips-loader") if header.get_typeof("vips-loader") else ""
    if loader.removesuffix("_source").removesuffix("_file") not in _VIPS_LOADERS:
        raise CorruptMediaError(f"the file's content is not a photo (libvips {loader})")
    _check_pixels(header.width, header.height, settings)
    if loader.startswith("pngload") and not header.get_typeof("orientation"):
        # libvips reads a PNG's eXIf chunk only before IDAT; PNG allows it after too.
        orientation = _png_exif_orientation(path)
        if orientation != 1:
            box_width, box_height = _box(header.width, header.height, settings.preview_size)
            stored = pyvips.Image.thumbnail(
                str(path), box_width, height=box_height, size="down", fail_on="error"
            )
            return _orient(stored.copy_memory(), orientation)  # rotating needs random access
    box_width, box_height = _box(*_upright_size(header), settings.preview_size)
    return pyvips.Image.thumbnail(
        str(path), box_width, height=box_height, size="down", fail_on="error"
    )


def _png_exif_orientation(path: Path) -> int:
    """The EXIF orientation in a PNG's ``eXIf`` chunk (PNG spec 1.5 extension), else 1.

    Walks the chunk headers, seeking over the data, so a large PNG costs a few reads.
    """
    with path.open("rb") as file:
        if file.read(8) != b"\x89PNG\r\n\x1a\n":
            return 1
        for _ in range(100_000):  # a bound on chunks; real PNGs have a handful
            head = file.read(8)
            if len(head) < 8:
                return 1
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                exif = Image.Exif()
                exif.load(file.read(min(length, 1 << 20)))
                orientation = exif.get(_EXIF_ORIENTATION, 1)
                return orientation if orientation in range(1, 9) else 1
            if kind == b"IEND":
                return 1
            file.seek(length + 4, 1)  # data and CRC
    return 1


def _preview_heif(path: Path, settings: RenderSettings) -> pyvips.Image:
    heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=True)
    width, height = heif.size
    _check_pixels(width, height, settings)  # before .data, which decodes
    bands = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}.get(heif.mode)
    if bands is None:
        raise UnsupportedMediaError(f"HEIF pixel mode {heif.mode!r} is not supported")
    rows = np.frombuffer(heif.data, dtype=np.uint8).reshape(height, heif.stride)
    image = _from_array(rows[:, : width * bands].reshape(height, width, bands))
    return _resize(_to_srgb(image, heif.info.get("icc_profile")), settings.preview_size)


def _preview_pillow(path: Path, settings: RenderSettings) -> pyvips.Image:
    with Image.open(path) as picture:  # reads the header only
        if picture.format not in _PILLOW_FORMATS:  # e.g. an EPS would run Ghostscript on load
            raise UnsupportedMediaError(f"{picture.format} is not decoded through Pillow")
        _check_pixels(picture.width, picture.height, settings)
        icc = picture.info.get("icc_profile")
        picture.draft("RGB", (settings.preview_size, settings.preview_size))
        rgb = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    image = _from_array(np.asarray(rgb))
    return _resize(_to_srgb(image, icc), settings.preview_size)


def _preview_raw(path: Path, settings: RenderSettings) -> pyvips.Image:
    with rawpy.imread(str(path)) as raw:
        sizes = raw.sizes
        _check_pixels(sizes.width, sizes.height, settings)
        orientation = _LIBRAW_FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        target = min(settings.preview_size, sizes.width, sizes.height)
        embedded = _embedded_preview(raw, target, settings)
        if embedded is not None:
            return _orient(embedded, orientation)
        # Demosaic; LibRaw applies the flip itself. Half size skips interpolation (4x faster).
        half = min(sizes.width, sizes.height) // 2 >= settings.preview_size
        rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    return _resize(_from_array(rgb), settings.preview_size)


def _embedded_preview(
    raw: rawpy.RawPy, target: int, settings: RenderSettings
) -> pyvips.Image | None:
    """The RAW's embedded preview resized, or None when it is missing or smaller than target."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None  # a broken preview must not fail a RAW whose raw data is fine
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            header = pyvips.Image.new_from_buffer(thumb.data, "", fail_on="error")
            if min(header.width, header.height) < target:
                return None
            _check_pixels(header.width, header.height, settings)
            # The RAW's orientation applies; a tag inside the preview JPEG is ignored.
            box_width, box_height = _box(header.width, header.height, settings.preview_size)
            return pyvips.Image.thumbnail_buffer(
                thumb.data,
                box_width,
                height=box_height,
                size="down",
                no_rotate=True,
                fail_on="error",
            ).copy_memory()
        except pyvips.Error:
            return None
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        array = np.asarray(thumb.data)
        if array.ndim != 3 or min(array.shape[:2]) < target:
            return None
        return _resize(_from_array(array.astype(np.uint8)), settings.preview_size)
    return None


def _preview_video(path: Path, settings: RenderSettings) -> pyvips.Image:
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.video:
            raise CorruptMediaError("the file has no video stream")
        stream = container.streams.video[0]
        _check_pixels(stream.codec_context.width, stream.codec_context.height, settings)
        stream.thread_type = "AUTO"
        frame = None
        target = _poster_time(container, stream)
        if target > 0 and stream.time_base:
            start = stream.start_time or 0
            offset = start + int(target / stream.time_base)
            try:
                container.seek(offset, stream=stream, backward=True, any_frame=False)
                frame = _first_frame(container, stream)
            except av.FFmpegError:
                frame = None
            if frame is None:  # unseekable or broken index: fall back to the start
                container.seek(0)
        if frame is None:
            frame = _first_frame(container, stream)
        if frame is None:
            raise CorruptMediaError("no video frame could be decoded")
        _check_pixels(frame.width, frame.height, settings)
        rotation = frame.rotation  # display matrix, degrees counter-clockwise
        image = _from_array(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))
    image = _resize(image, settings.preview_size)
    clockwise = round(-rotation / 90) % 4
    return image.rot(("d0", "d90", "d180", "d270")[clockwise]) if clockwise else image


def _poster_time(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Seconds into the video for the poster: ``min(1 s, 10% of the duration)``."""
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        return 0.0
    return max(0.0, min(_POSTER_MAX_SECONDS, _POSTER_FRACTION * duration))


def _first_frame(
    container: av.container.InputContainer, stream: av.VideoStream
) -> av.VideoFrame | None:
    for frame in container.decode(stream):
        return frame
    return None


# --- pixels -------------------------------------------------------------------------------------


def _check_pixels(width: int, height: int, settings: RenderSettings) -> None:
    if width <= 0 or height <= 0:
        raise CorruptMediaError(f"the header declares an empty {width}x{height} image")
    if width * height > settings.max_pixels:
        raise MediaTooLargeError(
            f"{width}x{height} is {width * height} pixels, over the limit of {settings.max_pixels}"
        )


def _upright_size(header: pyvips.Image) -> tuple[int, int]:
    """``(width, height)`` after the EXIF orientation is applied."""
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    if orientation in (5, 6, 7, 8):
        return header.height, header.width
    return header.width, header.height


def _box(width: int, height: int, size: int) -> tuple[int, int]:
    """A ``thumbnail`` box that makes the shorter side of a width x height image ``size``.

    libvips fits the image inside the box, so the longer side is left unbounded.
    Returns ``(box_width, box_height)``.
    """
    if width >= height:
        return _VIPS_MAX_COORD, size
    return size, _VIPS_MAX_COORD


def _resize(image: pyvips.Image, size: int) -> pyvips.Image:
    """Shrink an in-memory image so its shorter side is ``size`` (never enlarges, no rotation)."""
    box_width, box_height = _box(image.width, image.height, size)
    return image.thumbnail_image(box_width, height=box_height, size="down", no_rotate=True)


def _from_array(array: npt.NDArray[np.uint8]) -> pyvips.Image:
    """A pyvips image over an ``(h, w)`` or ``(h, w, bands)`` uint8 array.

    The image refers to the array's memory; pyvips keeps the array alive for every image made
    from it by an operation. (``copy_memory()`` would not: on an image that is already in
    memory it returns a new wrapper of the same pixels without that reference.)
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape[:2]
    bands = 1 if array.ndim == 2 else array.shape[2]
    image = pyvips.Image.new_from_memory(array.data, width, height, bands, "uchar")
    interpretation = "b-w" if bands <= 2 else "srgb"
    return image.copy(interpretation=interpretation)


def _to_srgb(image: pyvips.Image, icc_profile: bytes | None) -> pyvips.Image:
    """Convert pixels tagged with an ICC profile (e.g. Display P3 from an iPhone) to sRGB."""
    if not icc_profile or image.bands < 3:
        return image
    tagged = image.copy()
    tagged.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc_profile)
    try:
        return tagged.icc_transform("srgb", embedded=True, intent="perceptual").copy_memory()
    except pyvips.Error:
        return image  # an unusable profile: the pixels are most likely sRGB-ish anyway


def _orient(image: pyvips.Image, orientation: int) -> pyvips.Image:
    if orientation == 1:
        return image
    tagged = image.copy()
    tagged.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return tagged.autorot()


def _finish(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB (with alpha if any), no orientation or ICC tag, computed into memory."""
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    image = image.copy()
    for name in ("orientation", "icc-profile-data"):
        if image.get_typeof(name):
            image.remove(name)
    return image.copy_memory()


def _encode(image: pyvips.Image, fmt: ImageFormat, quality: int) -> bytes:
    """``image`` encoded as ``fmt`` at ``quality`` (1-100), without metadata."""
    if fmt == "webp":
        return bytes(image.webpsave_buffer(Q=quality, keep="none"))
    return bytes(_flatten(image).jpegsave_buffer(Q=quality, optimize_coding=True, keep="none"))


def _flatten(image: pyvips.Image) -> pyvips.Image:
    """Drop alpha for JPEG by compositing onto white."""
    return image.flatten(background=[255, 255, 255]) if image.hasalpha() else image


def _thumbhash(thumbnail: pyvips.Image) -> bytes:
    small = thumbnail.thumbnail_image(
        _THUMBHASH_SIDE, height=_THUMBHASH_SIDE, size="down", no_rotate=True
    )
    if not small.hasalpha():
        small = small.bandjoin(255)
    return rgba_to_thumbhash(small.numpy().astype(np.uint8).reshape(small.height, small.width, 4))


def _describe(error: BaseException) -> str:
    """One line of an error message (pyvips errors span several lines). LibRaw's messages
    reach Python as ``bytes`` (rawpy raises ``LibRawFileUnsupportedError(b'...')``); they are
    decoded, since the log redaction blanks every ``b'...'`` literal as a possible payload."""
    message = (
        " ".join(
            a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in error.args
        )
        if any(isinstance(a, bytes) for a in error.args)
        else str(error)
    )
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = " | ".join(lines) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
