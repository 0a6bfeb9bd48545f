"""Decide a file's real media type from its first bytes, whatever its name says.

The containers puremagic gets wrong or does not know (ISO-BMFF brands, the TIFF family and its
camera RAWs, RIFF, Matroska/WebM, MPEG transport streams and a few RAW and video signatures) are
checked here first, from their specifications; everything else with a plain magic number (JPEG,
PNG, GIF, BMP, PSD, FLV, ASF/WMV, MPEG program streams, RAF, X3F, CRW) goes to puremagic, whose
answer is kept only when it names a type in :mod:`darkroom_media.types`. Magic numbers follow
ExifTool's ``%magicNumber`` table (lib/Image/ExifTool.pm) unless said otherwise.
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

import msgspec
import puremagic

from darkroom_media.errors import CorruptMediaError, UnsupportedMediaError
from darkroom_media.types import (
    IMAGE_TYPES,
    MEDIA_TYPES,
    VIDEO_TYPES,
    AssetType,
    extension_of,
    extensions_of_format,
)

__all__ = ["SNIFF_BYTES", "MediaKind", "sniff"]

SNIFF_BYTES = 64 * 1024
"""How many leading bytes callers should pass to :func:`sniff` (64 KiB; fewer is fine for a
shorter file). Enough for every check here: an ISO-BMFF ``ftyp`` box, TIFF IFD0, an EBML
header, eight MPEG-TS packets (8 x 192 bytes)."""


class MediaKind(msgspec.Struct, frozen=True, kw_only=True):
    """What a file really is.

    Attributes:
        asset_type: ``"IMAGE"`` or ``"VIDEO"``.
        mime_type: Canonical MIME type of ``extension`` (Immich's), e.g. ``"image/heic"``.
        extension: Lower-case extension with its dot that fits the content, e.g. ``".heic"``:
            the file name's own when it names the same format (``.jpeg`` stays ``.jpeg``,
            ``.nef`` on a TIFF container stays ``.nef``), else the format's usual one.
    """

    asset_type: AssetType
    mime_type: str
    extension: str


class _Found(NamedTuple):
    default: str
    """Extension to use when the file name's does not fit the content."""
    names: frozenset[str]
    """Extensions a file with this content may carry."""


def _found(default: str, names: frozenset[str] | None = None) -> _Found:
    return _Found(default, names or extensions_of_format(MEDIA_TYPES[default].format))


def sniff(head: bytes, filename: str | None = None) -> MediaKind:
    """Decide what a file really is from its first bytes.

    Args:
        head: The file's first bytes: :data:`SNIFF_BYTES` of them, or the whole file when it is
            shorter. Bytes beyond :data:`SNIFF_BYTES` are ignored.
        filename: The name the client gave, if any. It never overrides the content; it only
            picks among extensions of the same format (``.jpeg`` vs ``.jpg``, ``.3gp`` vs
            ``.mp4``) and tells the TIFF-based camera RAWs apart (a TIFF container named
            ``.nef`` is a NEF), which the bytes alone cannot always do.

    Returns:
        The :class:`MediaKind`.

    Raises:
        CorruptMediaError: ``head`` is empty ("empty file").
        UnsupportedMediaError: The content is not an accepted image or video (text, ZIP, PDF,
            an executable, audio, unrecognised bytes); the message says what was found and
            what is accepted. Sidecars (``.xmp``) are not assets and are rejected here too.
    """
    if not head:
        raise CorruptMediaError("empty file")
    head = bytes(head[:SNIFF_BYTES])
    found = _detect(head)
    if not isinstance(found, _Found):
        raise UnsupportedMediaError(_unsupported(head, filename, found))
    extension = extension_of(filename) if filename else ""
    if extension not in found.names:
        extension = found.default
    media_type = MEDIA_TYPES[extension]
    return MediaKind(
        asset_type=media_type.asset_type,
        mime_type=media_type.mime_type,
        extension=extension,
    )


