"""#24 item 2: the ExifTool extractor against the exiv2/PyAV one it replaced, over every sample.

Runs :func:`bench.metadata.compare` (both extractors on every image and video of the shared
samples) and prints the per-field table. It fails when a field is filled on fewer files, or
differently, than before without an entry of :data:`bench.metadata.EXPLAINED` saying which value
was wrong, or when the new extractor fails on a file the old one read. docs/metadata.md holds the
table and the explanations.
"""

from __future__ import annotations

import pytest

from bench import metadata


@pytest.fixture(scope="module")
def report() -> dict:
    root = metadata.samples_root()
    if root is None:
        pytest.skip("sample media not found (set DARKROOM_SAMPLES or add ../shared/samples)")
    return metadata.compare(root)


def test_every_sample_is_compared(report: dict) -> None:
    root = metadata.samples_root()
    assert root is not None
    assert report["files"] == len(metadata.media_files(root)) > 100


def test_no_unexplained_regression(report: dict) -> None:
    print("\n" + metadata.table(report))  # noqa: T201 - the comparison is this test's output
    assert metadata.unexplained(report) == []


def test_no_field_filled_on_fewer_files_unless_explained(report: dict) -> None:
    for name, data in report["fields"].items():
        explained_losses = sum(
            1 for c in data["cases"] if c["kind"] == "only_old" and c["explained"] is not None
        )
        assert data["new"] + explained_losses >= data["old"], name


def test_explanations_are_all_used(report: dict) -> None:
    """An explanation whose difference is gone is stale (the table in the docs would lie)."""
    used = {
        (c["file"], name)
        for name, data in report["fields"].items()
        for c in data["cases"]
        if c["explained"] is not None
    } | {(e["file"], "error") for e in report["errors"] if e["explained"] is not None}
    assert set(metadata.EXPLAINED) - used == set()
