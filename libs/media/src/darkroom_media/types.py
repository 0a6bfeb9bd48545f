"""The media Darkroom accepts: the same file types as Immich, each with its MIME and asset type.

Source: Immich's documented supported formats
(https://immich.app/docs/features/supported-formats, docs/docs/features/supported-formats.md),
whose full list is Immich's ``server/src/utils/mime-types.ts`` (``raw``, ``image``, ``video`` and
``sidecar`` tables). The extensions, the MIME types and their order (first = canonical, the one
Immich's ``mimeTypes.lookup`` returns) are copied from that table; the newest revision also has
``.jp2``, ``.mpo``, ``.m2t``, ``.mxf`` and ``.ts``. One deliberate difference: ``.svg`` is
not accepted. An SVG is a program more than a picture (it can pull in other files and URLs
through ``<image href>``, ``<use>`` and XML entities), Darkroom's renderer has no safe decoder
for it, and an upload that can never get a thumbnail is better refused at once (400).
The ``format`` of each type is ours: it names the container the bytes are in, so
:mod:`darkroom_media.sniff` can tell which extensions fit a file's real content (``.jpg`` and
``.jpeg`` are both JPEG; ``.nef`` and ``.dng`` are both TIFF).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import msgspec

__all__ = [
    "IMAGE_TYPES",
    "MEDIA_TYPES",
    "SIDECAR_TYPES",
    "VIDEO_TYPES",
    "AssetType",
    "MediaType",
    "asset_type_for",
    "extension_of",
    "extensions_of_format",
    "is_sidecar",
    "media_type_for",
    "server_media_types",
]

AssetType = Literal["IMAGE", "VIDEO"]
"""The asset types Darkroom creates (Immich's ``AssetTypeEnum`` also has AUDIO and OTHER)."""


class MediaType(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted file type.

    Attributes:
        extension: Lower-case extension with its dot, e.g. ``".jpg"``.
        mime_types: MIME types Immich lists for it; the first is canonical.
        asset_type: ``"IMAGE"`` or ``"VIDEO"``.
        format: The container the bytes are in (ours, not Immich's), e.g. ``"JPEG"``,
            ``"TIFF"`` (TIFF and the TIFF-based camera RAWs), ``"ISO-BMFF video"``.
        raw: True for camera RAW formats (Immich's ``raw`` table).
    """

    extension: str
    mime_types: tuple[str, ...]
    asset_type: AssetType
    format: str
    raw: bool = False

    @property
    def mime_type(self) -> str:
        """The canonical MIME type (the first of ``mime_types``)."""
        return self.mime_types[0]


_Row = tuple[str, str, tuple[str, ...], bool]
"""(extension, format, MIME types, raw); the camera RAW rows are Immich's ``raw`` table."""


def _types(asset_type: AssetType, rows: tuple[_Row, ...]) -> dict[str, MediaType]:
    return {
        ext: MediaType(extension=ext, mime_types=mimes, asset_type=asset_type, format=fmt, raw=raw)
        for ext, fmt, mimes, raw in rows
    }


_IMAGE_ROWS: tuple[_Row, ...] = (
    (".3fr", "TIFF", ("image/3fr", "image/x-hasselblad-3fr"), True),
    (".ari", "ARRIRAW", ("image/ari", "image/x-arriflex-ari"), True),
    (".arw", "TIFF", ("image/arw", "image/x-sony-arw"), True),
    (".cap", "TIFF", ("image/cap", "image/x-phaseone-cap"), True),
    (".cin", "Phantom Cine", ("image/cin", "image/x-phantom-cin"), True),
    (".cr2", "TIFF", ("image/cr2", "image/x-canon-cr2"), True),
    (".cr3", "CR3", ("image/cr3", "image/x-canon-cr3"), True),
    (".crw", "CRW", ("image/crw", "image/x-canon-crw"), True),
    (".dcr", "TIFF", ("image/dcr", "image/x-kodak-dcr"), True),
    (".dng", "TIFF", ("image/dng", "image/x-adobe-dng"), True),
    (".erf", "TIFF", ("image/erf", "image/x-epson-erf"), True),
    (".fff", "TIFF", ("image/fff", "image/x-hasselblad-fff"), True),
    (".iiq", "TIFF", ("image/iiq", "image/x-phaseone-iiq"), True),
    (".k25", "TIFF", ("image/k25", "image/x-kodak-k25"), True),
    (".kdc", "TIFF", ("image/kdc", "image/x-kodak-kdc"), True),
    (".mrw", "MRW", ("image/mrw", "image/x-minolta-mrw"), True),
    (".nef", "TIFF", ("image/nef", "image/x-nikon-nef"), True),
    (".nrw", "TIFF", ("image/nrw", "image/x-nikon-nrw"), True),
    (".orf", "TIFF", ("image/orf", "image/x-olympus-orf"), True),
    (".ori", "TIFF", ("image/ori", "image/x-olympus-ori"), True),
    (".pef", "TIFF", ("image/pef", "image/x-pentax-pef"), True),
    (".psd", "PSD", ("image/psd", "image/vnd.adobe.photoshop"), True),
    (".raf", "RAF", ("image/raf", "image/x-fuji-raf"), True),
    (".raw", "TIFF", ("image/raw", "image/x-panasonic-raw"), True),
    (".rw2", "TIFF", ("image/rw2", "image/x-panasonic-rw2"), True),
    (".rwl", "TIFF", ("image/rwl", "image/x-leica-rwl"), True),
    (".sr2", "TIFF", ("image/sr2", "image/x-sony-sr2"), True),
    (".srf", "TIFF", ("image/srf", "image/x-sony-srf"), True),
    (".srw", "TIFF", ("image/srw", "image/x-samsung-srw"), True),
    (".x3f", "X3F", ("image/x3f", "image/x-sigma-x3f"), True),
    (".avif", "AVIF", ("image/avif",), False),
    (".bmp", "BMP", ("image/bmp",), False),
    (".gif", "GIF", ("image/gif",), False),
    (".heic", "HEIF", ("image/heic",), False),
    (".heif", "HEIF", ("image/heif",), False),
    (".hif", "HEIF", ("image/hif",), False),
    (".insp", "JPEG", ("image/jpeg",), False),
    (".jp2", "JPEG 2000", ("image/jp2",), False),
    (".jpe", "JPEG", ("image/jpeg",), False),
    (".jpeg", "JPEG", ("image/jpeg",), False),
    (".jpg", "JPEG", ("image/jpeg",), False),
    (".jxl", "JPEG XL", ("image/jxl",), False),
    (".mpo", "JPEG", ("image/jpeg",), False),
    (".png", "PNG", ("image/png", "image/apng"), False),
    (".tif", "TIFF", ("image/tiff",), False),
    (".tiff", "TIFF", ("image/tiff",), False),
    (".webp", "WebP", ("image/webp",), False),
)

_VIDEO_ROWS: tuple[_Row, ...] = (
    (".3gp", "ISO-BMFF video", ("video/3gpp",), False),
    (".3gpp", "ISO-BMFF video", ("video/3gpp",), False),
    (".avi", "AVI", ("video/avi", "video/msvideo", "video/vnd.avi", "video/x-msvideo"), False),
    (".flv", "FLV", ("video/x-flv",), False),
    (".insv", "ISO-BMFF video", ("video/mp4",), False),
    (".m2t", "MPEG-TS", ("video/mp2t",), False),
    (".m2ts", "MPEG-TS", ("video/mp2t",), False),
    (".m4v", "ISO-BMFF video", ("video/x-m4v",), False),
    (".mkv", "Matroska", ("video/x-matroska",), False),
    (".mov", "ISO-BMFF video", ("video/quicktime",), False),
    (".mp4", "ISO-BMFF video", ("video/mp4",), False),
    (".mpe", "MPEG-PS", ("video/mpeg",), False),
    (".mpeg", "MPEG-PS", ("video/mpeg",), False),
    (".mpg", "MPEG-PS", ("video/mpeg",), False),
    (".mts", "MPEG-TS", ("video/mp2t",), False),
    (".mxf", "MXF", ("application/mxf",), False),
    (".ts", "MPEG-TS", ("video/mp2t",), False),
    (".vob", "MPEG-PS", ("video/mpeg",), False),
    (".webm", "Matroska", ("video/webm",), False),
    (".wmv", "ASF", ("video/x-ms-wmv",), False),
)

IMAGE_TYPES: Mapping[str, MediaType] = MappingProxyType(_types("IMAGE", _IMAGE_ROWS))
"""Accepted image types by lower-case extension (``".jpg"``), RAW formats included."""

VIDEO_TYPES: Mapping[str, MediaType] = MappingProxyType(_types("VIDEO", _VIDEO_ROWS))
"""Accepted video types by lower-case extension (``".mp4"``)."""

MEDIA_TYPES: Mapping[str, MediaType] = MappingProxyType({**IMAGE_TYPES, **VIDEO_TYPES})
"""Every accepted asset type (images and videos) by lower-case extension."""

SIDECAR_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {".xmp": ("application/xml", "text/xml")}
)
"""Sidecar extensions and their MIME types (first is canonical). Sidecars are not assets."""


def extension_of(filename: str) -> str:
    """The lower-case extension of a file name, with its dot.

    Args:
        filename: A file name or path, with ``/`` or ``\\`` separators (``"DCIM\\IMG.HEIC"``).

    Returns:
        ``".heic"``; ``""`` when the name has no extension (``"README"``, ``".bashrc"``).
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return posixpath.splitext(name)[1].lower()


def media_type_for(filename: str) -> MediaType | None:
    """The accepted media type a file name claims, by its extension alone.

    Args:
        filename: A file name or path (case-insensitive).

    Returns:
        The :class:`MediaType`, or None when the extension is not an accepted asset type
        (sidecars included: see :func:`is_sidecar`). Use :func:`darkroom_media.sniff.sniff`
        to learn what the bytes really are.
    """
    return MEDIA_TYPES.get(extension_of(filename))


def asset_type_for(filename: str) -> AssetType | None:
    """``"IMAGE"`` or ``"VIDEO"`` by extension, or None when the extension is not accepted.

    Args:
        filename: A file name or path (case-insensitive).
    """
    media_type = media_type_for(filename)
    return media_type.asset_type if media_type else None


def is_sidecar(filename: str) -> bool:
    """True when the file name is a sidecar (``.xmp``), matched case-insensitively."""
    return extension_of(filename) in SIDECAR_TYPES


def extensions_of_format(fmt: str) -> frozenset[str]:
    """Every accepted extension whose bytes are in the given format.

    Args:
        fmt: A :attr:`MediaType.format`, e.g. ``"JPEG"`` or ``"TIFF"``.

    Returns:
        The extensions, e.g. ``{".jpg", ".jpeg", ".jpe", ".insp", ".mpo"}`` for JPEG; empty for
        an unknown format.
    """
    return frozenset(ext for ext, media_type in MEDIA_TYPES.items() if media_type.format == fmt)


def server_media_types() -> dict[str, list[str]]:
    """The body of Immich's ``GET /api/server/media-types``.

    Returns:
        ``{"image": [".3fr", ...], "video": [".3gp", ...], "sidecar": [".xmp"]}``: the shape of
        the OpenAPI schema ``ServerMediaTypesResponseDto`` (three required string arrays). The
        schema's descriptions say "MIME types", but Immich's server answers with extensions
        (``Object.keys`` of its ``mimeTypes`` tables), which is what its web and mobile
        clients match file names against; so do we. Each list is sorted.
    """
    return {
        "image": sorted(IMAGE_TYPES),
        "video": sorted(VIDEO_TYPES),
        "sidecar": sorted(SIDECAR_TYPES),
    }


#: Original types browsers display as they are: served as the full-size image themselves, while
#: others get a rendering (Immich's ``mimeTypes.isWebSupportedImage``: JPEG, PNG, WebP, GIF,
#: AVIF).
WEB_IMAGE_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}
)
