"""The accepted types: Immich's table, and the shape of GET /api/server/media-types."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from darkroom_media import (
    IMAGE_TYPES,
    MEDIA_TYPES,
    SIDECAR_TYPES,
    VIDEO_TYPES,
    asset_type_for,
    extension_of,
    is_sidecar,
    media_type_for,
    server_media_types,
)
from darkroom_media.types import extensions_of_format

_SPEC = Path(__file__).resolve().parents[3].parent / "shared/reference/immich-openapi-specs.json"

# From Immich's documented supported formats and its mime-types.ts, less .svg, which Darkroom
# refuses on purpose (darkroom_media.types).
_IMMICH_IMAGES = (
    ".jpg .jpeg .png .heic .heif .hif .webp .avif .gif .tif .tiff .bmp .jxl .dng .3fr .ari "
    ".arw .cap .cin .cr2 .cr3 .crw .dcr .erf .fff .iiq .k25 .kdc .mrw .nef .nrw .orf .ori "
    ".pef .psd .raf .raw .rw2 .rwl .sr2 .srf .srw .x3f .insp .jpe .jp2 .mpo"
).split()
_IMMICH_VIDEOS = (
    ".mp4 .mov .3gp .3gpp .avi .m2ts .mts .m2t .ts .mpg .mpeg .mpe .mkv .webm .wmv .flv .m4v "
    ".insv .vob .mxf"
).split()


def test_server_media_types_matches_the_openapi_schema() -> None:
    if not _SPEC.is_file():
        pytest.skip(f"Immich OpenAPI spec absent: {_SPEC}")
    schema = json.loads(_SPEC.read_text())["components"]["schemas"]["ServerMediaTypesResponseDto"]
    body = msgspec.json.decode(msgspec.json.encode(server_media_types()))
    assert set(body) == set(schema["properties"]) == set(schema["required"])
    for key, prop in schema["properties"].items():
        assert prop["type"] == "array" and prop["items"]["type"] == "string"
        assert body[key] and all(isinstance(item, str) for item in body[key])


def test_server_media_types_lists_what_immich_accepts() -> None:
    body = server_media_types()
    assert sorted(body["image"]) == sorted(_IMMICH_IMAGES)
    assert sorted(body["video"]) == sorted(_IMMICH_VIDEOS)
    assert body["sidecar"] == [".xmp"]
    assert not set(body["image"]) & set(body["video"])
    for extensions in body.values():
        assert extensions == sorted(set(extensions))
        assert all(ext.startswith(".") and ext == ext.lower() for ext in extensions)


def test_every_type_is_consistent() -> None:
    assert set(MEDIA_TYPES) == set(IMAGE_TYPES) | set(VIDEO_TYPES)
    for extension, media_type in MEDIA_TYPES.items():
        assert media_type.extension == extension
        assert media_type.mime_type == media_type.mime_types[0]
        assert extension in extensions_of_format(media_type.format)
        if media_type.asset_type == "IMAGE":
            assert media_type.mime_type.startswith("image/"), extension
        elif extension != ".mxf":  # Immich lists MXF as application/mxf
            assert media_type.mime_type.startswith("video/"), extension
    assert all(media_type.raw for media_type in map(IMAGE_TYPES.get, [".dng", ".nef", ".cr3"]))
    assert not IMAGE_TYPES[".jpg"].raw
    assert SIDECAR_TYPES[".xmp"][0] == "application/xml"


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        MEDIA_TYPES[".exe"] = MEDIA_TYPES[".jpg"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        MEDIA_TYPES[".jpg"].extension = ".exe"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("IMG_0001.HEIC", ".heic"),
        ("DCIM/100APPLE/IMG_0001.JPG", ".jpg"),
        ("C:\\Users\\me\\clip.Mp4", ".mp4"),
        ("archive.tar.gz", ".gz"),
        ("IMG_0001.jpg.xmp", ".xmp"),
        ("README", ""),
        (".bashrc", ""),
        ("", ""),
    ],
)
def test_extension_of(name: str, extension: str) -> None:
    assert extension_of(name) == extension


def test_lookups_by_name() -> None:
    assert asset_type_for("IMG_0001.HEIC") == "IMAGE"
    assert asset_type_for("clip.MTS") == "VIDEO"
    assert asset_type_for("IMG_0001.xmp") is None
    assert asset_type_for("notes.txt") is None
    media_type = media_type_for("DSC_0001.NEF")
    assert media_type is not None and media_type.mime_types == ("image/nef", "image/x-nikon-nef")
    assert is_sidecar("IMG_0001.JPG.XMP")
    assert not is_sidecar("IMG_0001.JPG")
    assert extensions_of_format("JPEG") == {".jpg", ".jpeg", ".jpe", ".insp", ".mpo"}
