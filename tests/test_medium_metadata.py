"""Replays Immich's server/test/medium/specs/services/metadata.service.spec.ts over HTTP.

Immich's medium test writes tags into a 1x1 PNG with ExifTool and runs
``handleMetadataExtraction`` on it; here the same PNG is uploaded and its
``GET /api/assets/{id}`` read. Checked:

* ``handleMetadataExtraction``: a far-future ``CreateDate`` (``42603:05:04 04:12:48``, a PNG
  text chunk) gives ``4260-03-05T04:04:12`` as ExifTool reads it; the IFD1 (thumbnail)
  orientation and size are not the image's, the IFD0 orientation is (``"6"``); a float
  ``LensModel`` (#30492) is ``"1.8"``.
* ``handleSidecarCheck`` (which file is an asset's sidecar) is a library-scan matter in
  Darkroom: :mod:`tests.test_medium_library` replays it.

Its time-zone cases (no zone: UTC wall clock, ``timeZone`` null; ``+13:00``: ``UTC+13``) are
already pinned by :mod:`tests.test_exif_values_more` (offsets to zone names) and not repeated.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from darkroom_metadata.exiftool import find_executable
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import User, make_user, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _png(folder: Path, name: str, *tags: str) -> bytes:
    """A 1x1 PNG without EXIF (as Immich's ``newRandomImage``; libvips would add an IFD0
    orientation) with ``tags`` written by ExifTool."""
    path = folder / f"{name}.png"
    Image.new("RGB", (1, 1), (len(name), 0, 0)).save(path)
    cmd = [find_executable(), "-q", "-overwrite_original", *tags, str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path.read_bytes()


def _upload(user: User, name: str, data: bytes) -> str:
    r = user.client.post(
        "/api/assets",
        files={"assetData": (f"{name}.png", data, "image/png")},
        data={
            "deviceAssetId": f"medium-metadata-{name}",
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def extracted(owner: User, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Name -> AssetResponseDto of each of Immich's test files, once processed."""
    folder = tmp_path_factory.mktemp("medium-metadata")
    files = {
        "far-future": ["-CreateDate=42603:05:04 04:12:48"],
        "ifd1": ["-IFD1:Orientation#=6", "-IFD1:ImageWidth#=160", "-IFD1:ImageHeight#=120"],
        "ifd0": ["-IFD0:Orientation#=6"],
        "lens": ["-LensModel=1.8"],
    }
    ids = {name: _upload(owner, name, _png(folder, name, *tags)) for name, tags in files.items()}
    wait_processed(owner, list(ids.values()))
    return {name: owner.client.get(f"/api/assets/{i}").json() for name, i in ids.items()}


def test_a_far_future_png_create_date(extracted: dict[str, dict[str, Any]]) -> None:
    """ExifTool reads ``42603:05:04 04:12:48`` as 4260-03-05 04:04:12; Immich keeps that (its
    test notes the date is "technically wrong" but must not throw). Before the fix Darkroom
    ignored the PNG's CreateDate and took the upload's fileModifiedAt (2020)."""
    asset = extracted["far-future"]
    assert asset["exifInfo"]["dateTimeOriginal"].startswith("4260-03-05T04:04:12"), asset
    assert asset["localDateTime"].startswith("4260-03-05T04:04:12")


def test_ifd1_thumbnail_tags_are_not_the_images(extracted: dict[str, dict[str, Any]]) -> None:
    ifd1, ifd0 = extracted["ifd1"], extracted["ifd0"]
    assert ifd1["exifInfo"]["orientation"] is None
    assert (ifd1["width"], ifd1["height"]) == (1, 1)
    assert ifd0["exifInfo"]["orientation"] == "6"


def test_a_float_lens_model_is_text(extracted: dict[str, dict[str, Any]]) -> None:
    assert extracted["lens"]["exifInfo"]["lensModel"] == "1.8"
