"""The shared contract of both back ends (each test runs on the filesystem and on real S3)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from darkroom_stack.servers import RunningServer
from darkroom_storage import FilesystemStorage, NotFound, S3Storage, Storage, open_storage
from darkroom_storage.keys import is_temp_name, temp_name

from .conftest import TEST_PART_SIZE, s3_settings

MiB = 1 << 20
#: Parts a streamed S3 put holds while it gathers the next part: the part minio's put_object
#: sent last (kept until the next one is read) and the one being gathered.
S3_PUT_PARTS_HELD = 2
#: What the storage code holds besides the chunks and parts counted above: the futures, frames
#: and buffers of one read or write (about 4 KB measured when a read held two chunks at once;
#: the bounds had no room for it and a run failed on 2 MiB + 4,018 bytes). Small next to the
#: 40 MiB object, so a back end that buffered it still fails.
BOOKKEEPING = 64 * 1024


class Interrupted(Exception):
    """Raised by a test generator halfway through a streamed put."""


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic random bytes (random, so an off-by-N read cannot match by accident)."""
    return random.Random(seed).randbytes(size)


async def chunks(
    count: int, size: int = MiB, *, digest: Any = None, fail_after: int | None = None
) -> AsyncIterator[bytes]:
    """``count`` random chunks of ``size`` bytes, fed to ``digest``; fail after ``fail_after``."""
    for i in range(count):
        if fail_after is not None and i == fail_after:
            raise Interrupted(f"source failed after {i} chunks")
        chunk = os.urandom(size)  # one allocation (randbytes makes a temporary big int too)
        if digest is not None:
            digest.update(chunk)
        yield chunk
        await asyncio.sleep(0)


def leftovers(storage: Storage, key: str) -> list[str]:
    """Temporary files in the directory of ``key`` (filesystem back end)."""
    path = storage.local_path(key)
    assert path is not None
    if not path.parent.exists():
        return []
    return [name for name in os.listdir(path.parent) if is_temp_name(name)]


async def incomplete_uploads(storage: Storage, key: str) -> list[str | None]:
    """Unfinished multipart uploads for ``key`` (S3 back end), via ListMultipartUploads."""
    assert isinstance(storage, S3Storage)
    return [upload_id for _, upload_id in await storage.incomplete_uploads(key)]


async def test_put_and_get_bytes(storage: Storage, prefix: str) -> None:
    key = prefix + "ab/cd/asset.jpg"
    data = payload(300_000)
    info = await storage.put(key, data, content_type="image/jpeg")
    assert (info.key, info.size, info.content_type) == (key, len(data), "image/jpeg")
    assert await storage.get_bytes(key) == data
    empty = await storage.put(prefix + "empty.webp", b"")
    assert empty.size == 0
    assert await storage.get_bytes(prefix + "empty.webp") == b""
    assert (await storage.head(prefix + "empty.webp")).content_type == "image/webp"


class StorageMemory:
    """The memory the storage code holds, sampled at every chunk it takes or gives.

    tracemalloc's peak counts the whole process (the event loop's other tasks, pytest, the
    test's own chunks), so on a busy machine it went past a tight bound. Each sample here is a
    snapshot of the blocks allocated since :meth:`__enter__` and still alive, counting only
    those the storage code allocated: the innermost frame of their stack (of the last
    :data:`FRAMES`) that is either in :data:`STORAGE_CODE` (darkroom_storage, the minio and
    urllib3 code it calls, the worker threads it runs them in) or in this test module is in
    :data:`STORAGE_CODE`. So the chunks the test makes while the storage pulls them do not
    count, and what the storage keeps of them does. A back end that buffered the whole object
    would hold it at some chunk boundary, so the largest sample shows it.

    Attributes:
        largest: The largest sample so far, in bytes.
    """

    FRAMES = 8  # reaches a storage frame from any block it allocates (the stacks are shallow)
    STORAGE_CODE = (
        "/darkroom_storage/",
        "/minio/",
        "/urllib3/",
        "/http/client.py",
        "/concurrent/futures/thread.py",  # blocking calls the storage runs in worker threads
    )

    def __init__(self) -> None:
        self.largest = 0
        self._by_storage: dict[tracemalloc.Traceback, bool] = {}

    def __enter__(self) -> StorageMemory:
        tracemalloc.start(self.FRAMES)
        return self

    def __exit__(self, *exc: object) -> None:
        tracemalloc.stop()

    def sample(self) -> None:
        """Add a sample: the bytes the storage code holds now."""
        held = 0
        for trace in tracemalloc.take_snapshot().traces:
            if self._allocated_by_storage(trace.traceback):
                held += trace.size
        self.largest = max(self.largest, held)

    def _allocated_by_storage(self, traceback: tracemalloc.Traceback) -> bool:
        verdict = self._by_storage.get(traceback)
        if verdict is None:
            verdict = False
            for frame in reversed(traceback):  # innermost first
                if frame.filename == __file__:
                    break
                if any(part in frame.filename for part in self.STORAGE_CODE):
                    verdict = True
                    break
            self._by_storage[traceback] = verdict
        return verdict


