"""extract_metadata on real sample photos and videos, and on small files made here."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import PIL.Image
import pyexiv2
import pytest
from darkroom_media import CorruptMediaError, UnsupportedMediaError
from darkroom_metadata.extract import (
    extract_metadata,
    format_exposure_time,
    parse_datetime,
    valid_gps,
)
from darkroom_metadata.normalise import format_f_number, offset_zone_name
from PIL.ExifTags import IFD

MTIME = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


def _mime(path: Path) -> str:
    return {
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".heic": "image/heic",
        ".heif": "image/heif",
        ".png": "image/png",
        ".tiff": "image/tiff",
        ".webp": "image/webp",
        ".gif": "image/gif",
        ".dng": "image/x-adobe-dng",
        ".mov": "video/quicktime",
        ".mp4": "video/mp4",
    }[path.suffix.lower()]


def _extract(path: Path, **kwargs):
    return extract_metadata(path, mime_type=_mime(path), **kwargs)


@pytest.fixture(autouse=True)
def _one_exiftool(exiftool, monkeypatch):
    """Every extract_metadata call of this module reads through the session's ExifTool (one
    start, as in the service) instead of starting its own."""
    import darkroom_metadata.extract as extract

    monkeypatch.setattr(extract, "ExifTool", lambda: _Borrowed(exiftool))


class _Borrowed:
    def __init__(self, reader):
        self.reader = reader

    def __enter__(self):
        return self.reader

    def __exit__(self, *_):
        return None


# ---------------------------------------------------------------- photos: GPS, time, camera


def test_jpeg_with_gps_gets_position_place_and_gps_time_zone(sample, geocoder):
    md = _extract(sample("photos/ianare_exif-samples/jpg/gps/DSCN0010.jpg"), geocoder=geocoder)
    # GPS IFD: N 43/1 28/1 2.814" and E 11/1 53/1 6.456"
    assert md.latitude == pytest.approx(43 + 28 / 60 + 2.814 / 3600, abs=1e-6)
    assert md.longitude == pytest.approx(11 + 53 / 60 + 6.456 / 3600, abs=1e-6)
    assert (md.city, md.state, md.country) == ("Arezzo", "Tuscany", "Italy")
    # DateTimeOriginal 2008:10:22 16:28:39 has no offset: the zone comes from the position.
    assert md.local_date_time == datetime(2008, 10, 22, 16, 28, 39)
    assert md.time_zone == "Europe/Rome"
    assert md.date_time_original == datetime(2008, 10, 22, 14, 28, 39, tzinfo=UTC)
    assert (md.make, md.model) == ("NIKON", "COOLPIX P6000")
    assert (md.f_number, md.focal_length, md.iso) == (5.9, 24.0, 64)
    assert md.exposure_time == "1/75"  # 4/300 s
    assert (md.width, md.height, md.orientation) == (640, 480, 1)


def test_offset_time_original_gives_exact_instant(sample, geocoder):
    md = _extract(sample("photos/ianare_exif-samples/heic/IMG_5195.HEIC"), geocoder=geocoder)
    # 2021:04:11 15:47:53, SubSecTimeOriginal 054, OffsetTimeOriginal -05:00
    assert md.date_time_original == datetime(2021, 4, 11, 20, 47, 53, 54000, tzinfo=UTC)
    assert md.local_date_time == datetime(2021, 4, 11, 15, 47, 53, 54000)
    assert md.time_zone == "UTC-5"
    assert (md.make, md.model) == ("Apple", "iPhone 11 Pro Max")
    assert md.lens_model == "iPhone 11 Pro Max back triple camera 4.25mm f/1.8"
    assert (md.f_number, md.focal_length, md.iso, md.exposure_time) == (1.8, 4.25, 32, "1/391")
    # the primary image's size (ispe; pillow-heif decodes 2566 x 3313): a crop edited on the
    # phone. EXIF PixelX/YDimension still say 4032 x 3024, which the exiv2 extractor reported.
    assert (md.width, md.height) == (2566, 3313)
    assert md.latitude == pytest.approx(39.05134, abs=1e-5)
    assert md.longitude == pytest.approx(-94.28877, abs=1e-5)
    assert md.country == "United States of America"
    assert md.date_time_original.tzinfo is not None


def test_naive_time_without_gps_is_read_as_utc(sample):
    # Immich's date-priority fixture: DateTimeOriginal wins over CreateDate/GPS/IPTC dates.
    md = _extract(sample("photos/immich_test-assets/metadata/dates/date-priority-test.jpg"))
    assert md.date_time_original == datetime(2023, 2, 2, 2, 0, tzinfo=UTC)
    assert md.local_date_time == datetime(2023, 2, 2, 2, 0)
    assert md.time_zone is None


def test_gps_date_time_is_the_fallback_capture_time(sample):
    md = _extract(sample("photos/immich_test-assets/metadata/dates/gps-datetime.jpg"))
    assert md.date_time_original == datetime(2023, 11, 15, 12, 30, tzinfo=UTC)
    assert md.time_zone == "America/Los_Angeles"
    assert md.local_date_time == datetime(2023, 11, 15, 4, 30)


def test_file_time_is_the_last_resort(sample):
    md = _extract(sample("photos/lychee/tests/Samples/without_exif.jpg"), file_modified_at=MTIME)
    assert md.date_time_original == MTIME
    assert md.modify_date == MTIME
    assert (md.width, md.height) == (1536, 1024)
    assert md.make is None and md.latitude is None


def test_rating_description_and_panorama(sample):
    md = _extract(sample("photos/immich_test-assets/metadata/rating/mongolels.jpg"))
    assert md.rating == 3
    assert md.description == "Mongol Els"
    pano = _extract(sample("photos/photoprism/internal/meta/testdata/panorama360.jpg"))
    assert pano.projection_type == "EQUIRECTANGULAR"
    assert (pano.make, pano.model) == ("SAMSUNG", "SM-C200")  # its maker note makes exiv2 warn


@pytest.mark.parametrize(
    "name",
    [
        "Landscape_0.jpg", "Landscape_2.jpg", "Landscape_3.jpg", "Landscape_4.jpg",
        "Landscape_5.jpg", "Landscape_7.jpg", "Landscape_8.jpg", "Portrait_0.jpg",
        "Portrait_2.jpg", "Portrait_5.jpg", "Portrait_6.jpg", "Portrait_7.jpg", "Portrait_8.jpg",
    ],
)  # fmt: skip
def test_orientation_files(sample, name):
    md = _extract(sample(f"photos/recurser_exif-orientation/{name}"))
    expected = int(re.search(r"_(\d)\.jpg$", name).group(1))
    # "_0" files carry Orientation 0, which is not a valid EXIF value.
    assert md.orientation == (expected or None)
    landscape = name.startswith("Landscape")
    # Stored pixels: a landscape picture stored rotated (5..8) is portrait on disk.
    assert (md.width > md.height) == (landscape == (expected < 5))


def test_heic_with_a_malformed_icc_box_is_read(sample):
    # exiv2 refused this whole file over its ICC box ("Not a valid ICC Profile"); ExifTool reads it
    md = _extract(sample("photos/metadata-extractor-images/heic/Issue 437 (dotnet).heic"))
    assert (md.make, md.model) == ("samsung", "Galaxy S24 FE")
    assert md.local_date_time == datetime(2025, 5, 9, 11, 38, 44, 823000)
    assert md.time_zone == "UTC+2"
    assert (md.width, md.height) == (4000, 1848)


@pytest.mark.parametrize(
    "relative",
    [
        "photos/photoprism/internal/meta/testdata/buggy_panorama.jpg",  # latitude 213.6
        "photos/photoprism/internal/meta/testdata/snow.jpg",  # 0/0 rationals: NaN
        "photos/photoprism/internal/meta/testdata/image-2011.jpg",  # exactly (0, 0)
    ],
)
def test_broken_gps_is_dropped(sample, geocoder, relative):
    md = _extract(sample(relative), geocoder=geocoder)
    assert (md.latitude, md.longitude) == (None, None)
    assert (md.city, md.state, md.country) == (None, None, None)
    assert md.date_time_original is not None  # the rest of the file still reads


def test_live_photo_pair_shares_content_identifier(sample):
    photo = _extract(sample("videos/livephoto_pair_lychee/train.jpg"))
    video = _extract(sample("videos/livephoto_pair_lychee/train.mov"))
    assert photo.live_photo_cid == "E905E6C6-C747-4805-942F-9904A0281F02"
    assert video.live_photo_cid == photo.live_photo_cid
    # Same moment, one second apart (the video starts before the still).
    assert abs(video.date_time_original - photo.date_time_original) < timedelta(seconds=2)
    assert photo.time_zone == video.time_zone == "UTC+1"


# ---------------------------------------------------------------- videos


def test_iphone_mov_with_gps(sample, geocoder):
    md = _extract(sample("videos/metadata-extractor-images/mov/with-gps.mov"), geocoder=geocoder)
    # com.apple.quicktime.creationdate 2019-07-24T11:25:40+0300
    assert md.date_time_original == datetime(2019, 7, 24, 8, 25, 40, tzinfo=UTC)
    assert md.local_date_time == datetime(2019, 7, 24, 11, 25, 40)
    assert md.time_zone == "UTC+3"
    # ISO6709 +32.0929+034.8620+028.516/
    assert (md.latitude, md.longitude) == (32.0929, 34.862)
    assert md.country == "Israel"
    assert (md.make, md.model) == ("Apple", "iPhone 6")
    assert (md.video_codec, md.audio_codec) == ("h264", "aac")
    assert md.duration == pytest.approx(4.0, abs=0.05)
    assert md.fps == pytest.approx(29.99, abs=0.05)
    assert (md.width, md.height) == (568, 320)
    assert (md.rotation, md.orientation) == (-90, 6)
    assert md.bitrate and md.bitrate > 100_000


def test_android_mp4_with_gps(sample):
    md = _extract(sample("videos/metadata-extractor-images/mp4/with-gps.mp4"))
    # mvhd creation_time is UTC; the local time comes from the position's zone.
    assert md.date_time_original == datetime(2017, 2, 22, 8, 20, 28, tzinfo=UTC)
    assert md.time_zone == "Europe/London"
    assert (md.latitude, md.longitude) == (51.4169, -0.0806)
    assert md.video_codec == "h264"
    assert md.duration == pytest.approx(0.171, abs=0.01)
    assert (md.width, md.height, md.rotation) == (1920, 1080, 0)


def test_hevc_mov_and_zero_location(sample):
    hevc = _extract(sample("videos/photoprism/pkg/media/video/testdata/quicktime-hvc1.mov"))
    assert hevc.video_codec == "hevc"
    assert (hevc.make, hevc.model) == ("Apple", "iPad mini")
    zero = _extract(sample("videos/metadata-extractor-images/mp4/ftyp3gp5.mp4"))
    assert (zero.latitude, zero.longitude) == (None, None)  # "+00.0000+000.0000/"
    assert zero.date_time_original == datetime(2020, 10, 23, 20, 27, 29, tzinfo=UTC)


def test_avchd_camera_data(sample):
    """AVCHD keeps the camera's facts in the H.264 stream (maker code 0x108, a local time with
    its offset and a DST flag); the exiv2/PyAV extractor read none of them."""
    path = sample("videos/metadata-extractor-images/mts/Sony ILCE-7M3 (A7M3).mts")
    md = extract_metadata(path, mime_type="video/mp2t")
    assert (md.make, md.model, md.f_number, md.exposure_time) == ("Sony", "ILCE-7M3", 6.3, "1/50")
    assert md.local_date_time == datetime(2019, 4, 24, 22, 24)
    assert md.time_zone == "UTC+2"
    assert md.date_time_original == datetime(2019, 4, 24, 20, 24, tzinfo=UTC)
    assert (md.rotation, md.orientation) == (0, 1)  # no display matrix: shown as stored


def test_xmp_inside_a_video(sample):
    md = _extract(sample("videos/metadata-extractor-images/mov/xmp480qt.mov"))
    assert md.description == "Baltic sea timelapse description"
    assert md.tags == ["baltic", "sea", "timelapse"]
    assert md.modify_date == datetime(2020, 1, 5, 11, 19, 47, tzinfo=UTC)


def test_generated_video_rotation_and_location(tmp_path):
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        container.metadata["creation_time"] = "2022-06-01T10:00:00.000000Z"
        container.metadata["location"] = "+48.8584+002.2945/"
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)
        for i in range(10):
            pixels = np.full((48, 64, 3), i * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    md = extract_metadata(path, mime_type="video/mp4")
    assert (md.rotation, md.orientation) == (90, 8)
    assert (md.width, md.height, md.video_codec, md.audio_codec) == (64, 48, "mpeg4", None)
    assert md.duration == pytest.approx(0.4, abs=0.05)
    assert md.fps == 25.0
    # FFmpeg writes the position as a 3GPP ``loci`` box (16.16 fixed point, ~1e-5 degree steps):
    # 2.29449 is what the file holds (the exiv2/PyAV extractor echoed FFmpeg's own text)
    assert (md.latitude, md.longitude) == (
        pytest.approx(48.8584, abs=2e-5),
        pytest.approx(2.2945, abs=2e-5),
    )
    assert md.local_date_time == datetime(2022, 6, 1, 12, 0)  # Paris, summer time
    assert md.time_zone == "Europe/Paris"


# ---------------------------------------------------------------- XMP sidecar

SIDECAR = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 exif:DateTimeOriginal="2019-05-04T03:02:01+05:30" exif:GPSLatitude="48,51.2N"
 exif:GPSLongitude="2,21.0E" xmp:Rating="4">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">From the sidecar</rdf:li></rdf:Alt>
</dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_xmp_sidecar_overrides_the_file(sample, geocoder):
    path = sample("photos/ianare_exif-samples/jpg/gps/DSCN0010.jpg")
    md = _extract(path, sidecar=SIDECAR, geocoder=geocoder)
    assert md.date_time_original == datetime(2019, 5, 3, 21, 32, 1, tzinfo=UTC)
    assert md.local_date_time == datetime(2019, 5, 4, 3, 2, 1)
    assert md.time_zone == "UTC+5:30"
    assert md.latitude == pytest.approx(48 + 51.2 / 60)
    assert md.longitude == pytest.approx(2 + 21.0 / 60)
    assert md.city == "Paris" and md.country == "France"
    assert md.rating == 4
    assert md.description == "From the sidecar"
    assert (md.make, md.model) == ("NIKON", "COOLPIX P6000")  # not in the sidecar: the file's


def test_unreadable_sidecar_is_ignored(sample):
    path = sample("photos/ianare_exif-samples/jpg/gps/DSCN0010.jpg")
    md = _extract(path, sidecar=b"<?xml version='1.0'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><bro")
    assert md.local_date_time == datetime(2008, 10, 22, 16, 28, 39)


# ---------------------------------------------------------------- generated images


def test_generated_dng_gets_make_and_model(tmp_path):
    path = tmp_path / "raw.dng"
    PIL.Image.new("RGB", (64, 48), "gray").save(path, format="TIFF")
    with pyexiv2.Image(str(path)) as image:
        image.modify_exif(
            {
                "Exif.Image.DNGVersion": "1 4 0 0",
                "Exif.Image.Make": "Canon",
                "Exif.Image.Model": "Canon EOS R5",
                "Exif.Photo.DateTimeOriginal": "2021:07:08 09:10:11",
                "Exif.Photo.OffsetTimeOriginal": "+09:00",
                "Exif.Photo.FNumber": "28/10",
                "Exif.Photo.ExposureTime": "1/2000",
            }
        )
    md = extract_metadata(path, mime_type="image/x-adobe-dng")
    assert (md.make, md.model) == ("Canon", "Canon EOS R5")
    assert (md.width, md.height) == (64, 48)
    assert md.date_time_original == datetime(2021, 7, 8, 0, 10, 11, tzinfo=UTC)
    assert (md.f_number, md.exposure_time) == (2.8, "1/2000")


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_generated_png_webp_exif(tmp_path, fmt, mime):
    exif = PIL.Image.Exif()
    exif[0x0112] = 3  # Orientation
    exif[0x010F] = "Darkroom"  # Make
    exif.get_ifd(IFD.Exif)[0x9003] = "2020:02:03 04:05:06"  # DateTimeOriginal
    path = tmp_path / f"x.{fmt.lower()}"
    PIL.Image.new("RGB", (40, 30), "red").save(path, format=fmt, exif=exif)
    md = extract_metadata(path, mime_type=mime)
    assert (md.make, md.orientation, md.width, md.height) == ("Darkroom", 3, 40, 30)
    assert md.local_date_time == datetime(2020, 2, 3, 4, 5, 6)


def test_generated_gif_size(tmp_path):
    path = tmp_path / "x.gif"
    PIL.Image.new("RGB", (40, 30), "red").save(path)
    md = extract_metadata(path, mime_type="image/gif", file_modified_at=MTIME)
    assert (md.width, md.height, md.date_time_original) == (40, 30, MTIME)


def test_webp_sample(sample):
    md = _extract(sample("photos/immich_test-assets/formats/webp/denali.webp"))
    assert (md.make, md.model, md.width, md.height) == ("Canon", "Canon EOS 7D", 600, 315)


# ---------------------------------------------------------------- errors


def test_zero_byte_file_is_corrupt(tmp_path):
    for mime in ("image/jpeg", "video/mp4"):
        path = tmp_path / "empty"
        path.write_bytes(b"")
        with pytest.raises(CorruptMediaError):
            extract_metadata(path, mime_type=mime)


@pytest.mark.parametrize(
    ("relative", "keep", "mime"),
    [
        ("photos/ianare_exif-samples/jpg/gps/DSCN0010.jpg", 2000, "image/jpeg"),
        ("photos/ianare_exif-samples/heic/IMG_5195.HEIC", 50_000, "image/heic"),
        ("videos/metadata-extractor-images/mov/with-gps.mov", 100_000, "video/quicktime"),
    ],
)
def test_truncated_file_is_corrupt(sample, tmp_path, relative, keep, mime):
    path = tmp_path / "truncated"
    path.write_bytes(sample(relative).read_bytes()[:keep])
    with pytest.raises(CorruptMediaError):
        extract_metadata(path, mime_type=mime)


@pytest.mark.parametrize("mime", ["image/jpeg", "image/heic", "video/mp4", "video/quicktime"])
def test_garbage_is_corrupt(tmp_path, mime):
    path = tmp_path / "garbage"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 20_000, np.uint8).tobytes())
    with pytest.raises(CorruptMediaError):
        extract_metadata(path, mime_type=mime)


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        extract_metadata(tmp_path / "nope.jpg", mime_type="image/jpeg")
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(UnsupportedMediaError):
        extract_metadata(path, mime_type="text/plain")


# ---------------------------------------------------------------- value parsers


def test_format_exposure_time_matches_exiftool():
    assert format_exposure_time(1 / 125) == "1/125"
    assert format_exposure_time(4 / 300) == "1/75"
    assert format_exposure_time(0.25) == "1/4"
    assert format_exposure_time(0.5) == "0.5"
    assert format_exposure_time(2.5) == "2.5"
    assert format_exposure_time(30) == "30"


def test_valid_gps():
    assert valid_gps(43.5, 11.9) == (43.5, 11.9)
    assert valid_gps(0.0, 0.0) == (None, None)
    assert valid_gps(213.6, 103.5) == (None, None)
    assert valid_gps(45.0, -181.0) == (None, None)
    assert valid_gps(math.nan, 1.0) == (None, None)
    assert valid_gps(1.0, math.inf) == (None, None)
    assert valid_gps(None, 1.0) == (None, None)
    assert valid_gps(0.0, 12.5) == (0.0, 12.5)  # on the equator is fine
    assert valid_gps(43.467448333333, 11.88512666667) == (43.467448333333, 11.88512666667)


def test_offset_zone_name_is_exiftool_vendored_name():
    """Immich stores exiftool-vendored's ``offsetMinutesToZoneName`` for an offset."""
    assert offset_zone_name(timedelta(hours=9)) == "UTC+9"
    assert offset_zone_name(timedelta(hours=-4)) == "UTC-4"
    assert offset_zone_name(timedelta(hours=5, minutes=30)) == "UTC+5:30"
    assert offset_zone_name(timedelta(hours=-9, minutes=-30)) == "UTC-9:30"
    assert offset_zone_name(timedelta(0)) == "UTC"


