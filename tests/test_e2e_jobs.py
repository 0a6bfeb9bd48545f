"""Replays Immich's e2e/src/api/specs/jobs.e2e-spec.ts: "missing" runs after a pause and an empty.

Checked here, as the spec does it (pause a queue, upload, ``waitForQueueFinish``, empty, resume,
start with ``force: false``), over ``PUT /api/jobs/{name}`` and ``GET /api/jobs``:

* a paused queue's jobs count as ``paused``, not ``waiting`` (BullMQ's counts), so the spec's
  ``waitForQueueFinish`` (``active`` and ``waiting`` both 0) ends while a job is held;
* an asset uploaded while metadata extraction is paused has ``exifInfo`` with ``make`` null
  (Immich stores the file size at upload), and "missing" extracts it once resumed;
* an asset uploaded while thumbnail generation is paused has ``thumbhash`` null, and "missing"
  renders it once resumed;
* "missing" leaves an asset already rendered alone, even when its original changed.

The spec's RAW files (philadelphia.nef, glarus.nef) are not among the samples: a Nikon JPEG of
the ExifTool samples stands in for them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, noise_jpeg, upload_jpeg, wait_processed

NIKON = "photos/ianare_exif-samples/jpg/Nikon_D70.jpg"
#: Ceiling of each wait (the 2-core machine is slow; the waits end as soon as they can).
PATIENCE_S = 120.0


def _command(admin: User, queue: str, command: str) -> dict[str, Any]:
    r = admin.client.put(f"/api/jobs/{queue}", json={"command": command, "force": False})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _wait_for_queue_finish(admin: User, queue: str) -> None:
    """The spec's ``waitForQueueFinish``: until the queue has no job active or waiting."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        counts = admin.client.get("/api/jobs").json()[queue]["jobCounts"]
        if not counts["active"] and not counts["waiting"]:
            return
        assert time.monotonic() < deadline, f"{queue} did not finish: {counts}"
        time.sleep(0.2)


def _until(read: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE_S
    while not (value := read()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return value


def _asset(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _paused_then_missing(admin: User, queue: str, upload: Callable[[], str]) -> str:
    """Pause ``queue``, upload, check the job is held as paused, empty, resume and start
    "missing"; the uploaded asset's id (checked by the caller before and after)."""
    _command(admin, queue, "pause")
    try:
        asset_id = upload()
        _until(
            lambda: admin.client.get("/api/jobs").json()[queue]["jobCounts"]["paused"] >= 1,
            f"the upload's job held in the paused {queue} queue",
        )
        status = admin.client.get("/api/jobs").json()[queue]
        assert status["jobCounts"]["waiting"] == 0, status  # BullMQ: paused, not waiting
        assert status["queueStatus"]["isPaused"] is True
        _wait_for_queue_finish(admin, queue)
        return asset_id
    except BaseException:
        _command(admin, queue, "resume")
        raise


def test_metadata_extraction_runs_for_assets_missing_it(stack: Stack, admin: User) -> None:
    root = samples_dir()
    path = root / NIKON if root is not None else Path(NIKON)
    if not path.exists():
        pytest.skip(f"sample {NIKON} absent (the shared samples are not here)")

    def upload() -> str:
        r = admin.client.post(
            "/api/assets",
            files={"assetData": (path.name, path.read_bytes(), "image/jpeg")},
            data={
                "deviceAssetId": uuid.uuid4().hex,
                "deviceId": "pytest",
                "fileCreatedAt": "2020-01-01T00:00:00.000Z",
                "fileModifiedAt": "2020-01-01T00:00:00.000Z",
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    asset_id = _paused_then_missing(admin, "metadataExtraction", upload)
    try:
        before = _asset(admin, asset_id)["exifInfo"]
        assert isinstance(before, dict) and before["make"] is None, before
        assert before["fileSizeInByte"] == path.stat().st_size
        _command(admin, "metadataExtraction", "empty")
        _wait_for_queue_finish(admin, "metadataExtraction")
    finally:
        _command(admin, "metadataExtraction", "resume")
    _command(admin, "metadataExtraction", "start")
    _wait_for_queue_finish(admin, "metadataExtraction")
    after = _until(
        lambda: _asset(admin, asset_id)["exifInfo"]["make"], "metadata extracted by missing"
    )
    assert after == "NIKON CORPORATION"
    assert _asset(admin, asset_id)["exifInfo"]["model"] == "NIKON D70"


def test_thumbnails_run_for_assets_missing_them(admin: User) -> None:
    asset_id = _paused_then_missing(
        admin, "thumbnailGeneration", lambda: upload_jpeg(admin, noise_jpeg(4401))
    )
    try:
        _wait_for_queue_finish(admin, "metadataExtraction")
        assert _asset(admin, asset_id)["thumbhash"] is None
        _command(admin, "thumbnailGeneration", "empty")
        _wait_for_queue_finish(admin, "thumbnailGeneration")
    finally:
        _command(admin, "thumbnailGeneration", "resume")
    _command(admin, "thumbnailGeneration", "start")
    _until(lambda: _asset(admin, asset_id)["thumbhash"], "the thumbnail rendered by missing")


def test_missing_leaves_rendered_thumbnails_alone(stack: Stack, admin: User) -> None:
    asset_id = upload_jpeg(admin, noise_jpeg(4402))
    wait_processed(admin, [asset_id], timeout=PATIENCE_S)
    before = _asset(admin, asset_id)
    assert before["thumbhash"]
    original = Path(stack.env()["DARKROOM_STORAGE_ROOT"]) / before["originalPath"]
    original.write_bytes(noise_jpeg(4403))  # the file changes on disk, as the spec's cpSync
    _command(admin, "thumbnailGeneration", "resume")
    _command(admin, "thumbnailGeneration", "start")
    _wait_for_queue_finish(admin, "metadataExtraction")
    _wait_for_queue_finish(admin, "thumbnailGeneration")
    assert _asset(admin, asset_id)["thumbhash"] == before["thumbhash"]
