"""Bad input gets a clear error and loses nothing: empty uploads are rejected, a decompression
bomb ends as a failed asset with a readable reason, and the pipeline keeps working."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import pyvips

from .conftest import User, upload
from .test_pipeline import wait_for_thumbnails


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A 100-byte PNG whose header claims width x height RGB pixels (3.6 gigapixels)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _failed_jobs(admin: User, asset_id: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for queue in ("metadataExtraction", "thumbnailGeneration"):
            for job in admin.client.get(f"/api/queues/{queue}/jobs").json():
                if job["data"]["id"] == asset_id:
                    return job
        time.sleep(0.3)
    return {}


def test_zero_byte_upload_is_rejected(admin: User) -> None:
    r = upload(admin, Path("empty.jpg"), data=b"")
    assert r.status_code == 400
    assert "empty" in r.json()["message"].lower()


def test_decompression_bomb_fails_cleanly_and_pipeline_goes_on(admin: User) -> None:
    r = upload(admin, Path("bomb.png"), data=png_bomb())
    assert r.status_code == 201, r.text
    bomb_id = r.json()["id"]
    job = _failed_jobs(admin, bomb_id)
    assert job, "the decompression bomb was not reported as a failed job"
    reason = str(job["data"]["error"]).lower()  # type: ignore[index]
    assert "pixel" in reason or "large" in reason, reason
    assert admin.client.get(f"/api/assets/{bomb_id}/thumbnail").status_code == 404
    fine = pyvips.Image.xyz(80, 60).extract_band(0).cast("uchar").pngsave_buffer()
    ok = upload(admin, Path("fine.png"), data=fine)
    assert ok.status_code == 201
    assert wait_for_thumbnails(admin, [ok.json()["id"]], timeout=30)
