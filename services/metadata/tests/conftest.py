"""Fixtures for the metadata tests: the shared sample media and one geocoder for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from darkroom_metadata.exiftool import ExifTool
from darkroom_metadata.geocode import Geocoder

REPO = Path(__file__).resolve().parents[3]


def samples_root() -> Path:
    """``$DARKROOM_SAMPLES``, else ``<repo>/../shared/samples``."""
    return Path(os.environ.get("DARKROOM_SAMPLES") or REPO.parent / "shared" / "samples")


@pytest.fixture(scope="session")
def samples() -> Path:
    """The sample media folder; skips the test when it is absent."""
    root = samples_root()
    if not (root / "photos").is_dir() or not (root / "videos").is_dir():
        pytest.skip(f"sample media not found at {root} (set DARKROOM_SAMPLES)")
    return root


@pytest.fixture
def sample(samples: Path):
    """``sample("photos/...")`` -> the path, skipping the test if that one file is missing."""

    def find(relative: str) -> Path:
        path = samples / relative
        if not path.is_file():
            pytest.skip(f"sample {relative} is missing from {samples}")
        return path

    return find


@pytest.fixture(scope="session")
def geocoder() -> Geocoder:
    """One loaded geocoder for the whole session (loading takes about a second)."""
    g = Geocoder()
    g.load()
    return g


@pytest.fixture(scope="session")
def exiftool():
    """One ExifTool in stay-open mode for the session (as the service keeps one)."""
    with ExifTool() as reader:
        yield reader
