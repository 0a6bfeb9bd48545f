"""Integrity reports (Immich 3.1 "Maintenance (admin)" /api/admin/integrity/*) end to end: the
integrity-* manual jobs of POST /api/jobs find a missing original, untracked files and a
corrupted original in the stack's storage; the report lists, pages, exports and serves them; the
delete actions delete the file or trash the asset; refresh drops what was fixed.

The shared stack holds other modules' assets (and maybe their leftovers): counts are compared
before and after, and lists are filtered to this module's paths and assets. Everything this
module damages or adds is purged at the end.
"""

from __future__ import annotations

import csv
import io
import os
import time
import uuid
from pathlib import Path

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed

TYPES = ("checksum_mismatch", "missing_file", "untracked_file")


def _job(admin: User, name: str) -> None:
    r = admin.client.post("/api/jobs", json={"name": name})
    assert r.status_code == 204, r.text


def _run_checks(admin: User) -> dict[str, int]:
    for name in ("missing-files", "untracked-files", "checksum-mismatch"):
        _job(admin, f"integrity-{name}")
    r = admin.client.get("/api/admin/integrity/summary")
    assert r.status_code == 200, r.text
    assert set(r.json()) == set(TYPES)
    return dict(r.json())


def _all(admin: User, type_: str, limit: int) -> list[dict[str, str]]:
    """Every item of ``type_``, following ``nextCursor`` ``limit`` at a time."""
    items: list[dict[str, str]] = []
    params: dict[str, str | int] = {"type": type_, "limit": limit}
    for _ in range(10_000):
        r = admin.client.get("/api/admin/integrity/report", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        if "nextCursor" not in body:
            return items
        params["cursor"] = body["nextCursor"]
    raise AssertionError("paging never ended")


def _backdate(path: Path, seconds: float = 7200) -> None:
    """Make ``path`` look written ``seconds`` ago (past the untracked check's grace)."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_integrity_reports(stack: Stack, admin: User) -> None:
    root = stack.config.data_dir / "storage"
    owner = make_user(stack, admin)
    ids = [upload_jpeg(owner, noise_jpeg(seed)) for seed in range(7301, 7305)]
    try:
        wait_processed(owner, ids)
        _scenario(stack, admin, owner, root, ids)
    finally:
        owner.client.request("DELETE", "/api/assets", json={"ids": ids, "force": True})
        for stray in root.glob(f"*/{owner.id}/zz/**/stray-*"):
            stray.unlink()
        for stray in root.glob("*/integrity-test-*"):
            stray.unlink()
        db_rows(stack, "DELETE FROM integrity_reports WHERE path LIKE $1", f"%{owner.id}%")


def _scenario(stack: Stack, admin: User, owner: User, root: Path, ids: list[str]) -> None:
    before = _run_checks(admin)
    paths = {
        str(r["id"]): r["original_path"]
        for r in db_rows(
            stack,
            "SELECT id, original_path FROM assets WHERE id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        )
    }
    gone, broken, fixed, healthy = ids
    # a missing original, two corrupted ones (one fixed later), untracked files
    (root / paths[gone]).unlink()
    fixed_bytes = (root / paths[fixed]).read_bytes()
    for asset_id in (broken, fixed):
        original = root / paths[asset_id]
        original.write_bytes(original.read_bytes()[:-16] + b"\0" * 16)
    strays = {}
    for n in range(3):
        key = f"upload/{owner.id}/zz/{n:02d}/stray-{n}.jpg"
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(f"stray {n}".encode() * 100)
        _backdate(root / key)
        strays[key] = (root / key).read_bytes()
    fresh = root / f"upload/{owner.id}/zz/fresh/stray-fresh.jpg"  # written just now: in flight
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"fresh")
    for outside in ("staging", "backups"):  # uploads in progress and backups are never reported
        (root / outside).mkdir(exist_ok=True)
        (root / outside / "integrity-test-stray").write_bytes(b"x")
        _backdate(root / outside / "integrity-test-stray")

    after = _run_checks(admin)
    assert after["missing_file"] - before["missing_file"] == 1
    assert after["checksum_mismatch"] - before["checksum_mismatch"] == 2
    assert after["untracked_file"] - before["untracked_file"] == 3
    # running again is idempotent
    assert _run_checks(admin) == after

    # the list: every item once, in path order, the same through any page size
    untracked = _all(admin, "untracked_file", 500)
    assert [i["path"] for i in untracked] == sorted(i["path"] for i in untracked)
    assert _all(admin, "untracked_file", 1) == untracked
    assert _all(admin, "untracked_file", 2) == untracked
    mine = {i["path"]: i for i in untracked if owner.id in i["path"]}
    assert set(mine) == set(strays)
    assert all(i["type"] == "untracked_file" for i in untracked)
    missing = {i["path"]: i for i in _all(admin, "missing_file", 500)}
    assert paths[gone] in missing and not {paths[a] for a in (broken, fixed, healthy)} & set(
        missing
    )
    mismatched = {i["path"]: i for i in _all(admin, "checksum_mismatch", 500)}
    assert {paths[broken], paths[fixed]} <= set(mismatched)
    assert paths[healthy] not in mismatched and paths[gone] not in mismatched

    # CSV: the same items
    r = admin.client.get("/api/admin/integrity/report/untracked_file/csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")  # as Immich's controller sets it
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["id"], row["path"]) for row in rows] == [(i["id"], i["path"]) for i in untracked]
    assert all(row["type"] == "untracked_file" and row["assetId"] == "null" for row in rows)
    rows = list(
        csv.DictReader(
            io.StringIO(admin.client.get("/api/admin/integrity/report/checksum_mismatch/csv").text)
        )
    )
    assert {row["assetId"] for row in rows if row["path"] == paths[broken]} == {broken}

    # the files: an untracked one, a corrupted original; a missing one has none
    for key, data in strays.items():
        r = admin.client.get(f"/api/admin/integrity/report/{mine[key]['id']}/file")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"].startswith("application/octet-stream")
    r = admin.client.get(f"/api/admin/integrity/report/{mismatched[paths[broken]]['id']}/file")
    assert r.status_code == 200 and r.content == (root / paths[broken]).read_bytes()
    r = admin.client.get(f"/api/admin/integrity/report/{missing[paths[gone]]['id']}/file")
    assert r.status_code == 404 and "message" in r.json()
    r = admin.client.get(f"/api/admin/integrity/report/{uuid.uuid4()}/file")
    assert r.status_code == 404 and "message" in r.json()

    # bad input: an unknown type, a cursor not given by the server, a limit of 0, an unknown id
    assert admin.client.get("/api/admin/integrity/report", params={"type": "x"}).status_code == 400
    assert admin.client.get("/api/admin/integrity/report/x/csv").status_code == 400
    r = admin.client.get(
        "/api/admin/integrity/report", params={"type": "missing_file", "cursor": "%%%"}
    )
    assert r.status_code == 400, r.text
    r = admin.client.get("/api/admin/integrity/report", params={"type": "missing_file", "limit": 0})
    assert r.status_code == 400, r.text
    assert admin.client.delete(f"/api/admin/integrity/report/{uuid.uuid4()}").status_code == 404

    _refused(stack, admin, owner, healthy, mine[next(iter(strays))]["id"])

    # refresh drops what was fixed, keeps the rest
    (root / paths[fixed]).write_bytes(fixed_bytes)
    _job(admin, "integrity-checksum-mismatch-refresh")
    left = {i["path"] for i in _all(admin, "checksum_mismatch", 500)}
    assert paths[broken] in left and paths[fixed] not in left
    _job(admin, "integrity-missing-files-refresh")
    assert paths[gone] in {i["path"] for i in _all(admin, "missing_file", 500)}
    first, *rest = sorted(strays)
    (root / first).unlink()  # removed by hand: refresh drops its item
    _job(admin, "integrity-untracked-files-refresh")
    assert {i["path"] for i in _all(admin, "untracked_file", 500)} & set(strays) == set(rest)

    # delete actions: an untracked file is deleted, the asset of a missing file is trashed
    second = rest[0]
    r = admin.client.delete(f"/api/admin/integrity/report/{mine[second]['id']}")
    assert r.status_code == 200, r.text
    assert not (root / second).exists() and (root / rest[1]).exists()
    assert second not in {i["path"] for i in _all(admin, "untracked_file", 500)}
    r = admin.client.delete(f"/api/admin/integrity/report/{missing[paths[gone]]['id']}")
    assert r.status_code == 200, r.text
    assert owner.client.get(f"/api/assets/{gone}").json()["isTrashed"] is True
    assert paths[gone] not in {i["path"] for i in _all(admin, "missing_file", 500)}
    # the trashed asset is no longer checked
    _job(admin, "integrity-missing-files")
    assert paths[gone] not in {i["path"] for i in _all(admin, "missing_file", 500)}
    # delete-all: the corrupted original's asset goes to the trash, the healthy one stays
    _job(admin, "integrity-checksum-mismatch-delete-all")
    assert _all(admin, "checksum_mismatch", 500) == []
    assert owner.client.get(f"/api/assets/{broken}").json()["isTrashed"] is True
    assert owner.client.get(f"/api/assets/{healthy}").json()["isTrashed"] is False
    _job(admin, "integrity-untracked-files-delete-all")
    assert not (root / rest[1]).exists() and fresh.exists()
    assert (root / "staging" / "integrity-test-stray").exists()
    assert (root / "backups" / "integrity-test-stray").exists()
    # the files of the assets are all still there
    assert (root / paths[healthy]).exists() and (root / paths[fixed]).exists()


def _refused(stack: Stack, admin: User, owner: User, asset_id: str, item_id: str) -> None:
    """Another user, an API key without ``maintenance``, a shared-link visitor and an
    anonymous caller are refused every route (and the integrity jobs)."""
    report = "/api/admin/integrity/report"
    routes: list[tuple[str, str, dict[str, str] | None, dict[str, str]]] = [
        ("GET", "/api/admin/integrity/summary", None, {}),
        ("GET", report, None, {"type": "untracked_file"}),
        ("GET", f"{report}/{item_id}/file", None, {}),
        ("GET", f"{report}/untracked_file/csv", None, {}),
        ("DELETE", f"{report}/{item_id}", None, {}),
        ("POST", "/api/jobs", {"name": "integrity-untracked-files-delete-all"}, {}),
    ]
    anon = httpx.Client(base_url=stack.url, timeout=60)
    key = admin.client.post("/api/api-keys", json={"name": "jobs", "permissions": ["job.create"]})
    assert key.status_code == 201, key.text
    narrow = httpx.Client(
        base_url=stack.url, headers={"x-api-key": key.json()["secret"]}, timeout=60
    )
    link = owner.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset_id]}
    )
    assert link.status_code == 201, link.text
    try:
        for method, url, body, query in routes:
            for client, status, params in (
                (owner.client, 403, query),
                (anon, 401, query),
                (anon, 403, {**query, "key": link.json()["key"]}),
            ):
                r = client.request(method, url, json=body, params=params)
                assert r.status_code == status, (method, url, status, r.text)
                assert "message" in r.json()
            if not url.startswith("/api/jobs"):
                r = narrow.request(method, url, json=body, params=query)
                assert r.status_code == 403, (method, url, r.text)
    finally:
        owner.client.delete(f"/api/shared-links/{link.json()['id']}")
        admin.client.delete(f"/api/api-keys/{key.json()['apiKey']['id']}")


def _checksum_limits(admin: User, **limits: float) -> dict[str, object]:
    """Set ``integrityChecks.checksumFiles`` fields; the section as it was."""
    config = admin.client.get("/api/system-config").json()
    saved = dict(config["integrityChecks"]["checksumFiles"])
    config["integrityChecks"]["checksumFiles"].update(limits)
    r = admin.client.put("/api/system-config", json=config)
    assert r.status_code == 200, r.text
    return saved


def _verified(stack: Stack) -> dict[uuid.UUID, object]:
    rows = db_rows(stack, "SELECT asset_id, checked_at FROM integrity_checksums")
    return {r["asset_id"]: r["checked_at"] for r in rows}


def test_checksum_check_verifies_the_least_recently_verified_within_the_limits(
    stack: Stack, admin: User
) -> None:
    owner = make_user(stack, admin)
    ids = [upload_jpeg(owner, noise_jpeg(seed)) for seed in range(7311, 7314)]
    saved: dict[str, object] | None = None
    try:
        wait_processed(owner, ids)
        originals = [
            r["id"]
            for r in db_rows(
                stack, "SELECT id FROM assets WHERE status = 'active' AND NOT is_external"
            )
        ]
        before = _verified(stack)
        # the next two: never verified first (by id), then the longest ago
        order = sorted(originals, key=lambda a: (a in before, before.get(a) or 0, a))
        expected = set(order[:2])
        # percentageLimit: two originals of all of them (ceil of the fraction)
        saved = _checksum_limits(admin, percentageLimit=1.5 / len(originals), timeLimit=3_600_000)
        _job(admin, "integrity-checksum-mismatch")
        after = _verified(stack)
        changed = {a for a in after if before.get(a) != after[a]}
        assert changed == expected
        # timeLimit 0: nothing is verified
        _checksum_limits(admin, percentageLimit=1.0, timeLimit=0)
        _job(admin, "integrity-checksum-mismatch")
        assert _verified(stack) == after
    finally:
        if saved is not None:
            _checksum_limits(admin, **saved)  # type: ignore[arg-type]
        owner.client.request("DELETE", "/api/assets", json={"ids": ids, "force": True})
