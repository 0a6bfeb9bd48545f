"""sniff() on media generated here (pyvips, Pillow, PyAV) and on things that are not media."""

from __future__ import annotations

import io
import random
import sys
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from darkroom_media import (
    SNIFF_BYTES,
    CorruptMediaError,
    MediaKind,
    UnsupportedMediaError,
    sniff,
)


def _kind(asset_type: str, mime_type: str, extension: str) -> MediaKind:
    return MediaKind(asset_type=asset_type, mime_type=mime_type, extension=extension)


# --- Images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("save", "options", "expected"),
    [
        ("pngsave_buffer", {}, _kind("IMAGE", "image/png", ".png")),
        ("jpegsave_buffer", {}, _kind("IMAGE", "image/jpeg", ".jpg")),
        ("webpsave_buffer", {}, _kind("IMAGE", "image/webp", ".webp")),
        ("webpsave_buffer", {"lossless": True}, _kind("IMAGE", "image/webp", ".webp")),
        ("gifsave_buffer", {}, _kind("IMAGE", "image/gif", ".gif")),
        ("tiffsave_buffer", {}, _kind("IMAGE", "image/tiff", ".tif")),
        ("tiffsave_buffer", {"bigtiff": True}, _kind("IMAGE", "image/tiff", ".tif")),
        ("tiffsave_buffer", {"tile": True}, _kind("IMAGE", "image/tiff", ".tif")),
        ("heifsave_buffer", {"compression": "av1"}, _kind("IMAGE", "image/avif", ".avif")),
    ],
    ids=["png", "jpeg", "webp", "webp-lossless", "gif", "tiff", "bigtiff", "tiled-tiff", "avif"],
)
def test_images_from_libvips(
    small_image: Any, save: str, options: dict[str, object], expected: MediaKind
) -> None:
    data = getattr(small_image, save)(**options)
    assert sniff(data) == expected
    assert sniff(data, "upload.bin") == expected  # a name of no accepted type changes nothing


def _pillow_bytes(format: str, **params: object) -> bytes:
    image_module = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image_module.new("RGB", (16, 12), (200, 30, 30)).save(buffer, format=format, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("format", "expected"),
    [
        ("BMP", _kind("IMAGE", "image/bmp", ".bmp")),
        ("JPEG2000", _kind("IMAGE", "image/jp2", ".jp2")),
        ("PNG", _kind("IMAGE", "image/png", ".png")),
    ],
)
def test_images_from_pillow(format: str, expected: MediaKind) -> None:
    from PIL import features

    if format == "JPEG2000" and not features.check("jpg_2000"):
        pytest.skip("Pillow built without OpenJPEG")
    assert sniff(_pillow_bytes(format)) == expected


def test_jpeg2000_codestream(small_image: Any) -> None:
    data = _pillow_bytes("JPEG2000", no_jp2=True)
    assert data[:4] == b"\xff\x4f\xff\x51"
    assert sniff(data, "scan.jp2") == _kind("IMAGE", "image/jp2", ".jp2")


def test_heic_with_generic_major_brand_is_heic() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    image = pytest.importorskip("PIL.Image").new("RGB", (16, 16), (0, 90, 200))
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, format="HEIF")
    data = buffer.getvalue()
    assert data[4:12] in (b"ftypheic", b"ftypmif1")
    assert sniff(data) == _kind("IMAGE", "image/heic", ".heic")
    assert sniff(data, "IMG_0001.HEIF") == _kind("IMAGE", "image/heif", ".heif")
    assert sniff(data, "IMG_0001.hif") == _kind("IMAGE", "image/hif", ".hif")


