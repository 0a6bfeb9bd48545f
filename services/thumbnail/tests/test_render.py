"""Tests of render.py on generated fixtures and the shared real samples (no mocks)."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import PIL.Image
import pillow_heif
import pytest
import pyvips
from darkroom_media import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError
from darkroom_thumbnail.render import (
    RenderedImage,
    RenderSettings,
    Renditions,
    render,
    render_pyvips_baseline,
)
from darkroom_thumbnail.thumbhash import thumbhash_to_average_rgba, thumbhash_to_rgba

SETTINGS = RenderSettings()


def decode(rendition: RenderedImage) -> pyvips.Image:
    """Decode a rendition, checking its magic bytes, MIME type and declared size."""
    if rendition.mime_type == "image/jpeg":
        assert rendition.data[:3] == b"\xff\xd8\xff"
    else:
        assert rendition.mime_type == "image/webp"
        assert rendition.data[:4] == b"RIFF" and rendition.data[8:12] == b"WEBP"
    image = pyvips.Image.new_from_buffer(rendition.data, "", fail_on="error")
    assert (image.width, image.height) == (rendition.width, rendition.height)
    assert not image.get_typeof("exif-data"), "metadata must be stripped"
    assert not image.get_typeof("orientation")
    assert image.interpretation == "srgb" and image.format == "uchar"
    return image


def shorter_side(rendition: RenderedImage) -> int:
    return min(rendition.width, rendition.height)


def check(renditions: Renditions, width: int, height: int) -> tuple[pyvips.Image, pyvips.Image]:
    """Check sizes against an upright original of width x height; return decoded renditions."""
    short = min(width, height)
    assert shorter_side(renditions.preview) == min(SETTINGS.preview_size, short)
    assert shorter_side(renditions.thumbnail) == min(SETTINGS.thumbnail_size, short)
    # Orientation (landscape/portrait) and aspect ratio are kept.
    for rendition in (renditions.preview, renditions.thumbnail):
        assert (rendition.width >= rendition.height) == (width >= height)
        assert rendition.width / rendition.height == pytest.approx(width / height, rel=0.01)
    assert 5 <= len(renditions.thumbhash) <= 25
    return decode(renditions.preview), decode(renditions.thumbnail)


def save(image: pyvips.Image, path: Path, **options: object) -> Path:
    image.write_to_file(str(path), **options)
    return path


def corner_image(width: int, height: int) -> pyvips.Image:
    """Dark grey with a white top-left quarter."""
    image = (pyvips.Image.black(width, height, bands=3) + 60).cast("uchar")
    white = (pyvips.Image.black(width // 2, height // 2, bands=3) + 250).cast("uchar")
    return image.insert(white, 0, 0).copy(interpretation="srgb")


def bright_quadrant(image: pyvips.Image) -> str:
    """Which quarter of an image is brightest: "tl", "tr", "bl" or "br"."""
    w, h = image.width // 2, image.height // 2
    means = {
        "tl": image.crop(0, 0, w, h).avg(),
        "tr": image.crop(w, 0, w, h).avg(),
        "bl": image.crop(0, h, w, h).avg(),
        "br": image.crop(w, h, w, h).avg(),
    }
    return max(means, key=means.__getitem__)


# --- generated photos ---------------------------------------------------------------------------


def test_jpeg_landscape_resized_on_the_shorter_side(media: SimpleNamespace, tmp_path: Path) -> None:
    path = save(media.gradient(3000, 2000), tmp_path / "a.jpg", Q=90)
    renditions = render(path, mime_type="image/jpeg", settings=SETTINGS)
    preview, thumbnail = check(renditions, 3000, 2000)
    assert (renditions.preview.width, renditions.preview.height) == (2160, 1440)
    assert (renditions.thumbnail.width, renditions.thumbnail.height) == (375, 250)
    # The gradient survives: left edge dark red, right edge bright red.
    assert preview.crop(0, 0, 20, preview.height)[0].avg() < 20
    assert thumbnail.crop(thumbnail.width - 10, 0, 10, thumbnail.height)[0].avg() > 235


def test_portrait_png_and_small_images_are_never_upscaled(
    media: SimpleNamespace, tmp_path: Path
) -> None:
    portrait = save(media.gradient(1000, 3000), tmp_path / "p.png")
    renditions = render(portrait, mime_type="image/png", settings=SETTINGS)
    check(renditions, 1000, 3000)
    assert (renditions.preview.width, renditions.preview.height) == (1000, 3000)
    assert (renditions.thumbnail.width, renditions.thumbnail.height) == (250, 750)

    tiny = save(media.gradient(200, 120), tmp_path / "t.jpg")
    renditions = render(tiny, mime_type="image/jpeg", settings=SETTINGS)
    assert (renditions.preview.width, renditions.preview.height) == (200, 120)
    assert (renditions.thumbnail.width, renditions.thumbnail.height) == (200, 120)


@pytest.mark.parametrize(
    ("suffix", "mime_type", "options"),
    [
        (".webp", "image/webp", {"Q": 90}),
        (".tif", "image/tiff", {"compression": "deflate"}),
        (".gif", "image/gif", {}),
        (".avif", "image/avif", {"Q": 60, "effort": 0}),
        (".bmp", "image/bmp", None),
        (".jp2", "image/jp2", None),
    ],
)
def test_other_formats(
    media: SimpleNamespace, tmp_path: Path, suffix: str, mime_type: str, options: dict | None
) -> None:
    image = media.gradient(1800, 1600)
    path = tmp_path / f"x{suffix}"
    if options is None:  # formats this libvips cannot write: Pillow
        from PIL import Image

        Image.fromarray(image.numpy()).save(path)
    else:
        save(image, path, **options)
    renditions = render(path, mime_type=mime_type, settings=SETTINGS)
    preview, _ = check(renditions, 1800, 1600)
    assert (renditions.preview.width, renditions.preview.height) == (1620, 1440)
    assert preview.crop(preview.width - 20, 0, 20, 20)[0].avg() > 200  # red at the right


def test_sixteen_bit_grey_and_cmyk_become_8_bit_srgb(
    media: SimpleNamespace, tmp_path: Path
) -> None:
    grey16 = (media.gradient(600, 400)[0].cast("ushort") * 256).copy(interpretation="grey16")
    renditions = render(save(grey16, tmp_path / "g.png"), mime_type="image/png", settings=SETTINGS)
    preview, _ = check(renditions, 600, 400)
    assert preview.bands == 3

    cmyk = (pyvips.Image.black(500, 300, bands=4) + [0, 255, 255, 0]).cast("uchar")  # red ink
    path = save(cmyk.copy(interpretation="cmyk"), tmp_path / "c.jpg")
    preview, _ = check(render(path, mime_type="image/jpeg", settings=SETTINGS), 500, 300)
    red, green, blue = (preview.extract_band(i).avg() for i in range(3))
    assert red > 150 and green < 100 and blue < 100


def test_alpha_is_flattened_for_jpeg_and_kept_in_webp(
    media: SimpleNamespace, tmp_path: Path
) -> None:
    image = media.gradient(800, 600, bands=4)
    alpha = (pyvips.Image.black(800, 600) + 255).insert(pyvips.Image.black(400, 600), 0, 0)
    path = save(image[:3].bandjoin(alpha.cast("uchar")), tmp_path / "alpha.png")
    renditions = render(path, mime_type="image/png", settings=SETTINGS)
    preview, thumbnail = check(renditions, 800, 600)
    assert preview.bands == 3
    assert preview.crop(0, 0, 100, 100).avg() > 250  # transparent -> white
    assert thumbnail.bands == 4 and thumbnail.crop(0, 0, 50, 50)[3].max() == 0
    assert renditions.thumbhash[2] & 0x80  # the ThumbHash has alpha


def test_generated_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = corner_image(1600, 1000).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)  # 90 degrees clockwise to view
    path = save(image, tmp_path / "o6.jpg")
    renditions = render(path, mime_type="image/jpeg", settings=SETTINGS)
    preview, thumbnail = check(renditions, 1000, 1600)
    assert bright_quadrant(preview) == "tr" and bright_quadrant(thumbnail) == "tr"


def test_custom_sizes(media: SimpleNamespace, tmp_path: Path) -> None:
    path = save(media.gradient(1200, 900), tmp_path / "c.jpg")
    settings = RenderSettings(preview_size=300, thumbnail_size=60, preview_quality=50)
    renditions = render(path, mime_type="image/jpeg", settings=settings)
    assert (renditions.preview.width, renditions.preview.height) == (400, 300)
    assert (renditions.thumbnail.width, renditions.thumbnail.height) == (80, 60)


def test_heic_generated(media: SimpleNamespace, tmp_path: Path) -> None:
    rgb = np.asarray(media.gradient(1800, 1500).numpy(), dtype=np.uint8)
    path = tmp_path / "g.heic"
    pillow_heif.from_bytes("RGB", (1800, 1500), rgb.tobytes()).save(path, quality=80)
    renditions = render(path, mime_type="image/heic", settings=SETTINGS)
    preview, _ = check(renditions, 1800, 1500)
    assert preview.crop(preview.width - 20, 0, 20, 20)[0].avg() > 200


# --- camera RAW (generated DNG; the shared samples have none) -----------------------------------


def test_dng_demosaiced_and_oriented(media: SimpleNamespace, make_dng) -> None:
    path = make_dng("raw.dng", media.bright_corner_cfa(640, 480), orientation=6)
    renditions = render(path, mime_type="image/x-adobe-dng", settings=SETTINGS)
    preview, thumbnail = check(renditions, 480, 640)
    assert bright_quadrant(preview) == "tr" and bright_quadrant(thumbnail) == "tr"


def test_dng_uses_an_embedded_preview_only_when_big_enough(
    media: SimpleNamespace, make_dng
) -> None:
    green = (pyvips.Image.black(640, 480, bands=3) + [20, 200, 20]).cast("uchar")
    jpeg = green.copy(interpretation="srgb").jpegsave_buffer()
    cfa = media.bright_corner_cfa(640, 480)
    big = make_dng("big.dng", cfa, orientation=8, preview_jpeg=jpeg, preview_size=(640, 480))
    preview, _ = check(render(big, mime_type="image/dng", settings=SETTINGS), 480, 640)
    assert preview.extract_band(1).avg() > 150 and preview.extract_band(0).avg() < 60

    small_jpeg = green.crop(0, 0, 160, 120).copy(interpretation="srgb").jpegsave_buffer()
    small = make_dng("small.dng", cfa, preview_jpeg=small_jpeg, preview_size=(160, 120))
    preview, _ = check(render(small, mime_type="image/dng", settings=SETTINGS), 640, 480)
    assert bright_quadrant(preview) == "tl"  # the raw data, not the green preview
    assert preview.extract_band(1).avg() < 150


# --- video --------------------------------------------------------------------------------------


def test_video_poster_is_near_one_second(media: SimpleNamespace, tmp_path: Path) -> None:
    # Red for 0.5 s then blue, a keyframe every second: a 12 s video seeks to 1 s (blue), a
    # 3 s one to 0.3 s, whose keyframe is the first frame (red).
    long = media.write_video(tmp_path / "long.mp4", width=320, height=240, seconds=12)
    preview, thumbnail = check(render(long, mime_type="video/mp4", settings=SETTINGS), 320, 240)
    assert preview.extract_band(2).avg() > 150 and preview.extract_band(0).avg() < 80
    short = media.write_video(tmp_path / "short.mov", width=320, height=240, seconds=3)
    preview, _ = check(render(short, mime_type="video/quicktime", settings=SETTINGS), 320, 240)
    assert preview.extract_band(0).avg() > 150 and preview.extract_band(2).avg() < 80


def test_video_rotation_metadata_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rot.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.set_display_rotation(-90)  # counter-clockwise degrees: show it turned clockwise
        frame = av.VideoFrame.from_ndarray(corner_image(640, 480).numpy(), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    preview, thumbnail = check(render(path, mime_type="video/mp4", settings=SETTINGS), 480, 640)
    assert bright_quadrant(preview) == "tr" and bright_quadrant(thumbnail) == "tr"


# --- broken files -------------------------------------------------------------------------------


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid-looking PNG header declaring width x height with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def broken(media: SimpleNamespace, tmp_path: Path) -> dict[str, Path]:
    jpeg = media.gradient(2000, 1500).jpegsave_buffer(Q=90)
    rng = np.random.default_rng(7)
    files = {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "empty.jpg": b"",
        "random.jpg": rng.bytes(50_000),
        "random.heic": rng.bytes(50_000),
        "random.dng": rng.bytes(50_000),
        "random.mp4": rng.bytes(50_000),
        "svg.jpg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    ("name", "mime_type"),
    [
        ("truncated.jpg", "image/jpeg"),
        ("empty.jpg", "image/jpeg"),
        ("random.jpg", "image/jpeg"),
        ("random.heic", "image/heic"),
        ("random.dng", "image/x-adobe-dng"),
        ("random.mp4", "video/mp4"),
        ("svg.jpg", "image/jpeg"),
    ],
)
def test_unusable_files_raise_corrupt(broken: dict[str, Path], name: str, mime_type: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CorruptMediaError):
        render(broken[name], mime_type=mime_type, settings=SETTINGS)
    assert time.perf_counter() - started < 2


def test_a_raw_libraw_refuses_gets_a_readable_reason(tmp_path: Path) -> None:
    """LibRaw's messages are bytes; the reason must not be a ``b'...'`` literal, which the log
    redaction blanks as a possible payload."""
    path = tmp_path / "not-raw.dng"
    path.write_bytes(bytes(pyvips.Image.black(32, 24, bands=3).tiffsave_buffer()))
    with pytest.raises(CorruptMediaError) as caught:
        render(path, mime_type="image/x-adobe-dng", settings=SETTINGS)
    assert "Unsupported file format" in str(caught.value)
    assert "b'" not in str(caught.value)


def test_audio_only_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "audio.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    with pytest.raises(CorruptMediaError, match="no video stream"):
        render(path, mime_type="video/mp4", settings=SETTINGS)


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    path = png_bomb(tmp_path / "bomb.png", 50_000, 50_000)
    started = time.perf_counter()
    with pytest.raises(MediaTooLargeError):
        render(path, mime_type="image/png", settings=SETTINGS)
    assert time.perf_counter() - started < 1


def test_max_pixels_guards_every_decoder(media: SimpleNamespace, tmp_path: Path, make_dng) -> None:
    small = RenderSettings(max_pixels=10_000)
    rgb = media.gradient(200, 100)
    heic = tmp_path / "a.heic"
    pillow_heif.from_bytes("RGB", (200, 100), rgb.numpy().tobytes()).save(heic)
    bmp = tmp_path / "a.bmp"
    PIL.Image.fromarray(rgb.numpy()).save(bmp)
    cases = {
        "image/jpeg": save(rgb, tmp_path / "a.jpg"),
        "image/bmp": bmp,
        "image/heic": heic,
        "image/x-adobe-dng": make_dng("a.dng", media.bright_corner_cfa(200, 100)),
        "video/mp4": media.write_video(tmp_path / "a.mp4", width=200, height=100, seconds=1),
    }
    for mime_type, path in cases.items():
        with pytest.raises(MediaTooLargeError):
            render(path, mime_type=mime_type, settings=small)
        render(path, mime_type=mime_type, settings=SETTINGS)  # fine under the default limit


@pytest.mark.parametrize("mime_type", ["image/svg", "application/pdf"])
def test_unsupported_types(media: SimpleNamespace, tmp_path: Path, mime_type: str) -> None:
    path = save(media.gradient(50, 50), tmp_path / "a.png")
    with pytest.raises(UnsupportedMediaError):
        render(path, mime_type=mime_type, settings=SETTINGS)


def test_jpeg_xl_renders(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "a.jxl"
    Image.new("RGB", (600, 400), (10, 200, 30)).save(path, "JXL")
    out = render(path, mime_type="image/jxl", settings=SETTINGS)
    assert (out.preview.width, out.preview.height) == (600, 400)
    assert (out.thumbnail.width, out.thumbnail.height) == (375, 250)
    r, g, b, _ = thumbhash_to_average_rgba(out.thumbhash)
    assert g > 0.6 and r < 0.2 and b < 0.25


def test_photoshop_psd_renders_its_composite_image(tmp_path: Path) -> None:
    from PIL import Image
    from psd_tools import PSDImage

    path = tmp_path / "a.psd"
    PSDImage.frompil(Image.new("RGB", (600, 400), (200, 20, 30))).save(path)
    for mime_type in ("image/psd", "image/vnd.adobe.photoshop"):
        out = render(path, mime_type=mime_type, settings=SETTINGS)
        assert (out.preview.width, out.preview.height) == (600, 400)
        assert (out.thumbnail.width, out.thumbnail.height) == (375, 250)
        r, g, b, _ = thumbhash_to_average_rgba(out.thumbhash)
        assert r > 0.6 and g < 0.2 and b < 0.25


@pytest.mark.parametrize("mime_type", ["image/bmp", "image/psd"])
def test_a_file_pillow_reads_as_another_format_is_refused(
    media: SimpleNamespace, tmp_path: Path, mime_type: str
) -> None:
    path = save(media.gradient(50, 50), tmp_path / "a.png")  # PNG bytes, claimed otherwise
    with pytest.raises(UnsupportedMediaError, match="PNG is not decoded through Pillow"):
        render(path, mime_type=mime_type, settings=SETTINGS)


def test_missing_file_is_not_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render(tmp_path / "gone.jpg", mime_type="image/jpeg", settings=SETTINGS)


# --- thumbhash of renders -----------------------------------------------------------------------


def test_thumbhash_decodes_to_the_thumbnail_colours(tmp_path: Path) -> None:
    solid = (pyvips.Image.black(900, 600, bands=3) + [30, 90, 200]).cast("uchar")
    renditions = render(save(solid, tmp_path / "s.png"), mime_type="image/png", settings=SETTINGS)
    r, g, b, a = thumbhash_to_average_rgba(renditions.thumbhash)
    assert (r * 255, g * 255, b * 255, a) == pytest.approx((30, 90, 200, 1), abs=8)
    placeholder = thumbhash_to_rgba(renditions.thumbhash)
    assert placeholder.shape[1] == 32 and 18 <= placeholder.shape[0] <= 24  # ~3:2 landscape
    assert np.abs(placeholder[:, :, :3].reshape(-1, 3).mean(0) - [30, 90, 200]).max() < 10


def test_baseline_renders_the_same_sizes(tmp_path: Path) -> None:
    image = corner_image(2400, 1800).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 8)
    path = save(image, tmp_path / "o8.jpg")
    jpeg, webp = render_pyvips_baseline(path, SETTINGS)
    renditions = render(path, mime_type="image/jpeg", settings=SETTINGS)
    for data, rendition in ((jpeg, renditions.preview), (webp, renditions.thumbnail)):
        image = pyvips.Image.new_from_buffer(data, "")
        assert (image.width, image.height) == (rendition.width, rendition.height)


# --- real samples -------------------------------------------------------------------------------


@pytest.mark.samples
def test_sample_orientations_are_upright(samples: Path) -> None:
    folder = samples / "photos" / "recurser_exif-orientation"
    for kind in ("Landscape", "Portrait"):
        reference = render(folder / f"{kind}_0.jpg", mime_type="image/jpeg", settings=SETTINGS)
        expected = decode(reference.thumbnail).cast("float")
        for path in sorted(folder.glob(f"{kind}_[1-8].jpg")):
            renditions = render(path, mime_type="image/jpeg", settings=SETTINGS)
            assert (renditions.preview.width, renditions.preview.height) == (
                reference.preview.width,
                reference.preview.height,
            ), path.name
            thumbnail = decode(renditions.thumbnail).cast("float")
            assert (thumbnail.width, thumbnail.height) == (expected.width, expected.height)
            difference = (thumbnail - expected).abs().avg()
            mirrored = (thumbnail.fliphor() - expected).abs().avg()
            assert difference < 6 and difference < mirrored / 3, (path.name, difference, mirrored)


@pytest.mark.samples
@pytest.mark.parametrize(
    ("relative", "mime_type", "size"),
    [
        ("photos/ianare_exif-samples/jpg/Canon_40D_photoshop_import.jpg", "image/jpeg", None),
        (
            "photos/lychee/tests/Samples/orientation-90.jpg",
            "image/jpeg",
            (2016, 1512),
        ),  # stored 1512x2016, tag 6
        ("photos/photoprism/internal/photoprism/testdata/rotate/6.png", "image/png", (960, 1395)),
        ("photos/photoprism/internal/photoprism/testdata/rotate/6.tiff", "image/tiff", (43, 65)),
        ("photos/immich_test-assets/formats/webp/denali.webp", "image/webp", None),
        (
            "photos/ianare_exif-samples/heic/mobile/iphone_13_pro_max.HEIC",
            "image/heic",
            (3024, 4032),
        ),
        (
            "photos/ente_test-fixtures/ml/indexing/v1/files/IMG_8606_rotate_90_cw_contains_text.HEIC",
            "image/heic",
            (3024, 4032),
        ),
        (
            "photos/ianare_exif-samples/heic/mobile/HMD_Nokia_8.3_5G_hdr.heif",
            "image/heif",
            (4608, 3456),
        ),
        (
            "videos/photoprism/pkg/media/video/testdata/quicktime-hvc1.mov",
            "video/quicktime",
            (720, 1280),
        ),
        ("videos/metadata-extractor-images/mp4/with-gps.mp4", "video/mp4", (1920, 1080)),
        ("videos/livephoto_pair_lychee/train.mov", "video/quicktime", (1440, 1080)),
    ],
)
def test_samples(
    samples: Path, relative: str, mime_type: str, size: tuple[int, int] | None
) -> None:
    path = samples / relative
    if not path.exists():
        pytest.skip(f"{relative} is not in the samples")
    renditions = render(path, mime_type=mime_type, settings=SETTINGS)
    if size is None:
        upright = pyvips.Image.new_from_file(str(path)).autorot()
        size = (upright.width, upright.height)
    preview, thumbnail = check(renditions, *size)
    # The ThumbHash's average colour is close to the thumbnail's (weighted by alpha, as it is).
    average = np.array(thumbhash_to_average_rgba(renditions.thumbhash)[:3]) * 255
    pixels = thumbnail.numpy().reshape(-1, thumbnail.bands).astype(float)
    weights = pixels[:, 3] if thumbnail.bands == 4 else np.ones(len(pixels))
    actual = (pixels[:, :3] * weights[:, None]).sum(0) / weights.sum()
    assert np.abs(average - actual).max() < 30, (average, actual)
    assert preview.deviate() > 5  # a picture, not a flat grey frame


@pytest.mark.samples
def test_broken_motion_photo_sample_still_renders_its_image(samples: Path) -> None:
    path = samples / "videos" / "motion_photos" / "lychee_google_motion_photo_broken.jpg"
    if not path.exists():
        pytest.skip("broken motion photo sample missing")
    upright = pyvips.Image.new_from_file(str(path)).autorot()  # header only: dims after rotation
    check(render(path, mime_type="image/jpeg", settings=SETTINGS), upright.width, upright.height)


if os.environ.get("DARKROOM_THUMBNAIL_BENCH"):  # pragma: no cover - manual benchmark

    def test_benchmark(samples: Path) -> None:
        jpegs = sorted(
            p for p in (samples / "photos").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"}
        )
        timings: dict[str, list[float]] = {"render": [], "baseline": []}
        for path in jpegs:
            for name, run in (
                ("baseline", lambda p=path: render_pyvips_baseline(p, SETTINGS)),
                ("render", lambda p=path: render(p, mime_type="image/jpeg", settings=SETTINGS)),
            ):
                started = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - started)
        for name, values in timings.items():
            print(name, len(values), round(1000 * sum(values) / len(values), 1), "ms")  # noqa: T201