async def _measured_put(storage: Storage, key: str, count: int, digest: Any) -> StorageMemory:
    """Put ``count`` 1 MiB chunks at ``key``; what the storage held, sampled at every chunk."""
    with StorageMemory() as memory:

        async def source() -> AsyncIterator[bytes]:
            async for chunk in chunks(count, digest=digest):
                memory.sample()  # the storage has taken every chunk before this one
                yield chunk

        info = await storage.put(key, source(), content_type="video/mp4")
    assert info.size == count * MiB
    return memory


async def test_streamed_put_and_read_keep_memory_bounded(storage: Storage, prefix: str) -> None:
    """40 MiB in 1 MiB chunks goes up and comes back without the storage ever holding it."""
    key = prefix + "big/video.mp4"
    size = 40 * MiB
    sent = hashlib.sha256()
    received = hashlib.sha256()
    largest = 0
    put_memory = await _measured_put(storage, key, 40, sent)
    with StorageMemory() as read_memory:
        async with await storage.open(key) as stream:
            async for chunk in stream:
                read_memory.sample()
                largest = max(largest, len(chunk))
                received.update(chunk)
    assert (await storage.head(key)).size == size
    assert received.hexdigest() == sent.hexdigest()
    assert largest == MiB  # the default chunk size
    # The filesystem holds at most a chunk; S3 two 5 MiB parts and a chunk: well under the
    # 40 MiB object. Reading, both hold the chunk just given and at most
    # one more.
    part = 0 if isinstance(storage, FilesystemStorage) else S3_PUT_PARTS_HELD * TEST_PART_SIZE
    assert put_memory.largest <= part + 2 * MiB + BOOKKEEPING, (
        f"put held {put_memory.largest / MiB:.1f} MiB of a 40 MiB object"
    )
    assert read_memory.largest <= 2 * MiB + BOOKKEEPING, (
        f"read held {read_memory.largest / MiB:.1f} MiB of a 40 MiB object"
    )


async def test_memory_samples_count_only_the_storage(storage: Storage, prefix: str) -> None:
    """What the rest of the process allocates meanwhile is not counted: here the test keeps
    2 MiB for every chunk, made while the storage pulls it (a busy event loop or pytest could
    do the same). The whole-process peak, which this test measured before, sees it all."""
    kept: list[bytes] = []
    with StorageMemory() as memory:

        async def source() -> AsyncIterator[bytes]:
            async for chunk in chunks(20):
                kept.append(payload(2 * MiB, seed=len(kept)))
                memory.sample()
                yield chunk

        await storage.put(prefix + "noisy.mp4", source())
        _, process_peak = tracemalloc.get_traced_memory()
    assert process_peak >= 40 * MiB
    part = 0 if isinstance(storage, FilesystemStorage) else S3_PUT_PARTS_HELD * TEST_PART_SIZE
    assert memory.largest <= part + 2 * MiB + BOOKKEEPING, f"counted {memory.largest / MiB:.1f} MiB"


async def test_memory_samples_see_a_put_that_buffers_the_object(
    s3_server: RunningServer, s3_bucket: str, prefix: str
) -> None:
    """The measure above catches buffering: with a part larger than the object, the S3 back end
    must hold all of it before its one PUT, and the samples show that."""
    store = open_storage(s3_settings(s3_server, s3_bucket, s3_part_size=32 * MiB))
    try:
        memory = await _measured_put(store, prefix + "buffered.mp4", 12, hashlib.sha256())
    finally:
        await store.close()
    assert memory.largest >= 11 * MiB, f"saw {memory.largest / MiB:.1f} MiB"