def _detect(head: bytes) -> _Found | str | None:
    """A _Found for accepted content, a description of unaccepted content, or None."""
    for check in (_iso_bmff, _tiff, _riff, _ebml, _mpeg_ts, _signature, _svg, _puremagic):
        found = check(head)
        if found is not None:
            return found
    return None


# --- ISO base media file format (ISO/IEC 14496-12): HEIF, AVIF, CR3, MP4, 3GP, QuickTime ----

# Brands: HEIF/HEIC (ISO/IEC 23008-12 Annex B), AVIF (AV1 Image File Format 1.1), MP4
# registration authority's brand list (mp4ra.org), 3GPP TS 26.244, Apple QuickTime File Format.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_M4V_BRANDS = frozenset({b"M4V ", b"M4VH", b"M4VP"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9"}
    | {b"mp41", b"mp42", b"mp71", b"avc1", b"mmp4", b"dash", b"f4v ", b"MSNV", b"NDAS"}
    | {b"XAVC", b"CAEP"}
)
# Top-level atoms a QuickTime movie may start with when it has no ftyp (ExifTool's MOV magic).
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"junk"})
_MPEG4_VIDEO_NAMES = frozenset({".mp4", ".m4v", ".insv", ".3gp", ".3gpp"})
_QUICKTIME_NAMES = frozenset({".mov"})


def _is_3gpp(brand: bytes) -> bool:
    return brand[:2] == b"3g"  # 3gp4..3gp9, 3g2a, 3ge6, 3gg6, 3gr6, 3gs6...


def _iso_bmff(head: bytes) -> _Found | str | None:
    if len(head) < 12:
        return None
    size = int.from_bytes(head[0:4], "big")
    box = head[4:8]
    if box in _QUICKTIME_ATOMS and (size >= 8 or size in (0, 1)):
        return _found(".mov", _QUICKTIME_NAMES)
    if box != b"ftyp":
        return None
    major = head[8:12]
    end = min(max(size, 16), len(head))
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    brands = compatible | {major}
    if major in _AUDIO_BRANDS:
        return f"an ISO-BMFF audio file (brand {major.decode('latin-1').strip()!r})"
    if major == b"crx ":
        return _found(".cr3")
    if major in _HEIC_BRANDS:
        return _found(".heic")
    if major in _AVIF_BRANDS:
        return _found(".avif")
    if major in _HEIF_GENERIC_BRANDS:
        if compatible & _AVIF_BRANDS:
            return _found(".avif")
        return _found(".heic" if compatible & _HEIC_BRANDS else ".heif")
    if major == b"qt  ":
        return _found(".mov", _QUICKTIME_NAMES)
    if _is_3gpp(major):
        return _found(".3gp", _MPEG4_VIDEO_NAMES)
    if major in _M4V_BRANDS:
        return _found(".m4v", _MPEG4_VIDEO_NAMES)
    if brands & _MP4_BRANDS or any(_is_3gpp(brand) for brand in compatible):
        return _found(".mp4", _MPEG4_VIDEO_NAMES)
    if b"qt  " in compatible:
        return _found(".mov", _QUICKTIME_NAMES)
    brand = major.decode("latin-1").strip()
    return f"an ISO-BMFF file of brand {brand!r}, not an image or video brand"


# --- TIFF (TIFF 6.0) and the camera RAWs built on it ----------------------------------------

_TIFF_NAMES = extensions_of_format("TIFF")
_DNG_VERSION_TAG = 0xC612  # DNG specification 1.6, "DNGVersion", only in DNG files' IFD0.


def _tiff(head: bytes) -> _Found | None:
    signature = head[:4]
    if signature in (b"IIRO", b"IIRS", b"MMOR"):  # Olympus ORF
        return _found(".orf", frozenset({".orf", ".ori"}))
    if signature == b"IIU\x00":  # Panasonic RW2/RAW, Leica RWL
        return _found(".rw2", frozenset({".rw2", ".raw", ".rwl"}))
    if signature in (b"II+\x00", b"MM\x00+"):  # BigTIFF
        return _found(".tif", _TIFF_NAMES)
    if signature not in (b"II*\x00", b"MM\x00*"):
        return None
    if head[8:10] == b"CR" and head[10:11] == b"\x02":  # Canon CR2 header, version 2
        return _found(".cr2", frozenset({".cr2"}))
    if _has_dng_version(head):
        return _found(".dng", frozenset({".dng"}))
    # A plain TIFF container: the RAWs built on it (NEF, ARW, PEF, ...) differ only inside,
    # in their maker tags, so the file name decides among them.
    return _found(".tif", _TIFF_NAMES)


