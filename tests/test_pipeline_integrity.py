"""The pipeline keeps going, tells the truth and leaves nothing behind (issue items 6, 10, 11).

End to end over HTTP against the embedded stack (real NATS, PostgreSQL, filesystem storage and
service processes): a JPEG with a corrupt EXIF block still gets its thumbnail and falls back to
the upload's file dates; an SVG is refused at upload; stored failure reasons hold no server
path; ``/api/server/features`` reports what the services said they can do; a force delete of a
live photo removes both halves and every file; a job racing a delete leaves no file and no dead
letter.
"""

from __future__ import annotations

import asyncio
import struct
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import asyncpg
import av
import numpy as np
import pytest
import pyvips
from darkroom_bus import Bus
from darkroom_events import AssetMetadataExtracted
from darkroom_stack.supervisor import Stack

from .conftest import (
    User,
    db_rows,
    make_user,
    running_stack,
    save_config,
    stored_files,
    upload,
)

#: Generous ceilings for work a busy 2-core machine makes slow; every wait polls for progress.
PROCESSING_S = 180.0


def _poll(check, timeout: float = PROCESSING_S, every: float = 0.3):  # type: ignore[no-untyped-def]
    """Call ``check()`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def _jpeg(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (120, 30, 200)
) -> bytes:
    return (pyvips.Image.black(width, height, bands=3) + list(colour)).jpegsave_buffer(
        Q=85, strip=True
    )


def _corrupt_exif_jpeg() -> bytes:
    """A JPEG whose pixels decode but whose APP1 says ``Exif`` and then is not a TIFF header."""
    jpeg = _jpeg(colour=(10, 200, 90))
    junk = b"Exif\x00\x00" + b"this is not a TIFF header at all" * 4
    app1 = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    return jpeg[:2] + app1 + jpeg[2:]


def _post(user: User, name: str, data: bytes, when: str = "2019-05-06T07:08:09.000Z", **fields):  # type: ignore[no-untyped-def]
    return user.client.post(
        "/api/assets",
        files={"assetData": (name, data, "application/octet-stream")},
        data={
            "deviceAssetId": f"{name}-{uuid.uuid4().hex}",
            "deviceId": "pytest",
            "fileCreatedAt": when,
            "fileModifiedAt": when,
            **fields,
        },
    )


def _has_thumbnail(user: User, asset_id: str) -> bool:
    return user.client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 200


def _failed_jobs(user: User, queue: str, asset_id: str) -> list[dict]:  # type: ignore[type-arg]
    r = user.client.get(f"/api/queues/{queue}/jobs", params={"status": "failed"})
    assert r.status_code == 200, r.text
    return [job for job in r.json() if job["data"]["id"] == asset_id]


def _dead_letters_about(stack: Stack, asset_id: str) -> int:
    rows = db_rows(
        stack,
        "SELECT count(*) AS n FROM job_failures WHERE asset_id = $1::uuid "
        "OR position(convert_to($2::text, 'UTF8') in payload) > 0",
        asset_id,
        asset_id,
    )
    return int(rows[0]["n"])


# --- item 6: a metadata failure does not stop the pipeline ------------------------------------


def test_corrupt_exif_jpeg_gets_thumbnail_file_dates_and_a_recorded_reason(
    stack: Stack, admin: User
) -> None:
    r = _post(admin, "broken-exif.jpg", _corrupt_exif_jpeg(), when="2019-05-06T07:08:09.000Z")
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert _poll(lambda: _has_thumbnail(admin, asset_id)), "no thumbnail for a decodable JPEG"
    info = admin.client.get(f"/api/assets/{asset_id}").json()
    expected = datetime.fromisoformat("2019-05-06T07:08:09+00:00")
    assert datetime.fromisoformat(info["fileCreatedAt"].replace("Z", "+00:00")) == expected
    assert (
        datetime.fromisoformat(info["exifInfo"]["dateTimeOriginal"].replace("Z", "+00:00"))
        == expected
    )
    assert (info["exifInfo"]["exifImageWidth"], info["exifInfo"]["exifImageHeight"]) == (64, 48)
    jobs = _poll(lambda: _failed_jobs(admin, "metadataExtraction", asset_id), timeout=30)
    assert jobs, "the unreadable EXIF was not recorded"
    reason = str(jobs[0]["data"]["error"])
    # ExifTool's own words ("Malformed APP1 EXIF segment"): the reason names the EXIF segment
    assert "EXIF" in reason and ("Malformed" in reason or "TIFF" in reason), reason
    assert str(stack.config.data_dir.resolve()) not in reason and " /" not in reason, reason
    status = db_rows(stack, "SELECT * FROM asset_job_status WHERE asset_id = $1::uuid", asset_id)[0]
    assert status["metadata_extracted_at"] is not None and status["thumbnail_at"] is not None
    assert status["failed_step"] is None  # worked around: the asset is not failed


def test_svg_upload_is_refused_and_nothing_is_kept(stack: Stack, admin: User) -> None:
    root = stack.config.data_dir / "storage"
    before = {p for p in root.rglob("*") if p.is_file()}
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink" width="8" height="8">'
        b'<image xlink:href="file:///etc/passwd" width="8" height="8"/></svg>\n'
    )
    r = _post(admin, "drawing.svg", svg)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"message"} and "SVG" in body["message"], body
    assert ".svg" not in admin.client.get("/api/server/media-types").json()["image"]
    staged = {p for p in root.rglob("*") if p.is_file()} - before
    assert not [p for p in staged if "staging" in p.parts or p.suffix == ".svg"], staged


def test_stored_failure_reason_has_no_server_path(stack: Stack, admin: User) -> None:
    # An MP4 whose boxes are whole but which has no movie header: FFmpeg names the file it
    # could not open ("Invalid data found when processing input: '/srv/.../x.mp4'").
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    junk = b"\x13\x37" * 2000
    data = ftyp + struct.pack(">I", 8 + len(junk)) + b"free" + junk
    r = _post(admin, "no-moov.mp4", data)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    jobs = _poll(lambda: _failed_jobs(admin, "metadataExtraction", asset_id))
    assert jobs, "the unreadable video was not reported as failed"
    reason = str(jobs[0]["data"]["error"])
    data_dir = str(stack.config.data_dir.resolve())
    assert "Invalid data" in reason, reason
    for text in (
        reason,
        str(
            db_rows(
                stack,
                "SELECT failed_reason FROM asset_job_status WHERE asset_id = $1::uuid",
                asset_id,
            )[0]["failed_reason"]
        ),
    ):
        assert data_dir not in text and "/storage/" not in text and "/upload/" not in text, text
        assert "'/" not in text, text


# --- item 10: truthful capabilities -----------------------------------------------------------


def test_features_report_what_the_services_loaded(stack: Stack, admin: User) -> None:
    def features() -> dict[str, bool]:
        return admin.client.get("/api/server/features").json()  # type: ignore[no-any-return]

    on = _poll(lambda: (f := features())["reverseGeocoding"] and f["ocr"] and f, timeout=120)
    assert on and on["reverseGeocoding"] and on["ocr"], features()


def test_ocr_turned_off_in_the_system_config_reads_no_text(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    """``machineLearning.ocr.enabled`` false (Immich's OCR switch): the embedding service skips
    the OCR job of a text image (its log says so for that asset) and stores no line."""
    from tests.test_ocr import render_text

    log_file = stack.config.data_dir / "logs" / "embedding.log"

    config = admin.client.get("/api/system-config").json()
    off = {**config, "machineLearning": {**config["machineLearning"]}}
    off["machineLearning"]["ocr"] = {**config["machineLearning"]["ocr"], "enabled": False}
    save_config(stack, admin, off, "embedding")
    try:
        path = tmp_path / "parcel.jpg"
        path.write_bytes(render_text("Parcel 42 shipped"))
        r = upload(admin, path)
        assert r.status_code == 201, r.text
        asset_id = r.json()["id"]

        def skipped() -> bool:
            return any(
                '"ocr.skipped"' in line and asset_id in line and "system config" in line
                for line in log_file.read_text(errors="replace").splitlines()
            )

        assert _poll(skipped), "no OCR skip logged for the asset"
        assert admin.client.get(f"/api/assets/{asset_id}/ocr").json() == []
        assert not db_rows(
            stack, "SELECT 1 FROM asset_ocr_status WHERE asset_id = $1", uuid.UUID(asset_id)
        )
    finally:
        save_config(stack, admin, config, "embedding")


@pytest.fixture(scope="module")
def stack_without_extras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A small stack whose metadata service has reverse geocoding off and embedding OCR off."""
    with running_stack(
        tmp_path_factory.mktemp("no-extras"),
        services=("metadata", "embedding", "gateway"),
        env={
            "DARKROOM_REVERSE_GEOCODING": "false",
            "DARKROOM_OCR": "false",
            "DARKROOM_ML_DOWNLOAD": "false",
        },
        timeout=120,
    ) as running:
        yield running


def test_features_say_false_when_the_services_have_them_off(
    stack_without_extras: Stack,
) -> None:
    import httpx

    client = httpx.Client(base_url=stack_without_extras.url, timeout=60)

    logs = stack_without_extras.config.data_dir / "logs"

    def started() -> bool:  # both ran their start-up (model/data loading) and now consume
        return all(
            (logs / f"{name}.log").is_file()
            and "service.started" in (logs / f"{name}.log").read_text(errors="replace")
            for name in ("metadata", "embedding")
        )

    assert _poll(started, timeout=120), "the metadata and embedding services did not start"
    f = client.get("/api/server/features").json()
    assert f["reverseGeocoding"] is False and f["ocr"] is False, f
    assert f["smartSearch"] is False  # no CLIP model here either


# --- item 11: deleting an asset deletes everything it owns; late jobs are no-ops ---------------


def _clip(path: Path) -> bytes:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), 40 + i * 9, dtype=np.uint8), format="rgb24"
            )
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def test_force_delete_of_a_live_photo_removes_both_halves_and_their_files(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    owner = make_user(stack, admin)
    video = _post(owner, "IMG_9.MOV", _clip(tmp_path / "m.mp4"))
    assert video.status_code == 201, video.text
    video_id = video.json()["id"]
    still = _post(owner, "IMG_9.JPG", _jpeg(), livePhotoVideoId=video_id)
    assert still.status_code == 201, still.text
    still_id = still.json()["id"]
    assert _poll(lambda: _has_thumbnail(owner, still_id) and _has_thumbnail(owner, video_id))

    def settled() -> bool:  # the video's transcode step done, so no job of it is in flight
        rows = db_rows(
            stack,
            "SELECT transcoded_at FROM asset_job_status WHERE asset_id = $1::uuid",
            video_id,
        )
        return bool(rows) and rows[0]["transcoded_at"] is not None

    assert _poll(settled)
    assert len(stored_files(stack, still_id, video_id)) >= 4  # 2 originals, previews, thumbnails
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [still_id], "force": True})
    assert r.status_code == 204, r.text
    assert owner.client.get(f"/api/assets/{still_id}").status_code in (400, 404)
    assert owner.client.get(f"/api/assets/{video_id}").status_code in (400, 404)
    ids = [still_id, video_id]
    assert db_rows(stack, "SELECT id FROM assets WHERE id = ANY($1::uuid[])", ids) == []
    owned = ("asset_exif", "asset_files", "asset_job_status", "smart_search", "asset_ocr")
    for table in (*owned, "asset_faces", "job_failures"):  # what the assets owned went too
        assert db_rows(stack, f"SELECT 1 FROM {table} WHERE asset_id = ANY($1::uuid[])", ids) == []
    assert stored_files(stack, still_id, video_id) == []


