"""Which files an external library holds (darkroom_ingest.library): exclusions with Immich's
glob patterns, media files only, sidecars beside a file, a lazy walk in stable batches."""

from __future__ import annotations

import hashlib
from pathlib import Path

from darkroom_ingest.library import Exclusions, batches, file_facts, read_file, walk


def _tree(root: Path) -> None:
    for name in (
        "a.jpg",
        "b.JPG",
        "notes.txt",
        "scan.tif",
        "Raw/c.jpg",
        "trip/Raw/d.jpg",
        "trip/e.heic",
        "trip/e.heic.xmp",
        "trip/f.mp4",
        "trip/f.xmp",
        "@eaDir/g.jpg",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())


def test_the_walk_applies_exclusions_and_keeps_media_files(tmp_path: Path) -> None:
    _tree(tmp_path)
    exclusions = Exclusions(["**/*.tif", "**/Raw/**", "**/@eaDir/**"])
    found = [Path(p).relative_to(tmp_path).as_posix() for p in walk([str(tmp_path)], exclusions)]
    assert found == ["a.jpg", "b.JPG", "trip/e.heic", "trip/f.mp4"]  # sorted per folder


def test_facts_say_when_a_path_no_longer_belongs(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = [str(tmp_path)]
    none = Exclusions([])
    heic = file_facts(str(tmp_path / "trip/e.heic"), roots, none)
    assert heic is not None and heic.sidecar == str(tmp_path / "trip/e.heic.xmp")
    assert heic.size == len(b"trip/e.heic")
    mp4 = file_facts(str(tmp_path / "trip/f.mp4"), roots, none)
    assert mp4 is not None and mp4.sidecar == str(tmp_path / "trip/f.xmp")  # photo.xmp form
    assert file_facts(str(tmp_path / "missing.jpg"), roots, none) is None
    assert file_facts(str(tmp_path / "notes.txt"), roots, none) is None
    assert file_facts(str(tmp_path / "a.jpg"), [str(tmp_path / "trip")], none) is None
    assert file_facts(str(tmp_path / "a.jpg"), roots, Exclusions(["**/a.*"])) is None
    assert file_facts(f"{tmp_path}/trip/../a.jpg", roots, none) is None  # not normalised


def test_batches_are_lazy_and_bounded(tmp_path: Path) -> None:
    taken: list[int] = []

    def paths():  # type: ignore[no-untyped-def]
        for i in range(7):
            taken.append(i)
            yield f"/p/{i}.jpg"

    chunks = batches(paths(), 3)
    assert next(chunks) == ["/p/0.jpg", "/p/1.jpg", "/p/2.jpg"]
    assert len(taken) == 3  # nothing read ahead of the batch
    assert [len(c) for c in chunks] == [3, 1]


def test_read_file_gives_the_head_and_sha1(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    head, digest = read_file(str(path))
    assert head == data[: len(head)] and len(head) == 64 * 1024
    assert digest == hashlib.sha1(data).digest()


def test_a_pattern_pathspec_cannot_read_is_skipped_not_fatal() -> None:
    exclusions = Exclusions(["!", "\\", "**/*.tif"])
    assert exclusions.excludes("/lib/a/b.tif") and not exclusions.excludes("/lib/a/b.jpg")
