"""Locating the MP4 of a motion photo (:mod:`darkroom_metadata.motion`) in the samples."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from darkroom_metadata.exiftool import ExifTool, read_tags
from darkroom_metadata.extract import extract_metadata
from darkroom_metadata.motion import (
    Embedded,
    NotExtracted,
    extract_video,
    locate,
    motion_tags,
)
from darkroom_stack.testing import samples_dir


def _motion(name: str) -> Path:
    root = samples_dir()
    path = root / "videos" / "motion_photos" / name if root else None
    if path is None or not path.exists():
        pytest.skip(f"motion photo sample {name} not found (set DARKROOM_SAMPLES)")
    return path


def test_ente_heic_video_starts_where_its_manifest_says() -> None:
    path = _motion("ente_motionphoto.heic")
    manifest = json.loads((path.parent / "ente_manifest.json").read_text())
    expected = next(f for f in manifest["files"] if f["path"] == "files/motionphoto.heic")
    found = locate(path, read_tags(path), "image/heic")
    assert isinstance(found, Embedded)
    assert found.start == expected["expected"]["video_index_start"]
    assert found.start + found.length == expected["expected"]["video_index_end"]


def test_samsung_heic_video_ends_before_its_trailer() -> None:
    path = _motion("immich_samsung-one-ui-6.heic")
    video = extract_video(path, "image/heic")
    assert isinstance(video, bytes)
    assert video[4:8] == b"ftyp" and b"MotionPhoto_Data" not in video
    assert path.read_bytes().find(video) == 452284


def test_broken_google_motion_photo_says_why() -> None:
    path = _motion("lychee_google_motion_photo_broken.jpg")
    found = extract_video(path, "image/jpeg")
    assert isinstance(found, NotExtracted)
    assert "MicroVideoOffset" in found.reason


def test_ordinary_photo_is_no_motion_photo(tmp_path: Path) -> None:
    import pyvips

    path = tmp_path / "plain.jpg"
    pyvips.Image.black(16, 16).jpegsave(str(path))
    assert extract_video(path, "image/jpeg") is None


def test_samsung_jpeg_trailer(tmp_path: Path) -> None:
    """A Samsung JPEG: the MP4 follows ``MotionPhoto_Data`` in the trailer ending ``SEFT``
    (built from a real MP4: the samples hold no such JPEG)."""
    import pyvips

    mp4 = extract_video(_motion("ente_motionphoto.heic"), "image/heic")
    assert isinstance(mp4, bytes)
    jpeg = bytes(pyvips.Image.black(16, 16).jpegsave_buffer())
    trailer = b"SEFH" + b"\x00" * 24 + b"\x20\x00\x00\x00SEFT"
    path = tmp_path / "samsung.jpg"
    path.write_bytes(jpeg + b"MotionPhoto_Data" + mp4 + trailer)
    assert extract_video(path, "image/jpeg") == mp4


@pytest.mark.parametrize("layout", ["container", "microvideo"])
def test_google_jpeg_layouts(tmp_path: Path, layout: str) -> None:
    """Google's XMP layouts (the samples hold no such JPEG): a Container:Directory item's
    Length/Padding from the end, and MicroVideoOffset from the end."""
    import pyvips

    mp4 = extract_video(_motion("ente_motionphoto.heic"), "image/heic")
    assert isinstance(mp4, bytes)
    jpeg = bytes(pyvips.Image.black(16, 16).jpegsave_buffer())
    padding = b"\x00" * 7 if layout == "container" else b""
    path = tmp_path / "pixel.jpg"
    path.write_bytes(jpeg)
    # Google's XMP as a Pixel writes it (developer.android.com/media/platform/motion-photo-format)
    description = (
        'GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1">'
        "<Container:Directory><rdf:Seq>"
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg"'
        ' Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4"'
        f' Item:Semantic="MotionPhoto" Item:Length="{len(mp4)}" Item:Padding="{len(padding)}"/>'
        "</rdf:li></rdf:Seq></Container:Directory>"
        if layout == "container"
        else f'GCamera:MicroVideo="1" GCamera:MicroVideoOffset="{len(mp4)}">'
    )
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
        ' xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"'
        ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
        ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
        + description
        + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    segment = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    still = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]
    path.write_bytes(still + mp4 + padding)
    tags = read_tags(path)
    found = locate(path, tags, "image/jpeg")
    assert found == Embedded(start=len(still), length=len(mp4))
    # the metadata step passes the tags of its own whole-file read: the same video is found
    meta = extract_metadata(path, mime_type="image/jpeg")
    assert meta.motion_tags is not None
    assert extract_video(path, "image/jpeg", tags=meta.motion_tags) == mp4


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("ente_motionphoto.heic", "image/heic"),
        ("immich_samsung-one-ui-6.heic", "image/heic"),
        ("lychee_google_motion_photo_broken.jpg", "image/jpeg"),
    ],
)
def test_metadata_read_holds_the_motion_tags(name: str, mime: str) -> None:
    """The motion-photo tags kept from the metadata read are those a read restricted to them
    gives, and the result of :func:`extract_video` is the same with them as without."""
    path = _motion(name)
    with ExifTool() as exiftool:
        meta = extract_metadata(path, mime_type=mime, exiftool=exiftool)
        only = exiftool.read(path, "-XMP-GCamera:all", "-XMP-GContainer:all")
        assert meta.motion_tags == motion_tags(only)
        assert extract_video(path, mime, exiftool, meta.motion_tags) == extract_video(
            path, mime, exiftool
        )
