"""Every file of the shared sample media is sniffed as what its name says it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from darkroom_media import MEDIA_TYPES, UnsupportedMediaError, extension_of, sniff
from darkroom_media.sniff import SNIFF_BYTES

pytestmark = pytest.mark.samples

# Documentation and data files that live beside the samples; they must be rejected.
_NOT_MEDIA = frozenset({".csv", ".tsv", ".md", ".txt", ".json", ""})


def _samples_root() -> Path:
    configured = os.environ.get("DARKROOM_SAMPLES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3].parent / "shared" / "samples"


def _sample_files(kind: str, *, media_only: bool = False) -> list[object]:
    folder = _samples_root() / kind
    if not folder.is_dir():
        reason = f"sample media absent: {folder} (set DARKROOM_SAMPLES)"
        return [pytest.param(None, id=f"{kind}-absent", marks=pytest.mark.skip(reason=reason))]
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    if media_only:
        files = [path for path in files if extension_of(path.name) in MEDIA_TYPES]
    return [pytest.param(path, id=str(path.relative_to(folder))) for path in files]


def _read_head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(SNIFF_BYTES)


@pytest.mark.parametrize("path", _sample_files("photos") + _sample_files("videos"))
def test_sample_is_sniffed_as_named(path: Path) -> None:
    extension = extension_of(path.name)
    head = _read_head(path)
    if extension in _NOT_MEDIA:
        with pytest.raises(UnsupportedMediaError, match="not an accepted image or video"):
            sniff(head, path.name)
        return
    claimed = MEDIA_TYPES[extension]  # every sample is named with an accepted extension
    kind = sniff(head, path.name)
    assert kind.asset_type == claimed.asset_type
    assert kind.extension == extension
    assert kind.mime_type == claimed.mime_type


@pytest.mark.parametrize(
    "path", _sample_files("photos", media_only=True) + _sample_files("videos", media_only=True)
)
def test_sample_without_name_keeps_its_asset_type(path: Path) -> None:
    claimed = MEDIA_TYPES[extension_of(path.name)]
    kind = sniff(_read_head(path))
    assert kind.asset_type == claimed.asset_type
    assert MEDIA_TYPES[kind.extension].format == claimed.format
