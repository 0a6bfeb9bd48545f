"""External-library files through the storage every service opens (both back ends): read in
place by absolute path, never written, moved or deleted (darkroom_storage.external)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from darkroom_storage import ExternalFiles, NotFound, ReadOnlyFile, Storage


def _state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


@pytest.fixture
def backend(storage: Storage) -> Storage:
    """Each back end (conftest's ``storage``), to wrap as services get it."""
    return storage


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "library" / "2019" / "IMG_1.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xd8" + bytes(range(256)) * 40)
    path.chmod(0o444)
    return path


async def test_an_external_file_is_read_in_place(backend: Storage, photo: Path) -> None:
    storage = ExternalFiles(backend)  # as open_service_storage builds it for every service
    key = str(photo)
    data = _state(photo)[0]
    assert await storage.get_bytes(key) == data
    assert (await storage.head(key)).size == len(data)
    assert (await storage.head(key)).key == key
    async with await storage.open(key, start=2, end=10) as stream:
        assert b"".join([c async for c in stream]) == data[2:10]
    assert storage.local_path(key) == photo  # zero-copy readers get the file itself
    copy = photo.parent.parent.parent / "copy.jpg"
    await storage.download_to(key, copy)
    assert _state(copy)[0] == data
    with pytest.raises(NotFound):
        await storage.head(str(photo.parent / "missing.jpg"))


async def test_an_external_file_is_never_written_moved_or_deleted(
    backend: Storage, photo: Path
) -> None:
    storage = ExternalFiles(backend)
    key = str(photo)
    before = _state(photo)
    with pytest.raises(ReadOnlyFile):
        await storage.put(key, b"other")
    await storage.put("upload/u/x.jpg", b"managed")
    with pytest.raises(ReadOnlyFile):
        await storage.move("upload/u/x.jpg", key)
    with pytest.raises(ReadOnlyFile):
        await storage.move(key, "upload/u/y.jpg")
    await storage.delete(key)  # purging an external asset leaves its file
    assert _state(photo) == before
    assert await storage.get_bytes("upload/u/x.jpg") == b"managed"  # managed keys as ever


async def test_an_external_path_cannot_climb(backend: Storage, photo: Path) -> None:
    with pytest.raises(ValueError):
        await ExternalFiles(backend).get_bytes(f"{photo.parent}/../2019/IMG_1.jpg")