async def test_ranged_reads(storage: Storage, prefix: str) -> None:
    key = prefix + "ranged.bin"
    data = payload(3 * MiB + 123, seed=7)
    size = len(data)
    await storage.put(key, data)
    cases = [
        (0, 10),  # first bytes
        (1000, 2_000_000),  # middle, across many chunks
        (size - 1, size),  # last byte
        (0, None),  # whole
        (size - 1, None),  # last byte, open-ended
        (size - 5, size + 100),  # past the end: cut short
        (5, 5),  # empty range
        (size, None),  # start at the end: nothing
        (size + 10, size + 20),  # start past the end: nothing
    ]
    for start, end in cases:
        got = []
        stream = await storage.open(key, start=start, end=end, chunk_size=64 * 1024)
        async for chunk in stream:
            assert 0 < len(chunk) <= 64 * 1024
            got.append(chunk)
        assert b"".join(got) == data[start:end], (start, end)


async def test_bad_ranges_are_rejected(storage: Storage, prefix: str) -> None:
    key = prefix + "r.bin"
    await storage.put(key, b"0123456789")
    with pytest.raises(ValueError):
        await storage.open(key, start=-1)
    with pytest.raises(ValueError):
        await storage.open(key, start=5, end=4)
    with pytest.raises(ValueError):
        await storage.open(key, chunk_size=0)


async def test_stream_closed_early_then_reread(storage: Storage, prefix: str) -> None:
    key = prefix + "partial.bin"
    data = payload(2 * MiB, seed=3)
    await storage.put(key, data)
    stream = await storage.open(key, chunk_size=64 * 1024)
    first = await anext(stream)
    await stream.aclose()
    await stream.aclose()  # idempotent
    assert first == data[: 64 * 1024]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert await storage.get_bytes(key) == data  # the connection pool/file handles still work


async def test_head_size_and_etag(storage: Storage, prefix: str) -> None:
    key = prefix + "h.png"
    before = datetime.now(UTC) - timedelta(seconds=5)
    first = await storage.put(key, b"first version")
    head = await storage.head(key)
    assert head.key == key
    assert head.size == len(b"first version")
    assert head.etag and head.etag == first.etag
    assert head.modified is not None and head.modified.tzinfo is not None
    assert before <= head.modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert head.content_type == "image/png"
    await storage.put(key, b"second, longer version")
    second = await storage.head(key)
    assert second.size == len(b"second, longer version")
    assert second.etag and second.etag != head.etag


async def test_exists_and_idempotent_delete(storage: Storage, prefix: str) -> None:
    key = prefix + "d/x.txt"
    assert not await storage.exists(key)
    await storage.put(key, b"x")
    assert await storage.exists(key)
    await storage.delete(key)
    assert not await storage.exists(key)
    await storage.delete(key)  # missing is fine
    await storage.delete(prefix + "never/was/there.txt")
    with pytest.raises(NotFound):
        await storage.head(key)


async def test_move(storage: Storage, prefix: str) -> None:
    src, dst = prefix + "upload/a.jpg", prefix + "library/2024/05/a.jpg"
    data = payload(100_000, seed=1)
    await storage.put(src, data, content_type="image/jpeg")
    info = await storage.move(src, dst)
    assert (info.key, info.size, info.content_type) == (dst, len(data), "image/jpeg")
    assert not await storage.exists(src)
    assert await storage.get_bytes(dst) == data
    # Moving onto an existing object replaces it; moving onto itself is a no-op.
    await storage.put(src, b"newer")
    await storage.move(src, dst)
    assert await storage.get_bytes(dst) == b"newer"
    assert (await storage.move(dst, dst)).size == 5
    with pytest.raises(NotFound):
        await storage.move(prefix + "missing.jpg", dst)
    assert await storage.get_bytes(dst) == b"newer"