def test_emptying_the_trash_removes_a_live_photo_s_motion_part(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    owner = make_user(stack, admin)
    video = _post(owner, "IMG_7.MOV", _clip(tmp_path / "m.mp4"))
    assert video.status_code == 201, video.text
    video_id = video.json()["id"]
    still = _post(owner, "IMG_7.JPG", _jpeg(colour=(1, 2, 3)), livePhotoVideoId=video_id)
    assert still.status_code == 201, still.text
    still_id = still.json()["id"]
    assert _poll(lambda: _has_thumbnail(owner, still_id) and _has_thumbnail(owner, video_id))
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [still_id]})
    assert r.status_code == 204, r.text
    emptied = owner.client.post("/api/trash/empty")
    assert emptied.status_code == 200 and emptied.json() == {"count": 1}, emptied.text
    assert owner.client.get(f"/api/assets/{video_id}").status_code in (400, 404)
    rows = db_rows(stack, "SELECT id FROM assets WHERE id = ANY($1::uuid[])", [still_id, video_id])
    assert rows == []
    assert _poll(lambda: stored_files(stack, still_id, video_id) == [], timeout=60), stored_files(
        stack, still_id, video_id
    )


async def _publish_and_wait_handled(stack: Stack, event: AssetMetadataExtracted) -> None:
    """Publish ``event`` (a fresh message id) and wait until the thumbnail consumer acked it."""
    bus = await Bus.connect(stack.env()["DARKROOM_NATS_URL"], name="pytest")
    try:
        ack = await bus.publish(event, msg_id=f"test:{uuid.uuid4()}")
        consumer = "thumbnail_darkroom_asset_metadata_extracted"
        deadline = time.monotonic() + PROCESSING_S
        while time.monotonic() < deadline:
            info = await bus.js.consumer_info(bus.stream_name, consumer)
            if info.ack_floor.stream_seq >= ack.seq:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"the thumbnail service did not settle message {ack.seq}")
    finally:
        await bus.close()


