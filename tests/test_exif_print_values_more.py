"""EXIF values Immich stores as ExifTool prints them, in ``GET /api/assets/{id}`` (ExifResponseDto).

Immich reads tags with exiftool-vendored, print conversion on but for its ``numericTags`` (GPS,
Orientation, durations, FocalLength, FileSize), and maps them in metadata.service
``handleMetadataExtraction``:

* ``lensModel`` is ``getLensModel``: the first of LensID, LensType, LensSpec, LensModel, as
  ExifTool prints it, so ExifTool's lens name from the lens number
  (``"Canon EF 28-80mm f/3.5-5.6 USM IV"``), not the number (``202``) nor the EXIF LensModel
  (``"EF28-80mm f/3.5-5.6 USM"``); ``----`` and ``Unknown ...`` give null.
* ``iso`` is ``validate(exifTags.ISO)``: Canon's Composite ISO printed, rounded (64.84 -> 65).
* The numeric values beside them are unchanged: ``orientation`` ``"1"``, ``exposureTime``
  ``"1/400"``, ``fNumber`` 11.

Real camera files from the shared samples (skipped when absent), uploaded as they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, wait_processed

#: sample -> (lensModel, iso) Immich stores for it.
EXPECTED = {
    # Canon EOS 7D, lens number 202 in XMP-aux; EXIF LensModel "EF28-80mm f/3.5-5.6 USM"
    "photos/immich_test-assets/formats/webp/denali.webp": (
        "Canon EF 28-80mm f/3.5-5.6 USM IV",
        200,
    ),
    # Canon EOS 5D Mark III, lens number 137
    "faces/face_recognition_knn/train/obama/obama.jpg": ("Canon EF 85mm f/1.2L USM", 200),
    # Nikon D5000: no LensModel at all, Composite LensID from the LensData
    "photos/lychee/tests/Samples/mongolia.jpeg": (
        "AF-S DX VR Zoom-Nikkor 18-200mm f/3.5-5.6G IF-ED [II]",
        200,
    ),
    # Canon PowerShot A70: LensID prints "Unknown 5-16mm" (LensType 65535, "n/a")
    "photos/photoprism/internal/meta/testdata/smallFiji.JPG": (None, 50),
    # Canon IXUS: no EXIF ISO; Composite ISO 64.84 printed "65"; no lens tags
    "photos/ianare_exif-samples/jpg/exif-org/canon-ixus.jpg": (None, 65),
}


def _path(relative: str) -> Path:
    root = samples_dir()
    path = root / relative if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample {relative} not found (set DARKROOM_SAMPLES)")
    return path


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user for this module's uploads."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def exif(owner: User) -> dict[str, dict]:
    """Every sample of :data:`EXPECTED` uploaded once: sample -> its ``exifInfo``."""
    if samples_dir() is None:
        pytest.skip("sample media not found (set DARKROOM_SAMPLES or add ../shared/samples)")
    ids = {}
    for relative in EXPECTED:
        path = samples_dir() / relative  # type: ignore[operator]
        if not path.is_file():
            continue
        r = upload(owner, path)
        assert r.status_code == 201, r.text
        ids[relative] = r.json()["id"]
    wait_processed(owner, list(ids.values()))
    found = {}
    for relative, asset_id in ids.items():
        r = owner.client.get(f"/api/assets/{asset_id}")
        assert r.status_code == 200, r.text
        found[relative] = r.json()["exifInfo"]
    return found


@pytest.mark.parametrize("relative", list(EXPECTED))
def test_lens_model_and_iso_are_as_exiftool_prints_them(
    exif: dict[str, dict], relative: str
) -> None:
    _path(relative)
    lens, iso = EXPECTED[relative]
    info = exif[relative]
    assert info["lensModel"] == lens
    assert info["iso"] == iso


def test_numeric_values_beside_the_printed_lens_are_unchanged(exif: dict[str, dict]) -> None:
    relative = "photos/immich_test-assets/formats/webp/denali.webp"
    _path(relative)
    info = exif[relative]
    assert info["make"] == "Canon"
    assert info["model"] == "Canon EOS 7D"
    assert info["orientation"] == "1"
    assert info["exposureTime"] == "1/400"
    assert info["fNumber"] == 11
    assert info["focalLength"] == 60
    assert (info["exifImageWidth"], info["exifImageHeight"]) == (600, 315)
