"""Admin and server endpoints: behaviour of Immich's that the web admin pages rely on and no
other test exercises.

* ``POST /api/libraries`` takes an import path whose folder does not exist yet (Immich:
  library.service ``create`` stores the paths as given; its e2e tests create a library, then
  its folder, then scan); the scan then imports what the folder holds. An update still
  validates (library.service ``update``: 400 "Invalid import path: ..."), and a non-admin is
  refused (403) as ``@Authenticated({ admin: true })`` refuses.
* A library created without exclusion patterns gets Immich's defaults, Syncthing's
  ``.stversions`` and ``.stfolder`` folders included (library.service ``create``).
* ``GET /api/server/statistics`` counts as Immich's user repository ``getUserStats``: trashed
  assets are left out (the join takes ``asset.deletedAt is null``), hidden ones (a live
  photo's motion part) are not counted as photos (``visibility != hidden``) but use bytes, and
  an external library's files are counted but use no bytes (``libraryId is null`` on the
  usage sums).
* ``PUT /api/system-config`` refuses a schedule that is on and is not a cron expression
  (``library.scan.cronExpression``, ``backup.database.cronExpression``: SystemConfigDto's
  ``CronValidator``, "Invalid cron expression"), with nothing saved.
* ``GET /api/queues`` lists every queue of the spec's QueueName (queue.service ``getAll``
  maps every enum value), ``GET /api/queues/{name}`` answers any of them, and the job list of
  an idle queue is empty; a non-admin is refused (403).
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed
from .test_server_metadata import conforms

#: Ceiling for a scan to import a file (a loaded 2-core machine); the poll ends early.
CEILING_S = 240.0
#: The spec's QueueName, in its order.
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


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so that other test files' assets do not mix into the statistics."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the stack's storage for the libraries' import paths."""
    return tmp_path_factory.mktemp("adminsrv-libraries")


@pytest.fixture
def saved_config(admin: User) -> Iterator[dict[str, Any]]:
    """The config in force; put back after the test if the test changed it."""
    before = admin.client.get("/api/system-config").json()
    yield before
    if admin.client.get("/api/system-config").json() != before:
        assert admin.client.put("/api/system-config", json=before).status_code == 200


