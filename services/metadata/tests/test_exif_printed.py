"""Tags Immich stores as ExifTool prints them, read by the same (real) ExifTool in one read.

Immich reads every tag through exiftool-vendored with print conversion on, but for its
``numericTags`` (GPS, Orientation, durations, FocalLength, FileSize). Darkroom reads numbers
(``-all#``) and asks for the few printed tags Immich's fields depend on in the same command:
the lens (metadata.service ``getLensModel``: LensID, LensType, LensSpec, LensModel, printed).
Canon's Composite ISO is a real number that ExifTool prints rounded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from darkroom_metadata.exiftool import ExifTool
from darkroom_metadata.extract import extract_metadata

CANON_WEBP = "photos/immich_test-assets/formats/webp/denali.webp"
CANON_JPEG = "faces/face_recognition_knn/train/obama/obama.jpg"
NIKON_D5000 = "photos/lychee/tests/Samples/mongolia.jpeg"
NIKON_D750 = "search/immich_albums/nature/tanners_ridge.jpg"
IPHONE = "videos/livephoto_pair_lychee/train.jpg"
POWERSHOT = "photos/photoprism/internal/meta/testdata/smallFiji.JPG"
CANON_IXUS = "photos/ianare_exif-samples/jpg/exif-org/canon-ixus.jpg"

_LENS_NAMES = ("LensID", "LensType", "LensSpec", "LensModel")


def _mime(path: Path) -> str:
    return "image/webp" if path.suffix == ".webp" else "image/jpeg"


@pytest.mark.parametrize(
    ("relative", "lens"),
    [
        # Composite:LensID from the Canon lens number 202 in XMP-aux (-n gives 202); the EXIF
        # LensModel says "EF28-80mm f/3.5-5.6 USM"
        (CANON_WEBP, "Canon EF 28-80mm f/3.5-5.6 USM IV"),
        (CANON_JPEG, "Canon EF 85mm f/1.2L USM"),
        # Composite:LensID from Nikon's LensData (-n gives "8B 40 2D 80 2C 3C FD 0E"); the file
        # has no LensModel at all
        (NIKON_D5000, "AF-S DX VR Zoom-Nikkor 18-200mm f/3.5-5.6G IF-ED [II]"),
        # Composite:LensID printed from the range ("17.0-35.0 mm f/2.8" under -n)
        (NIKON_D750, "17.0-35.0mm f/2.8"),
        # a phone: LensID is its LensModel, the same printed or not
        (IPHONE, "iPhone 6s back camera 4.15mm f/2.2"),
        # ExifTool prints LensID "Unknown 5-16mm" (LensType 65535, "n/a"): Immich keeps none
        (POWERSHOT, None),
    ],
)
def test_lens_model_is_the_printed_lens_id(
    sample, exiftool: ExifTool, relative: str, lens: str | None
) -> None:
    path = sample(relative)
    md = extract_metadata(path, mime_type=_mime(path), exiftool=exiftool)
    assert md.lens_model == lens


def test_composite_iso_is_rounded_as_exiftool_prints_it(sample, exiftool: ExifTool) -> None:
    """The IXUS has no EXIF ISO; Canon's Composite:ISO is 64.84 (``sprintf("%.0f")``: 65)."""
    path = sample(CANON_IXUS)
    assert exiftool.read(path)["Composite:ISO"] == pytest.approx(64.842, abs=1e-3)
    assert extract_metadata(path, mime_type="image/jpeg", exiftool=exiftool).iso == 65


def test_one_read_gives_printed_lens_tags_and_numbers_for_the_rest(
    sample, exiftool: ExifTool
) -> None:
    tags = exiftool.read(sample(CANON_WEBP))
    assert tags["Composite:LensID"] == "Canon EF 28-80mm f/3.5-5.6 USM IV"
    assert "XMP-aux:LensID" not in tags  # the copy ExifTool does not prefer is left out
    assert tags["ExifIFD:LensModel"] == "EF28-80mm f/3.5-5.6 USM"
    assert tags["IFD0:Orientation"] == 1
    assert tags["ExifIFD:ExposureTime"] == 0.0025
    assert tags["ExifIFD:FNumber"] == 11
    assert tags["ExifIFD:ColorSpace"] == 1
    assert tags["Composite:ImageSize"] == "600 315"


@pytest.mark.parametrize(
    "relative",
    [
        CANON_WEBP,
        NIKON_D5000,
        IPHONE,
        "photos/immich_test-assets/metadata/gps-position/thompson-springs.jpg",
        "videos/livephoto_pair_lychee/train.mov",
    ],
)
def test_every_other_tag_is_what_exiftool_n_gives_in_the_same_order(
    sample, exiftool: ExifTool, relative: str
) -> None:
    """The full read equals ``exiftool -n`` (the read before printed tags) but for the lens
    tags: same keys, same values, same order (``*:Name`` lookups take the first). Both on the
    same process: the order of Composite tags follows the modules ExifTool has loaded so far.
    The file's access time is left out of the values (the first read may set it: relatime
    updates an access time older than a day), not out of the order."""
    path = sample(relative)
    expected = json.loads(exiftool.execute("-n", str(path)))[0]
    got = exiftool.read(path)

    def rest(tags: dict) -> list[tuple[str, object]]:
        return [
            (k, None if k == "System:FileAccessDate" else v)
            for k, v in tags.items()
            if k.split(":")[-1] not in _LENS_NAMES
        ]

    assert rest(got) == rest(expected)


def test_a_read_of_named_tags_stays_numeric(sample, exiftool: ExifTool) -> None:
    """``read(path, "-IFD0:Orientation")`` gives the number (``#`` added), not the printed
    ``"Horizontal (normal)"``, also right after a full read on the same process."""
    path = sample(CANON_WEBP)
    exiftool.read(path)
    only = exiftool.read(path, "-IFD0:Orientation", "-Composite:LensID")
    assert only["IFD0:Orientation"] == 1
    assert only["Composite:LensID"] == 202
