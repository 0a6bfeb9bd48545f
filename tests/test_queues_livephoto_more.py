"""Queue pause/resume for every queue, queue-name validation, and a live photo's video unlinked,
as Immich 3.1 does them, over the HTTP API (and socket.io) of a real stack.

* Any valid queue pauses and resumes (``PUT /api/queues/{name}`` ``{"isPaused"}``, legacy
  ``PUT /api/jobs/{name}`` ``{"command": "pause"|"resume"}``), not only those a Darkroom consumer
  runs: Immich's ``QueueService.update`` / ``runCommandLegacy`` (server/src/services/
  queue.service.ts) pause the BullMQ queue of any QueueName, and ``getByName`` reports
  ``isPaused`` in ``GET /api/queues``, ``GET /api/queues/{name}`` and ``GET /api/jobs``. The one
  exception is ``update`` with ``isPaused: true`` on ``backgroundTask``: 400 ``The BackgroundTask
  queue cannot be paused`` (the legacy ``pause`` command has no such check). The paused state is
  stored in PostgreSQL (``system_metadata``), so it outlives a gateway restart and every replica
  sees it, as BullMQ's paused flag lives in Redis.
* ``start`` of a paused queue is accepted (200) and its job waits, as a job added to a paused
  BullMQ queue waits: it is counted as paused (not waiting) and runs when the queue is resumed
  (``QueueService.start`` only queues a ``...QueueAll``/``DatabaseBackup`` job).
* The ``name`` path parameter is validated against QueueName (``QueueNameParamDto``, server/src/
  dtos/queue.dto.ts, a zod enum): an unknown name is 400 ``Validation failed`` with a zod
  ``invalid_value`` issue (zod 4's message ``Invalid option: expected one of "a"|"b"|...``), on
  every queue route, after the admin check (a non-admin gets 403, as Immich's guard runs first).
* ``PUT /api/assets/{id}`` ``{"livePhotoVideoId": null}`` unlinks the motion video: Immich's
  ``AssetService.update`` calls ``onBeforeUnlink``/``onAfterUnlink`` (server/src/utils/
  asset.util.ts): the video takes the still's visibility and ``AssetShow`` is emitted, whose
  handler (notification.service.ts ``onAssetShow``) queues ``AssetGenerateThumbnails`` with
  ``notify: true``; when that job is done ``JobService.onDone`` sends ``on_upload_success`` (the
  video's AssetResponseDto) and ``AssetUploadReadyV1`` to the owner, so clients put the video
  back on their timeline. The sync stream sends the video's changed row too. Another user cannot
  unlink someone's live photo (400 ``Not found or no asset.update access``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, wait_processed
from tests.test_socketio import connected, sockets  # noqa: F401 - sockets is a fixture

#: Spec QueueName, in its order (the order of zod's message).
QUEUE_NAMES = [
    "thumbnailGeneration",
    "metadataExtraction",
    "videoConversion",
    "faceDetection",
    "facialRecognition",
    "smartSearch",
    "duplicateDetection",
    "backgroundTask",
    "storageTemplateMigration",
    "migration",
    "search",
    "sidecar",
    "library",
    "notifications",
    "backupDatabase",
    "ocr",
    "workflow",
    "integrityCheck",
    "editor",
]
#: Queues no Darkroom consumer runs (some run by other code, some not at all).
NO_CONSUMER = [
    "storageTemplateMigration",
    "facialRecognition",
    "backupDatabase",
    "library",
    "integrityCheck",
    "sidecar",
    "notifications",
    "duplicateDetection",
    "backgroundTask",
    "search",
    "migration",
    "ocr",
    "workflow",
    "editor",
]
IDLE = {"active": 0, "completed": 0, "delayed": 0, "failed": 0, "paused": 0, "waiting": 0}


@pytest.fixture
def unpaused(admin: User) -> Iterator[None]:
    """Every queue this module may pause is resumed afterwards (the stack is shared)."""
    yield
    for name in NO_CONSUMER:
        r = admin.client.put(f"/api/jobs/{name}", json={"command": "resume"})
        assert r.status_code == 200, (name, r.text)


def _queue(admin: User, name: str) -> dict[str, Any]:
    r = admin.client.get(f"/api/queues/{name}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _paused_in_lists(admin: User, name: str) -> tuple[bool, bool]:
    listed = {q["name"]: q for q in admin.client.get("/api/queues").json()}
    legacy = admin.client.get("/api/jobs").json()
    return listed[name]["isPaused"], legacy[name]["queueStatus"]["isPaused"]


def test_every_queue_pauses_and_resumes(admin: User, other_user: User, unpaused: None) -> None:
    for name in NO_CONSUMER:
        if name == "backgroundTask":
            continue
        r = admin.client.put(f"/api/queues/{name}", json={"isPaused": True})
        assert r.status_code == 200, (name, r.text)
        assert r.json() == {"name": name, "isPaused": True, "statistics": IDLE}
        assert _queue(admin, name)["isPaused"] is True
        assert _paused_in_lists(admin, name) == (True, True), name
        r = admin.client.put(f"/api/queues/{name}", json={"isPaused": False})
        assert r.status_code == 200, (name, r.text)
        assert r.json() == {"name": name, "isPaused": False, "statistics": IDLE}
        assert _paused_in_lists(admin, name) == (False, False), name
    # queues are for admins (Immich's guard: 403 before anything)
    for name in ("sidecar", "backupDatabase", "thumbnailGeneration"):
        r = other_user.client.put(f"/api/queues/{name}", json={"isPaused": True})
        assert r.status_code == 403, r.text
        r = other_user.client.put(f"/api/jobs/{name}", json={"command": "pause"})
        assert r.status_code == 403, r.text
        assert _queue(admin, name)["isPaused"] is False
    # {} changes nothing
    r = admin.client.put("/api/queues/sidecar", json={})
    assert r.status_code == 200 and r.json()["isPaused"] is False, r.text


def test_background_task_cannot_be_paused_by_update_but_by_the_legacy_command(
    admin: User, unpaused: None
) -> None:
    r = admin.client.put("/api/queues/backgroundTask", json={"isPaused": True})
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "The BackgroundTask queue cannot be paused"}
    assert _queue(admin, "backgroundTask")["isPaused"] is False
    r = admin.client.put("/api/jobs/backgroundTask", json={"command": "pause"})
    assert r.status_code == 200, r.text
    assert r.json()["queueStatus"] == {"isActive": False, "isPaused": True}
    r = admin.client.put("/api/queues/backgroundTask", json={"isPaused": False})
    assert r.status_code == 200 and r.json()["isPaused"] is False, r.text


def test_legacy_pause_resume_empty_and_clear_failed_of_any_queue(
    admin: User, unpaused: None
) -> None:
    for name in NO_CONSUMER:
        r = admin.client.put(f"/api/jobs/{name}", json={"command": "pause"})
        assert r.status_code == 200, (name, r.text)
        assert r.json() == {
            "jobCounts": IDLE,
            "queueStatus": {"isActive": False, "isPaused": True},
        }
        for command in ("empty", "clear-failed"):
            r = admin.client.put(f"/api/jobs/{name}", json={"command": command})
            assert r.status_code == 200, (name, command, r.text)
            assert r.json()["queueStatus"]["isPaused"] is True
        r = admin.client.put(f"/api/jobs/{name}", json={"command": "resume"})
        assert r.status_code == 200, (name, r.text)
        assert r.json()["queueStatus"] == {"isActive": False, "isPaused": False}
    r = admin.client.request("DELETE", "/api/queues/sidecar/jobs", json={"failed": True})
    assert r.status_code == 204, r.text


def _wait_gateway(stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{stack.url}/api/server/ping", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the gateway did not come back")


def test_paused_flag_is_stored_and_outlives_a_gateway_restart(
    stack: Stack, admin: User, unpaused: None
) -> None:
    assert admin.client.put("/api/queues/library", json={"isPaused": True}).status_code == 200
    # in PostgreSQL (shared by every gateway replica), not in one process
    rows = db_rows(stack, "SELECT value::text AS v FROM system_metadata WHERE value ? 'library'")
    assert rows, "the paused flag is not in system_metadata"
    stack.kill("gateway", signal.SIGTERM)  # the supervisor starts it again
    _wait_gateway(stack)
    assert _queue(admin, "library")["isPaused"] is True
    assert admin.client.put("/api/queues/library", json={"isPaused": False}).status_code == 200
    assert _queue(admin, "library")["isPaused"] is False


def _backups(admin: User) -> set[str]:
    r = admin.client.get("/api/admin/database-backups")
    assert r.status_code == 200, r.text
    return {b["filename"] for b in r.json()["backups"]}


def test_start_of_a_paused_queue_waits_until_it_is_resumed(admin: User, unpaused: None) -> None:
    before = _backups(admin)
    r = admin.client.put("/api/jobs/backupDatabase", json={"command": "pause"})
    assert r.status_code == 200, r.text
    r = admin.client.put("/api/jobs/backupDatabase", json={"command": "start", "force": False})
    assert r.status_code == 200, r.text
    # the job waits in the paused queue (BullMQ: added, not run)
    waiting = {**IDLE, "paused": 1}
    assert r.json() == {"jobCounts": waiting, "queueStatus": {"isActive": False, "isPaused": True}}
    assert _queue(admin, "backupDatabase")["statistics"] == waiting
    assert _backups(admin) == before, "a paused queue ran its job"
    # resumed: the waiting job runs
    r = admin.client.put("/api/queues/backupDatabase", json={"isPaused": False})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "backupDatabase", "isPaused": False, "statistics": IDLE}
    made = _backups(admin) - before
    assert len(made) == 1, made
    # emptied while paused: the waiting job is dropped
    admin.client.put("/api/jobs/backupDatabase", json={"command": "pause"})
    admin.client.put("/api/jobs/backupDatabase", json={"command": "start"})
    r = admin.client.put("/api/jobs/backupDatabase", json={"command": "empty"})
    assert r.status_code == 200 and r.json()["jobCounts"] == IDLE, r.text
    admin.client.put("/api/jobs/backupDatabase", json={"command": "resume"})
    assert _backups(admin) - before == made
    r = admin.client.request(
        "DELETE", "/api/admin/database-backups", json={"backups": sorted(made)}
    )
    assert r.status_code in (200, 204), r.text


def _invalid_name() -> dict[str, Any]:
    expected = "|".join(f'"{n}"' for n in QUEUE_NAMES)
    return {
        "message": "Validation failed",
        "errors": [
            {
                "code": "invalid_value",
                "path": ["name"],
                "message": f"Invalid option: expected one of {expected}",
            }
        ],
    }


def test_unknown_queue_name_is_a_validation_error(admin: User, other_user: User) -> None:
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/queues/nonsense", None),
        ("PUT", "/api/queues/nonsense", {"isPaused": True}),
        ("GET", "/api/queues/nonsense/jobs", None),
        ("DELETE", "/api/queues/nonsense/jobs", None),
        ("PUT", "/api/jobs/nonsense", {"command": "pause"}),
        ("PUT", "/api/jobs/nonsense", {"command": "start"}),
    ]
    for method, path, body in calls:
        r = admin.client.request(method, path, json=body)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json() == _invalid_name(), (method, path, r.text)
        # who asks is decided first: a non-admin is refused whatever the name
        r = other_user.client.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)


# --- a live photo's video unlinked ---------------------------------------------------------


def _clip(path: Path, seed: int) -> bytes:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), (seed * 40 + i * 9) % 255, dtype=np.uint8), format="rgb24"
            )
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def _post(user: User, name: str, data: bytes, **fields: str) -> dict[str, Any]:
    r = user.client.post(
        "/api/assets",
        files={"assetData": (name, data)},
        data={
            "deviceAssetId": f"{name}-{uuid.uuid4().hex}",
            "deviceId": "pytest",
            "fileCreatedAt": "2023-06-01T10:00:00Z",
            "fileModifiedAt": "2023-06-01T10:00:00Z",
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _synced_asset(stack: Stack, user: User, asset_id: str) -> dict[str, Any] | None:
    """The last ``AssetV1`` row of ``asset_id`` a signed-in app gets (sync needs a session)."""
    login = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert login.status_code == 201, login.text
    r = httpx.post(
        f"{stack.url}/api/sync/stream",
        json={"types": ["AssetsV1"]},
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    rows = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    found = [x["data"] for x in rows if x["type"] == "AssetV1" and x["data"]["id"] == asset_id]
    return found[-1] if found else None


async def test_unlinked_video_shows_again_and_the_owner_is_told(
    stack: Stack,
    admin: User,
    sockets: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    owner = await asyncio.to_thread(make_user, stack, admin)
    stranger = await asyncio.to_thread(make_user, stack, admin)
    clip = _clip(tmp_path / "m.mp4", uuid.uuid4().int % 200)
    video = await asyncio.to_thread(_post, owner, "IMG_7.MOV", clip)
    still = await asyncio.to_thread(
        _post,
        owner,
        "IMG_7.JPG",
        noise_jpeg(uuid.uuid4().int % 2**31),
        livePhotoVideoId=video["id"],
    )
    await asyncio.to_thread(wait_processed, owner, [still["id"], video["id"]])
    shown = await asyncio.to_thread(owner.client.get, f"/api/assets/{video['id']}")
    assert shown.json()["visibility"] == "hidden"
    mine = await connected(sockets, stack.url, owner)
    theirs = await connected(sockets, stack.url, stranger)

    # someone else cannot unlink it
    r = await asyncio.to_thread(
        stranger.client.put, f"/api/assets/{still['id']}", json={"livePhotoVideoId": None}
    )
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "Not found or no asset.update access"}
    linked = await asyncio.to_thread(owner.client.get, f"/api/assets/{still['id']}")
    assert linked.json()["livePhotoVideoId"] == video["id"]

    r = await asyncio.to_thread(
        owner.client.put, f"/api/assets/{still['id']}", json={"livePhotoVideoId": None}
    )
    assert r.status_code == 200, r.text
    assert r.json()["livePhotoVideoId"] is None
    shown = await asyncio.to_thread(owner.client.get, f"/api/assets/{video['id']}")
    assert shown.json()["visibility"] == "timeline"
    # the owner's clients learn about the video as about a new upload (AssetShow)
    got = await mine.wait_for("on_upload_success", lambda d: d["id"] == video["id"])
    assert got["visibility"] == "timeline" and got["type"] == "VIDEO"
    ready = await mine.wait_for("AssetUploadReadyV1", lambda d: d["asset"]["id"] == video["id"])
    assert ready["asset"]["visibility"] == "timeline"
    # the sync stream carries the video's new row
    synced = await asyncio.to_thread(_synced_asset, stack, owner, video["id"])
    assert synced is not None and synced["visibility"] == "timeline", synced
    # nobody else hears of it
    assert [e for e, d in theirs.got if video["id"] in repr(d)] == []