def test_a_library_may_name_a_folder_made_later(admin: User, owner: User, folders: Path) -> None:
    later = folders / "made-later"
    r = admin.client.post(
        "/api/libraries",
        json={"ownerId": owner.id, "name": "Later", "importPaths": [str(later)]},
    )
    assert r.status_code == 201, r.text
    library = r.json()
    assert library["importPaths"] == [str(later)] and library["assetCount"] == 0
    later.mkdir()
    (later / "photo.jpg").write_bytes(noise_jpeg(9101))
    scan = admin.client.post(f"/api/libraries/{library['id']}/scan")
    assert scan.status_code == 204, scan.text
    deadline = time.monotonic() + CEILING_S
    while (stats := admin.client.get(f"/api/libraries/{library['id']}/statistics").json())[
        "total"
    ] < 1:
        assert time.monotonic() < deadline, f"the scan imported nothing in {CEILING_S} s"
        time.sleep(0.5)
    assert stats["photos"] == 1
    # an update still validates its paths, as Immich's
    r = admin.client.put(
        f"/api/libraries/{library['id']}", json={"importPaths": [str(folders / "never")]}
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Invalid import path: Path does not exist (ENOENT)"
    # stranger: an ordinary user cannot make a library, not even for themselves
    r = owner.client.post("/api/libraries", json={"ownerId": owner.id, "importPaths": [str(later)]})
    assert r.status_code == 403, r.text


def test_default_exclusions_include_syncthing_folders(admin: User, owner: User) -> None:
    r = admin.client.post("/api/libraries", json={"ownerId": owner.id})
    assert r.status_code == 201, r.text
    assert r.json()["exclusionPatterns"] == [
        "**/@eaDir/**",
        "**/._*",
        "**/#recycle/**",
        "**/#snapshot/**",
        "**/.stversions/**",
        "**/.stfolder/**",
    ]
    admin.client.delete(f"/api/libraries/{r.json()['id']}")


def _size(stack: Stack, asset_id: str) -> int:
    return int(
        db_rows(stack, "SELECT file_size FROM assets WHERE id = $1", uuid.UUID(asset_id))[0][0]
    )


def test_statistics_leave_out_trash_and_hidden_and_library_bytes(
    stack: Stack, admin: User, folders: Path
) -> None:
    user = make_user(stack, admin)  # its own user: the other tests' assets stay out
    trashed, hidden, external = (upload_jpeg(user, noise_jpeg(9200 + i)) for i in range(3))
    wait_processed(user, [trashed, hidden, external])
    (folders / "empty").mkdir()
    library = admin.client.post(
        "/api/libraries", json={"ownerId": user.id, "importPaths": [str(folders / "empty")]}
    )
    assert library.status_code == 201, library.text
    r = user.client.request("DELETE", "/api/assets", json={"ids": [trashed]})
    assert r.status_code == 204, r.text
    db_rows(
        stack, "UPDATE assets SET visibility = 'hidden' WHERE id = $1", uuid.UUID(hidden)
    )  # a live photo's motion part is hidden so
    db_rows(
        stack,
        "UPDATE assets SET library_id = $2 WHERE id = $1",
        uuid.UUID(external),
        uuid.UUID(library.json()["id"]),
    )
    r = admin.client.get("/api/server/statistics")
    assert r.status_code == 200, r.text
    body = conforms(r.json(), "ServerStatsResponseDto")
    mine = next(u for u in body["usageByUser"] if u["userId"] == user.id)
    assert (mine["photos"], mine["videos"]) == (1, 0), mine  # the library's photo only
    assert mine["usage"] == mine["usagePhotos"] == _size(stack, hidden), mine
    assert mine["usageVideos"] == 0
    assert body["photos"] == sum(u["photos"] for u in body["usageByUser"])
    assert body["usage"] == sum(u["usage"] for u in body["usageByUser"])
    # stranger: statistics are for admins
    assert user.client.get("/api/server/statistics").status_code == 403


@pytest.mark.parametrize("section", ["library.scan", "backup.database"])
def test_an_invalid_cron_expression_is_refused(
    admin: User, saved_config: dict[str, Any], section: str
) -> None:
    config = copy.deepcopy(saved_config)
    parent, child = section.split(".")
    config[parent][child].update(enabled=True, cronExpression="every night at two")
    r = admin.client.put("/api/system-config", json=config)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Validation failed", body
    assert [e["path"] for e in body["errors"]] == [[parent, child, "cronExpression"]], body
    assert body["errors"][0]["message"] == "Invalid cron expression", body
    assert admin.client.get("/api/system-config").json() == saved_config  # nothing was saved


def test_every_queue_is_listed_and_answers(admin: User, owner: User) -> None:
    r = admin.client.get("/api/queues")
    assert r.status_code == 200, r.text
    queues = conforms(r.json(), "QueueResponseDto", array=True)
    assert [q["name"] for q in queues] == QUEUE_NAMES
    idle = {"active": 0, "completed": 0, "delayed": 0, "failed": 0, "paused": 0, "waiting": 0}
    for name in ("sidecar", "duplicateDetection", "library"):
        r = admin.client.get(f"/api/queues/{name}")
        assert r.status_code == 200, r.text
        assert r.json() == {"name": name, "isPaused": False, "statistics": idle}
        jobs = admin.client.get(f"/api/queues/{name}/jobs", params={"status": "failed"})
        assert jobs.status_code == 200, jobs.text
        assert jobs.json() == []
    # stranger: queues are for admins
    assert owner.client.get("/api/queues/sidecar").status_code == 403
    assert owner.client.get("/api/queues/sidecar/jobs").status_code == 403