async def test_missing_objects_raise_not_found(
    storage: Storage, prefix: str, tmp_path: Path
) -> None:
    key = prefix + "nope.jpg"
    with pytest.raises(NotFound) as caught:
        await storage.head(key)
    assert isinstance(caught.value, KeyError) and caught.value.key == key
    assert str(caught.value) == f"no object at key {key!r}"
    with pytest.raises(NotFound):
        await storage.get_bytes(key)
    with pytest.raises(NotFound):
        await storage.open(key)  # raised on open, before iterating
    with pytest.raises(NotFound):
        await storage.open(key, start=3, end=3)
    with pytest.raises(NotFound):
        await storage.download_to(key, tmp_path / "out.jpg")
    assert os.listdir(tmp_path) == []


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape.jpg",
    "a/../../b.jpg",
    "a/..",
    "./a.jpg",
    "a/./b.jpg",
    "a//b.jpg",
    "a/",
    "a\\b.jpg",
    "C:\\x.jpg",
    "a/\x00b.jpg",
    "a/b\nc.jpg",
    ".x.jpg.tmp-" + "0" * 32,
    "a/" + "x" * 201,
    "/".join(["abcdefghij"] * 100),  # > 1024 bytes
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_rejected(storage: Storage, key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await storage.put(key, b"x")
    with pytest.raises(ValueError):
        await storage.get_bytes(key)
    with pytest.raises(ValueError):
        await storage.open(key)
    with pytest.raises(ValueError):
        await storage.head(key)
    with pytest.raises(ValueError):
        await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    with pytest.raises(ValueError):
        await storage.move("fine.jpg", key)
    with pytest.raises(ValueError):
        await storage.download_to(key, tmp_path / "x")
    with pytest.raises(ValueError):
        await storage.presigned_get_url(key, timedelta(minutes=1))
    with pytest.raises(ValueError):
        storage.local_path(key)


async def test_unusual_but_valid_keys(storage: Storage, prefix: str) -> None:
    for name in ("ünïcødé/ファイル.jpg", "with space/a b (1).jpg", "a+b=c&d?.jpg", "..a/b..c"):
        key = prefix + name
        await storage.put(key, name.encode())
        assert await storage.get_bytes(key) == name.encode()
        assert (await storage.head(key)).key == key


async def test_download_to(storage: Storage, prefix: str, tmp_path: Path) -> None:
    key = prefix + "orig.heic"
    data = payload(3 * MiB + 5, seed=9)
    await storage.put(key, data)
    target = tmp_path / "work" / "orig.heic"
    await storage.download_to(key, target)  # creates the parent directory
    assert target.read_bytes() == data
    await storage.put(key, b"replaced")
    await storage.download_to(key, target)  # replaces the file
    assert target.read_bytes() == b"replaced"
    assert os.listdir(target.parent) == ["orig.heic"]  # no temporary file left


async def test_list_objects(storage: Storage, prefix: str) -> None:
    keys = {prefix + "u1/ab/one.jpg", prefix + "u1/ab/two.jpg", prefix + "u1/cd/three.jpg"}
    for key in keys:
        await storage.put(key, key.encode())
    await storage.put(prefix + "u2/other.jpg", b"x")
    listed = {info.key: info async for info in storage.list_objects(prefix + "u1/")}
    assert set(listed) == keys
    assert all(info.size == len(key.encode()) for key, info in listed.items())
    partial = {info.key async for info in storage.list_objects(prefix + "u1/a")}
    assert partial == {prefix + "u1/ab/one.jpg", prefix + "u1/ab/two.jpg"}
    assert [i async for i in storage.list_objects(prefix + "nothing/")] == []
    with pytest.raises(ValueError):
        [i async for i in storage.list_objects("../")]


@pytest.mark.parametrize("previous", [None, b"the old version"])
async def test_interrupted_streamed_put_leaves_key_as_it_was(
    storage: Storage, prefix: str, previous: bytes | None
) -> None:
    """A source failing after 7 MiB (past the first 5 MiB S3 part) changes nothing at the key."""
    key = prefix + "ab/cd/interrupted.mp4"
    if previous is not None:
        await storage.put(key, previous)
    with pytest.raises(Interrupted):
        await storage.put(key, chunks(20, fail_after=7))
    if previous is None:
        assert not await storage.exists(key)
    else:
        assert await storage.get_bytes(key) == previous
    if isinstance(storage, FilesystemStorage):
        assert leftovers(storage, key) == []
    else:
        assert await incomplete_uploads(storage, key) == []


async def test_cancelled_streamed_put_leaves_nothing(storage: Storage, prefix: str) -> None:
    key = prefix + "cancelled.mp4"
    sent = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        for i in range(6):
            yield payload(MiB, seed=i)
        sent.set()
        await asyncio.Event().wait()  # never set: the client went away
        yield b""  # pragma: no cover

    task = asyncio.create_task(storage.put(key, stalls()))
    await asyncio.wait_for(sent.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await storage.exists(key)
    if isinstance(storage, FilesystemStorage):
        assert leftovers(storage, key) == []
    else:
        assert await incomplete_uploads(storage, key) == []


async def test_readers_never_see_a_half_written_object(storage: Storage, prefix: str) -> None:
    """While a 7 MiB streamed replacement is halfway, readers get the whole old object."""
    key = prefix + "atomic.jpg"
    old = payload(1000, seed=42)
    await storage.put(key, old)
    halfway, resume = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        for i in range(7):
            if i == 6:
                halfway.set()
                await resume.wait()
            yield payload(MiB, seed=i)

    task = asyncio.create_task(storage.put(key, slow()))
    await asyncio.wait_for(halfway.wait(), 10)
    assert await storage.get_bytes(key) == old
    assert (await storage.head(key)).size == len(old)
    assert [i.key async for i in storage.list_objects(prefix)] == [key]
    resume.set()
    info = await task
    assert info.size == 7 * MiB
    assert (await storage.head(key)).size == 7 * MiB


async def test_local_path_and_presigned_urls_by_backend(storage: Storage, prefix: str) -> None:
    key = prefix + "p.jpg"
    await storage.put(key, b"pixels")
    path = storage.local_path(key)
    url = await storage.presigned_get_url(key, timedelta(minutes=5))
    if isinstance(storage, FilesystemStorage):
        assert path is not None and path.read_bytes() == b"pixels"
        assert path == storage.root / key
        assert url is None
        assert await storage.presigned_put_url(key, timedelta(minutes=5)) is None
    else:
        assert path is None
        assert url is not None and url.startswith("http")


async def test_temp_name_is_recognised() -> None:
    name = temp_name("photo.jpg")
    assert name.startswith(".photo.jpg.tmp-") and is_temp_name(name)
    assert not is_temp_name("photo.jpg") and not is_temp_name(".photo.jpg.tmp-xyz")


async def test_sweep_deletes_only_stale_objects_under_the_prefix(
    storage: Storage, prefix: str
) -> None:
    stale = await storage.put(f"{prefix}staging/u1/stale", b"left by a lost request")
    assert stale.modified is not None
    # Wait (on the store's own clock: S3 keeps whole seconds) until an object put now is
    # clearly newer than the stale one; then sweep at the midpoint between the two.
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        fresh = await storage.put(f"{prefix}staging/u1/fresh", b"an upload in progress")
        assert fresh.modified is not None
        if fresh.modified - stale.modified >= timedelta(seconds=2):
            break
        assert asyncio.get_running_loop().time() < deadline, "the store's clock does not move"
        await asyncio.sleep(0.5)
    kept_elsewhere = await storage.put(f"{prefix}upload/u1/old.jpg", b"an original")
    midpoint = stale.modified + (fresh.modified - stale.modified) / 2
    older_than = datetime.now(UTC) - midpoint
    assert await storage.sweep(f"{prefix}staging/", older_than) == 1
    keys = sorted([i.key async for i in storage.list_objects(prefix)])
    assert keys == sorted([fresh.key, kept_elsewhere.key])


async def test_sweep_temp_removes_only_stale_leftovers_of_interrupted_puts(
    storage: Storage, prefix: str
) -> None:
    key = f"{prefix}staging/u1/crashed"

    async def left() -> int:
        if isinstance(storage, S3Storage):
            return len(await incomplete_uploads(storage, key))
        return len(leftovers(storage, key))

    # What a put whose process died leaves: an upload never completed, a temporary file.
    if isinstance(storage, S3Storage):
        # CreateMultipartUpload, signed as the sweep signs its requests
        await asyncio.to_thread(storage._signed_request, "POST", key, {"uploads": ""})
    else:
        path = storage.local_path(key)
        assert path is not None
        path.parent.mkdir(parents=True)
        (path.parent / temp_name(path.name)).write_bytes(b"half")
    assert await left() == 1
    assert await storage.sweep_temp(timedelta(hours=1)) == 0  # may be in progress: kept
    assert await left() == 1
    assert await storage.sweep_temp(timedelta(0)) >= 1
    assert await left() == 0


def test_the_filesystem_back_end_never_imports_the_s3_client(tmp_path: Path) -> None:
    """Every service imports darkroom_storage at start; the minio client (~0.5 s of start-up
    CPU) is imported only when the S3 back end is opened."""
    code = (
        "import sys\n"
        "from darkroom_storage import StorageSettings, open_storage\n"
        f"open_storage(StorageSettings(backend='filesystem', root={str(tmp_path)!r}))\n"
        "assert 'minio' not in sys.modules, 'minio imported'\n"
        "from darkroom_storage import S3Storage\n"
        "assert 'minio' in sys.modules and S3Storage.__name__ == 'S3Storage'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
