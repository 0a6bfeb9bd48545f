"""Filesystem-only behaviour: temporary files, their sweeping, and on-disk layout."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from darkroom_storage import FilesystemStorage, StorageError, StorageSettings, open_storage
from darkroom_storage.keys import temp_name


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemStorage:
    store = open_storage(StorageSettings(root=str(tmp_path / "root")))
    assert isinstance(store, FilesystemStorage)
    return store


async def test_objects_are_plain_files_under_the_root(fs: FilesystemStorage) -> None:
    await fs.put("upload/u1/ab/cd/a1.jpg", b"jpeg")
    assert (fs.root / "upload/u1/ab/cd/a1.jpg").read_bytes() == b"jpeg"
    assert fs.root.is_absolute()


async def test_sweep_temp_removes_only_stale_temp_files(fs: FilesystemStorage) -> None:
    await fs.put("a/b/photo.jpg", b"kept")
    directory = fs.root / "a" / "b"
    stale = directory / temp_name("photo.jpg")
    fresh = directory / temp_name("other.jpg")
    stale.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    old = time.time() - 3 * 3600
    os.utime(stale, (old, old))
    assert [i.key async for i in fs.list_objects()] == ["a/b/photo.jpg"]  # temp files hidden
    assert await fs.sweep_temp(older_than=timedelta(hours=2)) == 1
    assert not stale.exists() and fresh.exists()
    assert (directory / "photo.jpg").read_bytes() == b"kept"


async def test_key_clashing_with_a_directory_is_a_storage_error(fs: FilesystemStorage) -> None:
    await fs.put("a/b.jpg", b"x")
    with pytest.raises(StorageError):
        await fs.put("a/b.jpg/c.jpg", b"y")  # a parent is an existing object
    with pytest.raises(StorageError):
        await fs.put("a", b"z")  # the key is a prefix of other objects
    assert sorted(os.listdir(fs.root / "a")) == ["b.jpg"]


async def test_open_keeps_reading_the_version_it_opened(fs: FilesystemStorage) -> None:
    await fs.put("v.bin", b"A" * 100)
    stream = await fs.open("v.bin", chunk_size=10)
    first = await anext(stream)
    await fs.put("v.bin", b"B" * 50)
    rest = b"".join([c async for c in stream])
    assert first + rest == b"A" * 100
    assert await fs.get_bytes("v.bin") == b"B" * 50


async def test_put_cancelled_at_once_leaves_no_temp_file(fs: FilesystemStorage) -> None:
    import asyncio

    async def never_ending():  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()
        yield b""

    for _ in range(20):  # cancel at the earliest moments a writer can be cancelled
        task = asyncio.create_task(fs.put("a/b/c.jpg", never_ending()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [p for p in fs.root.rglob("*") if p.is_file()] == []


async def test_staging_put_skips_fsync_and_move_makes_it_durable(
    fs: FilesystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``durable=False`` writes without fsync; the move flushes the file and both directories."""
    synced: list[tuple[int, bool]] = []  # (inode, is a directory) of every fsync
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        synced.append((st.st_ino, stat.S_ISDIR(st.st_mode)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)

    async def body() -> AsyncIterator[bytes]:
        for i in range(5):
            yield bytes([i]) * 300_000  # 1.5 MB, streamed

    await fs.put("staging/u1/s1", body(), durable=False)
    assert synced == []
    assert (fs.root / "staging/u1/s1").stat().st_size == 1_500_000
    await fs.put("staging/u1/s2", b"small", durable=False)
    assert synced == []

    await fs.move("staging/u1/s1", "upload/u1/ab/cd/a1.jpg")
    target = fs.root / "upload/u1/ab/cd/a1.jpg"
    assert (target.stat().st_ino, False) in synced  # the file's data
    assert (target.parent.stat().st_ino, True) in synced  # its new directory entry
    assert (fs.root / "staging/u1").stat().st_ino in {ino for ino, is_dir in synced if is_dir}
    assert target.read_bytes() == b"".join(bytes([i]) * 300_000 for i in range(5))

    synced.clear()
    await fs.put("thumbs/u1/t.webp", b"webp")  # the default stays durable
    assert {is_dir for _, is_dir in synced} == {False, True}


async def test_small_streamed_chunks_are_written_in_batches(
    fs: FilesystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP body's ~64 KiB pieces reach the file in batches of at least WRITE_BATCH bytes
    (the last one excepted), one thread hop (one ``writelines``) each, and the bytes are
    exactly those streamed."""
    from darkroom_storage import filesystem

    writes: list[int] = []
    real_open_temp = FilesystemStorage._open_temp

    class Recording:
        def __init__(self, f: Any) -> None:
            self._f = f

        def writelines(self, pieces: list[bytes]) -> None:
            writes.append(sum(len(p) for p in pieces))
            self._f.writelines(pieces)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

    def open_temp(self: FilesystemStorage, path: Path, key: str) -> tuple[Path, Any]:
        tmp, f = real_open_temp(self, path, key)
        return tmp, Recording(f)

    monkeypatch.setattr(FilesystemStorage, "_open_temp", open_temp)
    sizes = [64 * 1024] * 40 + [3 * filesystem.WRITE_BATCH] + [1000] * 7 + [5]
    pieces = [bytes([i % 251]) * n for i, n in enumerate(sizes)]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    info = await fs.put("upload/u1/ab/cd/big.mp4", body())
    assert (fs.root / "upload/u1/ab/cd/big.mp4").read_bytes() == b"".join(pieces)
    assert info.size == sum(sizes)
    assert all(n >= filesystem.WRITE_BATCH for n in writes[:-1]), writes
    assert len(writes) <= sum(sizes) // filesystem.WRITE_BATCH + 1, writes


async def test_large_streamed_put_starts_writeback_as_it_goes(
    fs: FilesystemStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every WRITEBACK_EVERY bytes a streamed put asks the kernel to write back (and then drop)
    the range written since the last time; the file is still exactly what was streamed."""
    from darkroom_storage import filesystem

    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise here")
    advised: list[tuple[int, int, int]] = []
    real_fadvise = os.posix_fadvise

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        advised.append((offset, length, advice))
        real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr(filesystem, "WRITEBACK_EVERY", 3 * filesystem.WRITE_BATCH)
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    piece = 300_000
    pieces = [bytes([i % 251]) * piece for i in range(40)]  # ~11.4 MiB

    async def body() -> AsyncIterator[bytes]:
        for p in pieces:
            yield p

    info = await fs.put("upload/u1/ab/cd/long.mp4", body(), durable=False)
    assert (fs.root / "upload/u1/ab/cd/long.mp4").read_bytes() == b"".join(pieces)
    assert info.size == 40 * piece
    assert advised, "no writeback was started"
    assert {advice for _, _, advice in advised} == {os.POSIX_FADV_DONTNEED}
    ends = [0] + [offset + length for offset, length, _ in advised]
    assert [offset for offset, _, _ in advised] == ends[:-1]  # contiguous, from the start
    assert all(length >= 3 * filesystem.WRITE_BATCH for _, length, _ in advised)
    assert ends[-1] <= info.size
