"""Replays Immich's server/test/medium/specs/services/integrity.service.spec.ts over HTTP.

Checked here (the rest of the spec, the jobs' findings, refreshes, CSV and delete actions of
originals and untracked files, is covered by tests/test_integrity.py):

* ``getIntegrityReportFile``: the file is served as ``application/octet-stream`` with Immich's
  ``private_without_cache`` Cache-Control (``private, no-cache, no-transform``) and an inline
  Content-Disposition naming the file's base name (Immich's ``sendFile``);
* ``deleteIntegrityReport`` 'deletes file asset if one is present': a missing thumbnail is a
  ``missing_file`` item with its ``fileAssetId``; deleting the item forgets that file (its
  ``asset_files`` row goes) and leaves the asset out of the trash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> Iterator[User]:
    user = make_user(stack, admin)
    yield user
    db_rows(stack, "DELETE FROM integrity_reports WHERE path LIKE $1", f"%{user.id}%")


def _job(admin: User, name: str) -> None:
    r = admin.client.post("/api/jobs", json={"name": name})
    assert r.status_code == 204, r.text


def _items(admin: User, type_: str, needle: str) -> list[dict[str, str]]:
    r = admin.client.get("/api/admin/integrity/report", params={"type": type_, "limit": 1000})
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if needle in i["path"]]


def test_report_file_is_served_without_cache(stack: Stack, admin: User, owner: User) -> None:
    root = stack.config.data_dir / "storage"
    stray = root / f"upload/{owner.id}/r2/stray file.bin"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"stray bytes")
    past = time.time() - 7200  # past the untracked check's grace
    os.utime(stray, (past, past))
    try:
        _job(admin, "integrity-untracked-files")
        (item,) = _items(admin, "untracked_file", f"{owner.id}/r2/")
        r = admin.client.get(f"/api/admin/integrity/report/{item['id']}/file")
        assert r.status_code == 200 and r.content == b"stray bytes"
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["cache-control"] == "private, no-cache, no-transform"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("inline;")
        assert "filename*=UTF-8''stray%20file.bin" in disposition
    finally:
        stray.unlink(missing_ok=True)


def test_deleting_a_missing_thumbnail_item_forgets_the_file(
    stack: Stack, admin: User, owner: User
) -> None:
    asset_id = upload_jpeg(owner, noise_jpeg(7401))
    wait_processed(owner, [asset_id])
    (row,) = db_rows(
        stack,
        "SELECT id, path FROM asset_files WHERE asset_id = $1::uuid AND type = 'thumbnail'",
        asset_id,
    )
    thumb: Path = stack.config.data_dir / "storage" / row["path"]
    thumb.unlink()

    _job(admin, "integrity-missing-files")
    (item,) = _items(admin, "missing_file", row["path"])
    assert item["fileAssetId"] == str(row["id"]) and item["assetId"] is None

    r = admin.client.delete(f"/api/admin/integrity/report/{item['id']}")
    assert r.status_code == 200, r.text
    assert _items(admin, "missing_file", row["path"]) == []
    assert owner.client.get(f"/api/assets/{asset_id}").json()["isTrashed"] is False
    gone = db_rows(stack, "SELECT 1 FROM asset_files WHERE id = $1", row["id"])
    assert gone == [] or thumb.exists()  # forgotten (or already made again by the pipeline)