def test_f_number_is_rounded_as_exiftool_prints_it():
    assert format_f_number(1.89) == 1.9
    assert format_f_number(1.7799999) == 1.8
    assert format_f_number(0.641) == 0.64
    assert format_f_number(11.0) == 11.0


def test_parse_datetime_forms():
    stamp = parse_datetime("2021:04:11 15:47:53", "054", "-05:00")
    assert stamp is not None
    assert stamp.wall == datetime(2021, 4, 11, 15, 47, 53, 54000)
    assert stamp.offset == timedelta(hours=-5)
    utc = parse_datetime("2023-11-15T12:30:00Z")
    assert utc is not None and utc.offset == timedelta(0) and not utc.offset_is_local
    assert parse_datetime("2021-04-10T11:43:59+0100").offset == timedelta(hours=1)
    assert parse_datetime("0000:00:00 00:00:00") is None
    assert parse_datetime("    :  :     :  :  ") is None
    assert parse_datetime("2021:02:30 10:00:00") is None
    assert parse_datetime("2021:04:11 15:47:53", None, "+99:00").offset is None


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    import struct

    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_corrupt_exif_block_of_a_decodable_jpeg_is_reported_not_fatal(tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    PIL.Image.new("RGB", (64, 48), (10, 200, 90)).save(buffer, "JPEG")
    path = tmp_path / "broken-exif.jpg"
    path.write_bytes(_with_app1(buffer.getvalue(), b"Exif\x00\x00" + b"not a TIFF header" * 8))
    modified = datetime(2019, 5, 6, 7, 8, 9, tzinfo=UTC)
    meta = extract_metadata(path, mime_type="image/jpeg", file_modified_at=modified)
    assert meta.metadata_error and "EXIF" in meta.metadata_error
    assert (meta.width, meta.height) == (64, 48)
    assert meta.date_time_original == modified  # the file date stands in for the capture time


def test_undecodable_jpeg_with_corrupt_exif_is_still_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jpg"
    path.write_bytes(_with_app1(b"\xff\xd8" + b"\x13\x37" * 2000, b"Exif\x00\x00garbage"))
    with pytest.raises(CorruptMediaError):
        extract_metadata(path, mime_type="image/jpeg")
