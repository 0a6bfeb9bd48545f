"""Upload -> processed asset, end to end over HTTP against the running embedded stack.

What issue 2 must show: real JPEG/HEIC/PNG/video uploads reach "thumbnail generated" with EXIF
within 60 s for 20 photos; re-upload is a duplicate; kill -9 of the thumbnail service loses no
job; a corrupt JPEG ends failed with a readable reason while the next upload is processed; and
another user can see none of it.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import time
from pathlib import Path

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload

SAMPLES = samples_dir()
needs_samples = pytest.mark.skipif(
    SAMPLES is None,
    reason="sample media not found: set DARKROOM_SAMPLES or place ../shared/samples",
)


def sample_photos(n: int = 20) -> list[tuple[Path, dict[str, str]]]:
    """n real photos: HEICs, the PNG and WebP, then JPEGs with GPS first (exif_summary.csv)."""
    assert SAMPLES is not None
    photos = SAMPLES / "photos"
    rows = list(csv.DictReader((photos / "exif_summary.csv").open()))
    ok = [r for r in rows if r["decodes"] == "1" and int(r["bytes"]) < 8_000_000]

    def pick(pred, k):  # type: ignore[no-untyped-def]
        return [r for r in ok if pred(r)][:k]

    chosen = (
        pick(lambda r: r["format"] == "HEIF", 4)
        + pick(lambda r: r["format"] == "PNG", 1)
        + pick(lambda r: r["format"] == "WEBP", 1)
    )
    gps = pick(
        lambda r: (
            r["format"] == "JPEG"
            and r["gps_lat"] not in ("", "nan")
            and abs(float(r["gps_lat"])) <= 90
            and float(r["gps_lat"]) != 0
        ),
        8,
    )
    chosen += gps
    rest = [r for r in ok if r["format"] == "JPEG" and r not in chosen]
    chosen += rest[: n - len(chosen)]
    return [(photos / r["file"], r) for r in chosen[:n]]


def wait_for_thumbnails(user: User, ids: list[str], timeout: float) -> dict[str, float]:
    """Poll GET /api/assets/{id}/thumbnail until every asset has one; seconds to each."""
    start = time.monotonic()
    done: dict[str, float] = {}
    while time.monotonic() - start < timeout and len(done) < len(ids):
        for asset_id in ids:
            if asset_id not in done:
                r = user.client.get(f"/api/assets/{asset_id}/thumbnail")
                if r.status_code == 200:
                    done[asset_id] = time.monotonic() - start
        time.sleep(0.25)
    return done


def short_side(data: bytes) -> int:
    image = pyvips.Image.new_from_buffer(data, "")
    return min(image.width, image.height)


def job_status(stack: Stack, asset_id: str) -> dict[str, object]:
    """asset_job_status of one asset, read from the database."""
    import asyncpg

    async def read() -> dict[str, object]:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            row = await conn.fetchrow(
                "SELECT * FROM asset_job_status WHERE asset_id = $1::uuid", asset_id
            )
            return dict(row) if row else {}
        finally:
            await conn.close()

    return asyncio.run(read())


def thumbnails_done(stack: Stack, ids: list[str]) -> int:
    """How many of these assets have their thumbnail step done (one query)."""
    import asyncpg

    async def read() -> int:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM asset_job_status WHERE asset_id = ANY($1::uuid[]) "
                    "AND thumbnail_at IS NOT NULL",
                    ids,
                )
            )
        finally:
            await conn.close()

    return asyncio.run(read())


def test_server_basics(stack: Stack) -> None:
    c = httpx.Client(base_url=stack.url)
    assert c.get("/api/server/ping").json() == {"res": "pong"}
    assert c.get("/api/server/version").json()["major"] == 3
    types = c.get("/api/server/media-types").json()
    assert ".jpg" in types["image"] and ".heic" in types["image"] and ".mov" in types["video"]
    assert types["sidecar"] == [".xmp"]
    r = c.get("/api/users/me")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"message": "Authentication required"}
    assert c.get("/.well-known/immich").json() == {"api": {"endpoint": "/api"}}


def test_admin_sign_up_only_once_and_login(stack: Stack, admin: User) -> None:
    c = httpx.Client(base_url=stack.url)
    again = c.post(
        "/api/auth/admin-sign-up",
        json={"email": "second@darkroom.test", "password": "x", "name": "X"},
    )
    assert again.status_code == 400
    bad = c.post("/api/auth/login", json={"email": admin.email, "password": "wrong"})
    assert bad.status_code == 401
    me = admin.client.get("/api/users/me").json()
    assert me["email"] == admin.email and me["isAdmin"] is True
    mine = admin.client.get("/api/api-keys/me").json()
    assert mine["permissions"] == ["all"]


def test_api_key_permissions_are_enforced(admin: User) -> None:
    r = admin.client.post("/api/api-keys", json={"name": "read", "permissions": ["asset.read"]})
    assert r.status_code == 201
    limited = httpx.Client(
        base_url=str(admin.client.base_url), headers={"x-api-key": r.json()["secret"]}
    )
    assert limited.get("/api/users/me").status_code == 403  # needs user.read
    up = limited.post(
        "/api/assets",
        files={"assetData": ("a.jpg", b"x")},
        data={"fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z"},
    )
    assert up.status_code == 403


@needs_samples
def test_real_photos_and_videos_are_processed(stack: Stack, admin: User, other_user: User) -> None:
    owner = make_user(stack, admin)  # a library of its own, whatever ran before
    photos = sample_photos(20)
    assert len(photos) == 20
    videos = [
        SAMPLES / "videos/metadata-extractor-images/mov" / "with-gps.mov",  # type: ignore[operator]
        SAMPLES / "videos/metadata-extractor-images/mp4" / "with-gps.mp4",
    ]  # type: ignore[operator]
    videos = [v for v in videos if v.exists()]
    started = time.monotonic()
    ids: dict[str, tuple[Path, dict[str, str]]] = {}
    for path, row in photos:
        r = upload(owner, path)
        assert r.status_code == 201, (path, r.text)
        assert r.json()["status"] == "created"
        ids[r.json()["id"]] = (path, row)
    photo_ids = list(ids)
    done = wait_for_thumbnails(owner, photo_ids, timeout=60 - (time.monotonic() - started))
    missing = [ids[i][0].name for i in photo_ids if i not in done]
    assert not missing, f"no thumbnail within 60 s for {missing}"

    for asset_id, (path, row) in ids.items():
        info = owner.client.get(f"/api/assets/{asset_id}").json()
        assert info["originalFileName"] == path.name
        assert info["hasMetadata"] is True
        assert info["checksum"]
        exif = info["exifInfo"]
        if row["datetime_original"]:
            assert exif["dateTimeOriginal"], path
            assert exif["dateTimeOriginal"][:4] == row["datetime_original"][:4], path
        if row["gps_lat"] not in ("", "nan") and 0 < abs(float(row["gps_lat"])) <= 90:
            assert exif["latitude"] == pytest.approx(float(row["gps_lat"]), abs=1e-3), path
            assert exif["longitude"] == pytest.approx(float(row["gps_lon"]), abs=1e-3), path
            assert exif["country"], path
        thumb = owner.client.get(f"/api/assets/{asset_id}/thumbnail?size=thumbnail")
        assert thumb.headers["content-type"] == "image/webp"
        assert thumb.content[8:12] == b"WEBP"
        side = min(int(row["width"]), int(row["height"]))
        assert short_side(thumb.content) == min(250, side), path
        preview = owner.client.get(f"/api/assets/{asset_id}/thumbnail?size=preview")
        assert preview.headers["content-type"] == "image/jpeg"
        assert preview.content[:3] == b"\xff\xd8\xff"
        assert short_side(preview.content) == min(1440, side), path

    # videos: poster frame thumbnails and video metadata
    for video in videos:
        r = upload(owner, video)
        assert r.status_code == 201, r.text
        vid = r.json()["id"]
        assert wait_for_thumbnails(owner, [vid], timeout=60), video
        info = owner.client.get(f"/api/assets/{vid}").json()
        assert info["type"] == "VIDEO"
        assert info["duration"] and info["duration"] > 0
        assert info["exifInfo"]["latitude"] is not None

    # re-upload: duplicate, by content and by the x-immich-checksum short-cut
    first_id, (first_path, _) = next(iter(ids.items()))
    again = upload(owner, first_path)
    assert again.status_code == 200 and again.json() == {"id": first_id, "status": "duplicate"}
    sha1 = hashlib.sha1(first_path.read_bytes()).hexdigest()
    short = owner.client.post(
        "/api/assets",
        headers={"x-immich-checksum": sha1},
        files={"assetData": ("x.jpg", b"")},
        data={"fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z"},
    )
    assert short.status_code == 200 and short.json()["id"] == first_id
    check = owner.client.post(
        "/api/assets/bulk-upload-check",
        json={"assets": [{"id": "a", "checksum": sha1}, {"id": "b", "checksum": "0" * 40}]},
    ).json()["results"]
    assert check[0] == {
        "id": "a",
        "action": "reject",
        "reason": "duplicate",
        "assetId": first_id,
        "isTrashed": False,
    }
    assert check[1] == {"id": "b", "action": "accept"}

    # the original comes back byte for byte, with Range and ETag
    original = owner.client.get(f"/api/assets/{first_id}/original")
    assert original.status_code == 200 and original.content == first_path.read_bytes()
    part = owner.client.get(f"/api/assets/{first_id}/original", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == first_path.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{first_path.stat().st_size}"
    etag = original.headers["etag"]
    assert (
        owner.client.get(
            f"/api/assets/{first_id}/original", headers={"If-None-Match": etag}
        ).status_code
        == 304
    )

    # another user sees none of it, and may upload the same file as their own
    for url in (
        f"/api/assets/{first_id}",
        f"/api/assets/{first_id}/original",
        f"/api/assets/{first_id}/thumbnail",
        f"/api/assets/{first_id}/thumbnail?size=preview",
    ):
        r = other_user.client.get(url)
        assert r.status_code == 400, url
        assert r.json()["message"].startswith("Not found or no asset."), r.text
    theirs = other_user.client.post(
        "/api/assets/bulk-upload-check", json={"assets": [{"id": "a", "checksum": sha1}]}
    ).json()["results"]
    assert theirs == [{"id": "a", "action": "accept"}]


def _storage_files(stack: Stack, prefix: str) -> list[Path]:
    root = stack.config.data_dir / "storage" / prefix
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_unsupported_and_truncated_uploads_leave_nothing(stack: Stack, admin: User) -> None:
    before = len(_storage_files(stack, f"upload/{admin.id}"))
    r = upload(admin, Path("notes.txt"), data=b"just some text, not a photo\n" * 100)
    assert r.status_code == 400
    assert (
        "not supported" in r.json()["message"].lower()
        or "unsupported" in r.json()["message"].lower()
    )
    boundary = "darkroomboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="fileCreatedAt"\r\n\r\n'
            f"2020-01-01T00:00:00Z\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="assetData"; filename="cut.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + b"\xff\xd8\xff\xe0"
        + b"\0" * 50_000
    )  # no closing boundary
    cut = admin.client.post(
        "/api/assets",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert cut.status_code == 400
    assert _storage_files(stack, "staging") == []
    assert len(_storage_files(stack, f"upload/{admin.id}")) == before


@needs_samples
def test_corrupt_jpeg_fails_with_reason_and_next_upload_works(stack: Stack, admin: User) -> None:
    good = SAMPLES / "photos/ianare_exif-samples/jpg/gps/DSCN0029.jpg"  # type: ignore[operator]
    data = good.read_bytes()
    corrupt = data[:4096] + hashlib.sha256(b"noise").digest() * 2000  # JPEG header, garbage body
    r = upload(admin, Path("corrupt.jpg"), data=corrupt)
    assert r.status_code == 201, r.text
    bad_id = r.json()["id"]
    deadline = time.monotonic() + 30
    failed: dict[str, object] = {}
    while time.monotonic() < deadline and not failed:
        for queue in ("metadataExtraction", "thumbnailGeneration"):
            jobs = admin.client.get(f"/api/queues/{queue}/jobs", params={"status": "failed"})
            assert jobs.status_code == 200, jobs.text
            failed.update({job["data"]["id"]: job for job in jobs.json()})
        failed = {k: v for k, v in failed.items() if k == bad_id}
        time.sleep(0.3)
    assert bad_id in failed, "the corrupt JPEG was not reported as a failed job"
    reason = str(failed[bad_id]["data"]["error"])  # type: ignore[index]
    assert reason and "Traceback" not in reason and len(reason) < 500, reason
    assert job_status(stack, bad_id)["failed_reason"] == reason
    queues = {q["name"]: q for q in admin.client.get("/api/queues").json()}
    assert (
        queues["thumbnailGeneration"]["statistics"]["failed"]
        + queues["metadataExtraction"]["statistics"]["failed"]
        >= 1
    )
    ok = upload(admin, good)
    assert ok.status_code in (200, 201)
    assert wait_for_thumbnails(admin, [ok.json()["id"]], timeout=30)
    queues = {q["name"]: q for q in admin.client.get("/api/queues").json()}
    assert queues["thumbnailGeneration"]["statistics"]["completed"] >= 1


@needs_samples
def test_kill_9_thumbnail_service_loses_no_job(stack: Stack, other_user: User) -> None:
    photos = [p for p, _ in sample_photos(20)]
    stack.hold("thumbnail")
    ids = []
    for path in photos:
        r = upload(other_user, path)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # ceilings, not expectations: a loaded 2-core machine can be many times slower than idle
    wait_for_status = time.monotonic() + 300
    for asset_id in ids:  # metadata done for all, so thumbnail jobs are queued
        while not job_status(stack, asset_id).get("metadata_extracted_at"):
            assert time.monotonic() < wait_for_status
            time.sleep(0.1)
    thumbnail = stack.spawn("thumbnail")
    done_at_kill = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and thumbnail.poll() is None:
        done_at_kill = thumbnails_done(stack, ids)
        if done_at_kill >= 1:
            break
        time.sleep(0.01)
    stack.kill("thumbnail")  # SIGKILL mid-batch; the supervisor starts it again
    assert 1 <= done_at_kill < len(ids), "the kill did not land during the batch"
    done = wait_for_thumbnails(other_user, ids, timeout=300)
    assert len(done) == len(ids)


def test_jobs_admin_is_for_admins_only(admin: User, other_user: User) -> None:
    assert other_user.client.get("/api/queues").status_code == 403
    assert other_user.client.get("/api/queues/thumbnailGeneration/jobs").status_code == 403
    assert admin.client.get("/api/queues/nonsense").status_code == 400  # QueueName validation
    names = [q["name"] for q in admin.client.get("/api/queues").json()]
    assert "metadataExtraction" in names and "thumbnailGeneration" in names