def _extracted(user_id: str, asset_id: str, key: str) -> AssetMetadataExtracted:
    return AssetMetadataExtracted(
        asset_id=asset_id, owner_id=user_id, type="IMAGE", original_key=key, mime_type="image/jpeg"
    )


def _original_key(stack: Stack, asset_id: str) -> tuple[str, str]:
    row = db_rows(
        stack, "SELECT owner_id, original_path FROM assets WHERE id = $1::uuid", asset_id
    )[0]
    return str(row["owner_id"]), str(row["original_path"])


def test_thumbnail_job_for_a_deleted_asset_is_a_quiet_no_op(stack: Stack, admin: User) -> None:
    r = _post(admin, "gone.jpg", _jpeg(colour=(200, 200, 10)))
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert _poll(lambda: _has_thumbnail(admin, asset_id))
    owner_id, key = _original_key(stack, asset_id)
    r = admin.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text
    assert stored_files(stack, asset_id) == []
    asyncio.run(_publish_and_wait_handled(stack, _extracted(owner_id, asset_id, key)))
    assert stored_files(stack, asset_id) == []
    assert _dead_letters_about(stack, asset_id) == 0


def test_thumbnail_job_racing_a_delete_leaves_no_file_and_no_dead_letter(
    stack: Stack, admin: User
) -> None:
    """The job loads the asset, the delete commits while it renders, then it stores its files.

    The delete is held open in a transaction (the same ``DELETE FROM assets`` the gateway runs),
    so the job sees the asset when it starts and meets the delete when it records its files;
    the test waits until the job is blocked on the row, then commits the delete.
    """
    r = _post(admin, "race.jpg", _jpeg(colour=(5, 90, 250)))
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert _poll(lambda: _has_thumbnail(admin, asset_id))
    owner_id, key = _original_key(stack, asset_id)
    for path in stored_files(stack, asset_id):  # only the original stays; the job rewrites these
        if "thumbs" in path.parts:
            path.unlink()
    assert [p for p in stored_files(stack, asset_id) if "thumbs" in p.parts] == []

    async def race() -> None:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("DELETE FROM assets WHERE id = $1::uuid", asset_id)
            bus = await Bus.connect(stack.env()["DARKROOM_NATS_URL"], name="pytest-race")
            try:
                ack = await bus.publish(
                    _extracted(owner_id, asset_id, key), msg_id=f"test:{uuid.uuid4()}"
                )
                deadline = time.monotonic() + PROCESSING_S
                while time.monotonic() < deadline:  # the job waits for our row lock
                    waiting = await stack_waiters(stack)
                    if waiting:
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError("the thumbnail job never reached the asset row")
                await tx.commit()
                consumer = "thumbnail_darkroom_asset_metadata_extracted"
                while time.monotonic() < deadline:
                    info = await bus.js.consumer_info(bus.stream_name, consumer)
                    if info.ack_floor.stream_seq >= ack.seq:
                        return
                    await asyncio.sleep(0.3)
                raise AssertionError("the thumbnail job was never settled")
            finally:
                await bus.close()
        finally:
            await conn.close()

    asyncio.run(race())
    leftovers = [p for p in stored_files(stack, asset_id) if "thumbs" in p.parts]
    assert leftovers == [], f"orphan files after the delete: {leftovers}"
    assert _dead_letters_about(stack, asset_id) == 0


async def stack_waiters(stack: Stack) -> int:
    """Sessions of the stack's database waiting for a row lock (the job behind our delete)."""
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        )
    finally:
        await conn.close()