@pytest.mark.parametrize(
    ("brands", "expected"),
    [
        (b"heic\x00\x00\x00\x00mif1heic", ".heic"),
        (b"heix\x00\x00\x00\x00mif1heix", ".heic"),
        (b"mif1\x00\x00\x00\x00mif1heic", ".heic"),
        (b"mif1\x00\x00\x00\x00mif1miaf", ".heif"),
        (b"msf1\x00\x00\x00\x00msf1iso8", ".heif"),
        (b"mif1\x00\x00\x00\x00mif1avifmiaf", ".avif"),
        (b"avis\x00\x00\x00\x00avismsf1", ".avif"),
        (b"crx \x00\x00\x00\x01crx isom", ".cr3"),
    ],
)
def test_iso_bmff_image_brands(brands: bytes, expected: str) -> None:
    head = (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands + bytes(64)
    kind = sniff(head)
    assert (kind.asset_type, kind.extension) == ("IMAGE", expected)


def test_avif_named_heic_is_avif(small_image: Any) -> None:
    data = small_image.heifsave_buffer(compression="av1")
    assert sniff(data, "photo.heic") == _kind("IMAGE", "image/avif", ".avif")


def test_svg_is_refused_and_named() -> None:
    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>\n'
    )
    with pytest.raises(UnsupportedMediaError, match="SVG"):
        sniff(svg, "drawing.svg")
    html = b"<!DOCTYPE html><html><body><svg></svg></body></html>"
    with pytest.raises(UnsupportedMediaError):
        sniff(html, "page.svg")


# --- TIFF and the camera RAWs built on it ---------------------------------------------------


@pytest.fixture(scope="module")
def tiff_bytes(small_image: Any) -> bytes:
    return small_image.tiffsave_buffer()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DSC_0001.NEF", _kind("IMAGE", "image/nef", ".nef")),
        ("IMG_0001.dng", _kind("IMAGE", "image/dng", ".dng")),
        ("DSC00001.ARW", _kind("IMAGE", "image/arw", ".arw")),
        ("IMGP0001.pef", _kind("IMAGE", "image/pef", ".pef")),
        ("scan.tiff", _kind("IMAGE", "image/tiff", ".tiff")),
        ("holiday.jpg", _kind("IMAGE", "image/tiff", ".tif")),  # the bytes win over the name
        (None, _kind("IMAGE", "image/tiff", ".tif")),
    ],
)
def test_tiff_container_takes_a_raw_name(
    tiff_bytes: bytes, name: str | None, expected: MediaKind
) -> None:
    assert sniff(tiff_bytes, name) == expected


@pytest.mark.parametrize(("mode", "byte_order"), [("RGB", b"II"), ("I;16B", b"MM")])
def test_dng_is_known_by_its_dng_version_tag(mode: str, byte_order: bytes) -> None:
    tiff_plugin = pytest.importorskip("PIL.TiffImagePlugin")
    image = pytest.importorskip("PIL.Image").new(mode, (8, 8))
    tags = tiff_plugin.ImageFileDirectory_v2()
    tags[50706] = b"\x01\x04\x00\x00"  # DNGVersion 1.4.0.0
    tags.tagtype[50706] = 1  # BYTE
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", tiffinfo=tags)
    data = buffer.getvalue()
    assert data[:2] == byte_order  # Pillow writes big-endian TIFF for big-endian modes
    assert sniff(data, "export.tif") == _kind("IMAGE", "image/dng", ".dng")
    assert sniff(data) == _kind("IMAGE", "image/dng", ".dng")


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", None, ".cr2"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", "IMG_0001.tif", ".cr2"),
        (b"IIRO\x08\x00\x00\x00", None, ".orf"),
        (b"MMOR\x00\x00\x00\x08", "P1010001.ORI", ".ori"),
        (b"IIU\x00\x18\x00\x00\x00", None, ".rw2"),
        (b"IIU\x00\x18\x00\x00\x00", "P1000001.RAW", ".raw"),
        (b"IIU\x00\x18\x00\x00\x00", "L1000001.rwl", ".rwl"),
        (b"FUJIFILMCCD-RAW 0201FF383501", None, ".raf"),
        (b"II\x1a\x00\x00\x00HEAPCCDR", None, ".crw"),
        (b"\x00MRM\x00\x00\x00\x08", None, ".mrw"),
        (b"FOVb\x00\x00\x02\x00", None, ".x3f"),
        (b"ARRI\x12\x34\x56\x78", None, ".ari"),
        (b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00", None, ".psd"),
    ],
)
def test_raw_signatures(head: bytes, name: str | None, expected: str) -> None:
    kind = sniff(head + bytes(200), name)
    assert (kind.asset_type, kind.extension) == ("IMAGE", expected)


