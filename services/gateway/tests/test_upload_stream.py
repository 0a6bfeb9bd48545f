"""``stream_upload`` over a real filesystem store: a body of several batches (hashed in a worker
thread while the next is parsed) is stored and hashed exactly, and a body cut off, refused or
failing while batches are in flight leaves nothing in ``staging/``."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from darkroom_gateway.upload import (
    BATCH_BYTES,
    ParsedUpload,
    PayloadTooLarge,
    TruncatedUpload,
    stream_upload,
)
from darkroom_storage import FilesystemStorage

BOUNDARY = "0123456789abcdef0123456789abcdef"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
#: Piece sizes as an ASGI server hands them over (uvloop reads up to ~250 KB), and odd ones.
PIECES = (256_000, 65_536, 1, 250_001, 4096, 1 << 20, 3)


def _video(size: int) -> bytes:
    """``size`` bytes that are not one repeated byte (so a reordered batch changes the hash)."""
    block = hashlib.sha256(b"darkroom").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def _body(data: bytes, *, close: bool = True) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="deviceId"\r\n\r\nphone\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="assetData"; '
        'filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    return head + data + (f"\r\n--{BOUNDARY}--\r\n".encode() if close else b"")


async def _pieces(body: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """``body`` in pieces of the sizes in :data:`PIECES`, in turn; with ``fail_after``, an
    ``OSError`` (a client gone) once that many bytes were sent."""
    sent, turn = 0, 0
    while sent < len(body):
        if fail_after is not None and sent >= fail_after:
            raise OSError("client disconnected")
        size = PIECES[turn % len(PIECES)]
        yield body[sent : sent + size]
        sent, turn = sent + size, turn + 1


def _staged(store: FilesystemStorage) -> list[Path]:
    root = store.root / "staging"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "storage")


async def _upload(store: FilesystemStorage, data: bytes, **options: Any) -> ParsedUpload:
    """Stream a multipart body holding ``data`` as ``assetData`` into ``store``."""
    return await stream_upload(
        _pieces(_body(data)),
        CONTENT_TYPE,
        store,
        files={"assetData": None},
        staging_prefix="staging/u1",
        **options,
    )


async def test_a_body_of_many_batches_is_stored_and_hashed_exactly(
    store: FilesystemStorage,
) -> None:
    data = _video(7 * BATCH_BYTES + 12_345)
    parsed = await _upload(store, data, queue_chunks=2)  # the reader waits for storage at times
    staged = parsed.files["assetData"]
    assert parsed.fields == {"deviceId": "phone"}
    assert staged.sha1 == hashlib.sha1(data).hexdigest()  # noqa: S324 - Immich's checksum
    assert staged.size == len(data)
    assert staged.filename == "clip.mp4"
    assert (store.root / staged.key).read_bytes() == data
    assert _staged(store) == [store.root / staged.key]


@pytest.mark.parametrize("size", [0, 10, BATCH_BYTES - 1, BATCH_BYTES, BATCH_BYTES + 1])
async def test_a_body_of_at_most_a_batch_or_two_is_exact(
    store: FilesystemStorage, size: int
) -> None:
    data = _video(size)
    staged = (await _upload(store, data)).files["assetData"]
    assert staged.sha1 == hashlib.sha1(data).hexdigest()  # noqa: S324 - Immich's checksum
    assert (store.root / staged.key).read_bytes() == data


async def test_a_body_cut_off_after_several_batches_leaves_nothing(
    store: FilesystemStorage,
) -> None:
    with pytest.raises(TruncatedUpload):
        await stream_upload(
            _pieces(_body(_video(5 * BATCH_BYTES), close=False)),
            CONTENT_TYPE,
            store,
            files={"assetData": None},
            staging_prefix="staging/u1",
        )
    assert _staged(store) == []


async def test_a_client_gone_mid_body_leaves_nothing(store: FilesystemStorage) -> None:
    body = _body(_video(6 * BATCH_BYTES))
    with pytest.raises(OSError, match="client disconnected"):
        await stream_upload(
            _pieces(body, fail_after=4 * BATCH_BYTES),
            CONTENT_TYPE,
            store,
            files={"assetData": None},
            staging_prefix="staging/u1",
        )
    assert _staged(store) == []


async def test_a_part_past_its_limit_is_refused_as_it_streams_and_leaves_nothing(
    store: FilesystemStorage,
) -> None:
    limit = 3 * BATCH_BYTES // 2
    with pytest.raises(PayloadTooLarge):
        await stream_upload(
            _pieces(_body(_video(6 * BATCH_BYTES))),
            CONTENT_TYPE,
            store,
            files={"assetData": limit},
            staging_prefix="staging/u1",
        )
    assert _staged(store) == []
