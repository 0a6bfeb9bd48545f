"""``Storage.copy`` on both back ends (what the storage template's crash-safe move builds on)."""

from __future__ import annotations

import os

import pytest
from darkroom_storage import FilesystemStorage, NotFound, Storage


async def test_copy_keeps_the_source_and_replaces_the_target(storage: Storage, prefix: str) -> None:
    src, dst = prefix + "upload/a.jpg", prefix + "library/2024/05/a.jpg"
    data = os.urandom(70_000)
    await storage.put(src, data, content_type="image/jpeg")
    info = await storage.copy(src, dst)
    assert (info.key, info.size) == (dst, len(data))
    assert await storage.get_bytes(src) == data
    assert await storage.get_bytes(dst) == data
    # A copy onto an existing object replaces it; a copy onto itself changes nothing.
    await storage.put(src, b"newer")
    await storage.copy(src, dst)
    assert await storage.get_bytes(dst) == b"newer"
    assert (await storage.copy(dst, dst)).size == 5
    # Deleting the source leaves the copy whole (a hard link on the filesystem).
    await storage.delete(src)
    assert await storage.get_bytes(dst) == b"newer"
    with pytest.raises(NotFound):
        await storage.copy(prefix + "missing.jpg", prefix + "other.jpg")
    assert not await storage.exists(prefix + "other.jpg")
    listed = [o.key async for o in storage.list_objects(prefix)]
    assert listed == [dst]
    if isinstance(storage, FilesystemStorage):  # no temporary file is left behind
        assert sorted(p.name for p in storage.root.rglob("*") if p.is_file()) == ["a.jpg"]