# --- Videos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "options", "expected"),
    [
        ("mp4", "libx264", {}, _kind("VIDEO", "video/mp4", ".mp4")),
        ("mov", "libx264", {}, _kind("VIDEO", "video/quicktime", ".mov")),
        ("3gp", "mpeg4", {}, _kind("VIDEO", "video/3gpp", ".3gp")),
        ("matroska", "mpeg4", {}, _kind("VIDEO", "video/x-matroska", ".mkv")),
        ("webm", "libvpx", {}, _kind("VIDEO", "video/webm", ".webm")),
        ("avi", "mpeg4", {}, _kind("VIDEO", "video/avi", ".avi")),
        ("mpegts", "mpeg2video", {}, _kind("VIDEO", "video/mp2t", ".ts")),
        (
            "mpegts",
            "mpeg2video",
            {"mpegts_m2ts_mode": "1"},
            _kind("VIDEO", "video/mp2t", ".mts"),
        ),
        ("mpeg", "mpeg1video", {}, _kind("VIDEO", "video/mpeg", ".mpg")),
        ("vob", "mpeg2video", {}, _kind("VIDEO", "video/mpeg", ".mpg")),
        ("flv", "flv", {}, _kind("VIDEO", "video/x-flv", ".flv")),
        ("asf", "wmv2", {}, _kind("VIDEO", "video/x-ms-wmv", ".wmv")),
        ("mxf", "mpeg2video", {}, _kind("VIDEO", "application/mxf", ".mxf")),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_videos_from_pyav(
    make_video: Callable[..., bytes],
    container: str,
    codec: str,
    options: dict[str, str],
    expected: MediaKind,
) -> None:
    assert sniff(make_video(container, codec, **options)) == expected


@pytest.mark.parametrize(
    ("container", "codec", "name", "expected"),
    [
        ("mp4", "libx264", "clip.M4V", _kind("VIDEO", "video/x-m4v", ".m4v")),
        ("mp4", "libx264", "clip.3gpp", _kind("VIDEO", "video/3gpp", ".3gpp")),
        ("mp4", "libx264", "VID_0001.insv", _kind("VIDEO", "video/mp4", ".insv")),
        ("mp4", "libx264", "clip.mov", _kind("VIDEO", "video/mp4", ".mp4")),
        ("mov", "libx264", "clip.mp4", _kind("VIDEO", "video/quicktime", ".mov")),
        ("3gp", "mpeg4", "clip.mp4", _kind("VIDEO", "video/mp4", ".mp4")),
        ("matroska", "mpeg4", "clip.webm", _kind("VIDEO", "video/webm", ".webm")),
        ("mpegts", "mpeg2video", "00001.m2ts", _kind("VIDEO", "video/mp2t", ".m2ts")),
        ("mpeg", "mpeg1video", "movie.MPEG", _kind("VIDEO", "video/mpeg", ".mpeg")),
        ("vob", "mpeg2video", "VTS_01_1.VOB", _kind("VIDEO", "video/mpeg", ".vob")),
        ("mp4", "libx264", "photo.jpg", _kind("VIDEO", "video/mp4", ".mp4")),
    ],
)
def test_video_name_picks_among_extensions_of_the_same_container(
    make_video: Callable[..., bytes],
    container: str,
    codec: str,
    name: str,
    expected: MediaKind,
) -> None:
    assert sniff(make_video(container, codec), name) == expected


def test_quicktime_without_ftyp() -> None:
    head = (8).to_bytes(4, "big") + b"wide" + (1024).to_bytes(4, "big") + b"mdat" + bytes(64)
    assert sniff(head, "old.MOV") == _kind("VIDEO", "video/quicktime", ".mov")


@pytest.mark.parametrize("brand", [b"XAVC", b"mp41", b"iso6", b"3gp6", b"3g2a", b"M4V "])
def test_iso_bmff_video_brands(brand: bytes) -> None:
    head = (20).to_bytes(4, "big") + b"ftyp" + brand + bytes(4) + brand + bytes(64)
    assert sniff(head).asset_type == "VIDEO"


# --- What is not accepted -------------------------------------------------------------------


def test_empty_file_is_corrupt() -> None:
    with pytest.raises(CorruptMediaError, match="^empty file$"):
        sniff(b"", "IMG_0001.jpg")


def _assert_unsupported(data: bytes, name: str | None, found: str) -> str:
    with pytest.raises(UnsupportedMediaError) as raised:
        sniff(data, name)
    message = str(raised.value)
    assert found in message
    assert "Accepted images:" in message and ".heic" in message and ".mp4" in message
    return message


def test_pdf_is_rejected() -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    message = _assert_unsupported(pdf, "scan.jpg", "a PDF document")
    assert "(named .jpg)" in message


def test_zip_is_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("IMG_0001.jpg", b"\xff\xd8\xff\xe0" + bytes(100))
    _assert_unsupported(buffer.getvalue(), "photos.zip", "a ZIP archive")


def test_text_is_rejected() -> None:
    text = "Ceci n'est pas une photo. 写真ではありません。\n".encode() * 50
    _assert_unsupported(text, "notes.txt", "the content is text")
    _assert_unsupported(b"BMW is a car, not a bitmap\n", None, "the content is text")


def test_xmp_sidecar_is_not_an_asset() -> None:
    xmp = b'<?xpacket begin="\xef\xbb\xbf"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    _assert_unsupported(xmp, "IMG_0001.jpg.xmp", "(named .xmp)")


def test_executable_is_rejected() -> None:
    with open(sys.executable, "rb") as file:
        head = file.read(SNIFF_BYTES)
    _assert_unsupported(head, "python.jpg", "executable")


def test_wave_audio_is_rejected() -> None:
    wave = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + bytes(64)
    _assert_unsupported(wave, "sound.avi", "RIFF 'WAVE'")


def test_m4a_audio_is_rejected(av: Any) -> None:
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ipod") as output:  # .m4a: ftyp "M4A " + isom, iso2
        stream = output.add_stream("aac", rate=44100)
        for index in range(3):
            silence = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, index * 1024
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    _assert_unsupported(buffer.getvalue(), "song.mp4", "ISO-BMFF audio file (brand 'M4A')")


def test_random_bytes_named_jpg_are_rejected() -> None:
    noise = random.Random(20240601).randbytes(SNIFF_BYTES)
    message = _assert_unsupported(noise, "IMG_0001.jpg", "unrecognised data")
    assert "(named .jpg)" in message


def test_only_the_first_sniff_bytes_count(small_image: Any) -> None:
    png = small_image.pngsave_buffer()
    assert sniff(png + bytes(3 * SNIFF_BYTES)).extension == ".png"
    with pytest.raises(UnsupportedMediaError):
        sniff(b"hello\n" * (SNIFF_BYTES // 6 + 1) + png)


def test_truncated_heads_raise_only_media_errors(
    small_image: Any, make_video: Callable[..., bytes]
) -> None:
    files = [
        small_image.tiffsave_buffer(),
        small_image.pngsave_buffer(),
        make_video("mp4", "libx264"),
        make_video("matroska", "mpeg4"),
        make_video("mpegts", "mpeg2video", mpegts_m2ts_mode="1"),
    ]
    outcomes = set()
    for data in files:
        for length in range(0, 80):
            try:
                outcomes.add(type(sniff(data[:length])))
            except (CorruptMediaError, UnsupportedMediaError) as error:
                outcomes.add(type(error))
    assert outcomes == {MediaKind, CorruptMediaError, UnsupportedMediaError}