def _has_dng_version(head: bytes) -> bool:
    """True when IFD0 (within ``head``) has the DNGVersion tag."""
    if len(head) < 8:
        return False
    order = "<" if head[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(f"{order}I", head, 4)
    if ifd + 2 > len(head):
        return False
    (count,) = struct.unpack_from(f"{order}H", head, ifd)
    for index in range(count):
        entry = ifd + 2 + 12 * index
        if entry + 2 > len(head):
            return False
        (tag,) = struct.unpack_from(f"{order}H", head, entry)
        if tag == _DNG_VERSION_TAG:
            return True
    return False


# --- RIFF: WebP, AVI ------------------------------------------------------------------------


def _riff(head: bytes) -> _Found | str | None:
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"WEBP":
        return _found(".webp")
    if form in (b"AVI ", b"AVIX"):
        return _found(".avi")
    kind = form.decode("latin-1").strip()
    return f"a RIFF {kind!r} file ('WAVE' is audio)"


# --- EBML (RFC 8794): Matroska (RFC 9559), WebM ---------------------------------------------

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE_ID = 0x4282


def _ebml(head: bytes) -> _Found | str | None:
    if head[:4] != _EBML_MAGIC:
        return None
    doctype = _ebml_doctype(head)
    if doctype == "webm":
        return _found(".webm")
    if doctype == "matroska":
        return _found(".mkv")
    return f"an EBML document of type {doctype!r}"


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-size integer at ``pos``: (value, its length in bytes); (-1, 0) if bad."""
    if pos >= len(data) or data[pos] == 0:
        return -1, 0
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return -1, 0
    value = int.from_bytes(data[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    return value, length


def _ebml_doctype(head: bytes) -> str | None:
    """The DocType string of the EBML header, or None when not found in ``head``."""
    size, length = _vint(head, 4, keep_marker=False)
    if length == 0:
        return None
    pos = 4 + length
    end = min(pos + size, len(head))
    while pos < end:
        element, id_length = _vint(head, pos, keep_marker=True)
        size, size_length = _vint(head, pos + id_length, keep_marker=False)
        if id_length == 0 or size_length == 0:
            return None
        pos += id_length + size_length
        if element == _EBML_DOCTYPE_ID:
            return head[pos : pos + size].rstrip(b"\x00").decode("ascii", "replace")
        pos += size
    return None


# --- MPEG-2 transport stream (ISO/IEC 13818-1): .ts 188-byte packets; AVCHD/Blu-ray .mts and
# .m2ts 192-byte packets (a 4-byte timestamp, then the packet). Sync byte 0x47. --------------

_TS_PACKETS_CHECKED = 8


def _mpeg_ts(head: bytes) -> _Found | None:
    for packet, offset, default in ((188, 0, ".ts"), (192, 4, ".mts")):
        if len(head) <= offset:
            continue
        packets = min(_TS_PACKETS_CHECKED, (len(head) - offset - 1) // packet + 1)
        if packets >= 2 and all(head[offset + i * packet] == 0x47 for i in range(packets)):
            return _found(default)
    return None


# --- Plain signatures puremagic does not know or mislabels ----------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\x0a", ".jxl"),  # JPEG XL codestream (ISO/IEC 18181-2)
    (b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a", ".jxl"),  # JPEG XL container
    (b"\x00\x00\x00\x0cjP  \x0d\x0a\x87\x0a", ".jp2"),  # JPEG 2000 signature box (JP2/JPX)
    (b"\xff\x4f\xff\x51", ".jp2"),  # JPEG 2000 codestream (SOC + SIZ markers)
    (b"\x06\x0e\x2b\x34\x02\x05\x01\x01\x0d\x01\x02", ".mxf"),  # SMPTE 377M partition pack
    (b"ARRI\x12\x34\x56\x78", ".ari"),  # ARRIRAW frame header (ARRI's file format notes)
    (b"\x00MRM", ".mrw"),  # Minolta RAW
    (b"CI\x2c\x00", ".cin"),  # Phantom Cine: "CI", header size 44 (Vision Research, CINE)
)


def _signature(head: bytes) -> _Found | None:
    for magic, extension in _SIGNATURES:
        if head.startswith(magic):
            return _found(extension)
    return None


# --- SVG: an XML document whose root element is <svg> ---------------------------------------

_SVG_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>]*>)\s*)*<svg[\s>]",
    re.DOTALL | re.IGNORECASE,
)


def _svg(head: bytes) -> str | None:
    """SVG is recognised so that its rejection says what it is (see darkroom_media.types)."""
    if _SVG_ROOT.match(head[:4096]):
        return "an SVG drawing (not accepted: it cannot be rendered safely)"
    return None


# --- Everything else: puremagic -------------------------------------------------------------

# puremagic's extension -> ours, for the formats it is trusted with (the others are above).
_PUREMAGIC_EXTENSIONS = {
    ".jpg": ".jpg",
    ".jpeg": ".jpg",
    ".jfif": ".jpg",
    ".jpe": ".jpg",
    ".png": ".png",
    ".apng": ".png",
    ".gif": ".gif",
    ".bmp": ".bmp",
    ".dib": ".bmp",
    ".psd": ".psd",
    ".flv": ".flv",
    ".wmv": ".wmv",
    ".asf": ".wmv",
    ".mpg": ".mpg",
    ".mpeg": ".mpg",
    ".vob": ".mpg",
    ".raf": ".raf",
    ".x3f": ".x3f",
    ".crw": ".crw",
}
# BITMAPINFOHEADER and its variants: the DIB header's size (Microsoft, "Bitmap Header Types").
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _puremagic(head: bytes) -> _Found | None:
    for match in _puremagic_matches(head):
        extension = _PUREMAGIC_EXTENSIONS.get(match.extension.lower())
        if extension is None:
            continue
        if extension == ".bmp" and not _plausible_bmp(head):
            continue  # "BM" alone is too weak: text starting with "BM..." is not a bitmap
        return _found(extension)
    return None


def _puremagic_matches(head: bytes) -> list[puremagic.PureMagicWithConfidence]:
    try:
        return puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return []


def _plausible_bmp(head: bytes) -> bool:
    return len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES


# --- The error message ----------------------------------------------------------------------

_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a document built on ZIP)"),
    (b"%PDF-", "a PDF document"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\x1f\x8b", "a gzip archive"),
)


def _describe(head: bytes) -> str:
    """Say in a few words what unaccepted content is."""
    for magic, description in _KNOWN_OTHERS:
        if head.startswith(magic):
            return description
    matches = _puremagic_matches(head)
    best = matches[0] if matches else None
    if _looks_like_text(head):
        if best and any(word in best.mime_type for word in ("text", "json", "xml", "script")):
            return f"text ({best.name})"
        return "text"
    if best:
        mime = f", {best.mime_type}" if best.mime_type else ""
        return f"{best.name} ({best.extension or 'no extension'}{mime})"
    return f"unrecognised data ({len(head)} bytes read)"


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (a character cut at the end allowed) with at most 2 % control characters."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    controls = sum(1 for char in text if char < " " and char not in "\t\n\r\f")
    return controls <= len(text) // 50


def _unsupported(head: bytes, filename: str | None, found: str | None) -> str:
    what = found or _describe(head)
    claimed = extension_of(filename) if filename else ""
    named = f" (named {claimed})" if claimed else ""
    return (
        f"unsupported file type: the content is {what}{named}, not an accepted image or "
        f"video. Accepted images: {' '.join(sorted(IMAGE_TYPES))}; "
        f"videos: {' '.join(sorted(VIDEO_TYPES))}"
    )
