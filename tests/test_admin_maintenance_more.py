"""Admin maintenance routes (maintenance mode, database backups, integrity reports): behaviour
Immich's clients and e2e suite rely on that no other test checks.

Maintenance mode:

* ``POST /api/admin/maintenance/login`` outside maintenance is 400 "Not in maintenance mode",
  whatever is sent (Immich: maintenance.controller ``maintenanceLogin``).
* The maintenance login cookie is a JWT (``header.payload.signature``) naming the admin who
  started maintenance; login answers that name; no token is 401 "Missing JWT Token", a token
  not signed with the secret of the maintenance in progress (one of an earlier maintenance) 401
  "Invalid JWT Token" (Immich: maintenance.service ``startMaintenance`` / utils/maintenance
  ``signMaintenanceJwt``; maintenance-worker.service ``login``).
* ``GET /api/admin/maintenance/status`` tells everyone that something failed ("Something went
  wrong, see logs!") and the maintenance login what (Immich: maintenance-worker.service
  ``status`` / ``getPublicStatus``).
* ``POST /api/admin/database-backups/start-restore`` on a set-up server is 400 "The server
  already has an admin" (Immich: maintenance.service ``startRestoreFlow``).

Database backups:

* ``GET /api/admin/database-backups/{filename}`` types a ``.sql.gz`` ``application/gzip`` and a
  ``.sql`` ``application/sql`` (Immich: utils/database-backups ``downloadDatabaseBackup``).

Storage template:

* ``GET /api/system-config/storage-template-options`` lists Immich's preset templates, in its
  order (Immich: constants ``supportedPresetTokens``, system-config.service
  ``getStorageTemplateOptions``).

Integrity reports:

* A report item carries ``assetId`` (missing original), ``fileAssetId`` (missing derived file:
  then no ``assetId``) and ``createdAt`` (Immich: integrity.repository ``getIntegrityReports``).
* The CSV export is ``text/csv``, ``id,type,assetId,fileAssetId,path`` with ``null`` for no id
  and the path quoted (Immich: integrity.controller ``getIntegrityReportCsv``,
  integrity.repository ``streamIntegrityReportsCSV``).
* Deleting the item of a missing derived file (a thumbnail) forgets that file and leaves its
  asset alone; only a missing original trashes the asset (Immich: integrity.service
  ``deleteIntegrityReport``: ``fileAssetId`` -> ``deleteFiles``). A non-admin is refused (403)
  and nothing changes.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import re
import uuid
from collections.abc import Iterator

import httpx
import msgspec
import nats
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed

COOKIE = "immich_maintenance_token"
#: Immich's e2e check of the maintenance cookie: a compact JWT.
JWT = re.compile(r"^[A-Za-z0-9-_]*\.[A-Za-z0-9-_]*\.[A-Za-z0-9-_]*$")
#: A plain dump the upload accepts (a pg_dump header, Darkroom's migrations table).
DUMP = b"--\n-- PostgreSQL database dump\n--\nCREATE TABLE _yoyo_migration (x int);\n"


def _anon(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=60)


@pytest.fixture
def maintenance(stack: Stack, admin: User) -> Iterator[str]:
    """Maintenance started by the admin (ended afterwards); the login cookie's token."""
    r = admin.client.post("/api/admin/maintenance", json={"action": "start"})
    assert r.status_code == 201, r.text
    try:
        yield str(r.cookies.get(COOKIE))
    finally:
        r = admin.client.post("/api/admin/maintenance", json={"action": "end"})
        assert r.status_code == 201, r.text


def test_maintenance_login_outside_maintenance_is_400(stack: Stack) -> None:
    r = _anon(stack).post("/api/admin/maintenance/login", json={"token": "token"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not in maintenance mode"


def test_maintenance_token_is_a_jwt_naming_the_admin(
    stack: Stack, admin: User, maintenance: str
) -> None:
    assert JWT.match(maintenance), maintenance
    anon = _anon(stack)
    r = anon.post("/api/admin/maintenance/login", json={})
    assert r.status_code == 401 and r.json()["message"] == "Missing JWT Token", r.text
    r = anon.post("/api/admin/maintenance/login", json={"token": maintenance})
    assert r.status_code == 201 and r.json() == {"username": "Admin"}, r.text
    with_cookie = _anon(stack)
    with_cookie.cookies.set(COOKIE, maintenance)
    r = with_cookie.post("/api/admin/maintenance/login", json={})
    assert r.status_code == 201 and r.json() == {"username": "Admin"}, r.text
    assert with_cookie.get("/api/admin/database-backups").status_code == 200
    r = anon.post("/api/admin/maintenance/login", json={"token": "not.a.token"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid JWT Token", r.text


def test_token_of_an_earlier_maintenance_is_refused(stack: Stack, admin: User) -> None:
    r = admin.client.post("/api/admin/maintenance", json={"action": "start"})
    assert r.status_code == 201, r.text
    earlier = str(r.cookies.get(COOKIE))
    assert admin.client.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
    r = admin.client.post("/api/admin/maintenance", json={"action": "start"})
    assert r.status_code == 201, r.text
    try:
        r = _anon(stack).post("/api/admin/maintenance/login", json={"token": earlier})
        assert r.status_code == 401 and r.json()["message"] == "Invalid JWT Token", r.text
        stale = _anon(stack)
        stale.cookies.set(COOKIE, earlier)
        assert stale.get("/api/admin/database-backups").status_code == 401
    finally:
        assert (
            admin.client.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
        )


async def _set_error(nats_url: str, error: str) -> None:
    """Record a failed restore in the maintenance state (the NATS key-value bucket every
    gateway replica reads), keeping its secret."""
    nc = await nats.connect(nats_url)
    try:
        kv = await nc.jetstream().key_value("darkroom_maintenance")
        state = msgspec.json.decode((await kv.get("state")).value)
        state.update(action="restore_database", task="error", error=error)
        await kv.put("state", msgspec.json.encode(state))
    finally:
        await nc.close()


def test_status_error_is_told_in_full_only_to_the_maintenance_login(
    stack: Stack, maintenance: str
) -> None:
    assert stack.nats is not None
    asyncio.run(_set_error(stack.nats.url, "psql: IM CORRUPTED"))
    public = _anon(stack).get("/api/admin/maintenance/status")
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["active"] is True and body["action"] == "restore_database"
    assert body["error"] == "Something went wrong, see logs!"
    logged_in = _anon(stack)
    logged_in.cookies.set(COOKIE, maintenance)
    assert logged_in.get("/api/admin/maintenance/status").json()["error"] == "psql: IM CORRUPTED"


def test_start_restore_on_a_set_up_server(stack: Stack, admin: User) -> None:
    r = _anon(stack).post("/api/admin/database-backups/start-restore")
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "The server already has an admin"


def test_backup_download_is_typed_as_immich(admin: User) -> None:
    names = {
        "maint-more.sql.gz": (gzip.compress(DUMP), "application/gzip"),
        "maint-more.sql": (DUMP, "application/sql"),
    }
    try:
        for name, (data, _) in names.items():
            r = admin.client.post(
                "/api/admin/database-backups/upload", files={"file": (name, data, "text/plain")}
            )
            assert r.status_code == 201, r.text
        for name, (data, media_type) in names.items():
            r = admin.client.get(f"/api/admin/database-backups/uploaded-{name}")
            assert r.status_code == 200, r.text
            assert r.content == data
            assert r.headers["content-type"].startswith(media_type), r.headers
    finally:
        admin.client.request(
            "DELETE",
            "/api/admin/database-backups",
            json={"backups": [f"uploaded-{name}" for name in names]},
        )


def _items(admin: User, type_: str) -> list[dict[str, object]]:
    r = admin.client.get("/api/admin/integrity/report", params={"type": type_, "limit": 10_000})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_missing_files_items_csv_and_delete(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    ids = [upload_jpeg(owner, noise_jpeg(seed)) for seed in (9411, 9412)]
    root = stack.config.data_dir / "storage"
    try:
        wait_processed(owner, ids)
        gone, thumbless = (uuid.UUID(i) for i in ids)
        original = db_rows(stack, "SELECT original_path FROM assets WHERE id = $1", gone)[0][0]
        thumb_id, thumb = db_rows(
            stack,
            "SELECT id, path FROM asset_files WHERE asset_id = $1 AND type = 'thumbnail'",
            thumbless,
        )[0]
        (root / original).unlink()
        (root / thumb).unlink()
        assert (
            admin.client.post("/api/jobs", json={"name": "integrity-missing-files"}).status_code
            == 204
        )

        items = {i["path"]: i for i in _items(admin, "missing_file")}
        assert items[original]["assetId"] == str(gone)
        assert items[original]["fileAssetId"] is None
        assert items[thumb]["assetId"] is None
        assert items[thumb]["fileAssetId"] == str(thumb_id)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", str(items[thumb]["createdAt"]))

        r = admin.client.get("/api/admin/integrity/report/missing_file/csv")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv"), r.headers
        assert ".csv" in r.headers["content-disposition"]
        assert r.text.startswith("id,type,assetId,fileAssetId,path\n")
        line = f'{items[thumb]["id"]},missing_file,null,{thumb_id},"{thumb}"'
        assert line in r.text.splitlines()
        rows = {row["path"]: row for row in csv.DictReader(io.StringIO(r.text))}
        assert rows[original]["assetId"] == str(gone) and rows[original]["fileAssetId"] == "null"

        # a stranger (not an admin) cannot act on the item
        r = owner.client.delete(f"/api/admin/integrity/report/{items[thumb]['id']}")
        assert r.status_code == 403, r.text
        assert db_rows(stack, "SELECT 1 FROM asset_files WHERE id = $1", thumb_id)
        # the missing thumbnail is forgotten, its asset stays where it was
        r = admin.client.delete(f"/api/admin/integrity/report/{items[thumb]['id']}")
        assert r.status_code == 200, r.text
        assert owner.client.get(f"/api/assets/{thumbless}").json()["isTrashed"] is False
        assert not db_rows(stack, "SELECT 1 FROM asset_files WHERE id = $1", thumb_id)
        assert thumb not in {i["path"] for i in _items(admin, "missing_file")}
        # the missing original trashes its asset
        r = admin.client.delete(f"/api/admin/integrity/report/{items[original]['id']}")
        assert r.status_code == 200, r.text
        assert owner.client.get(f"/api/assets/{gone}").json()["isTrashed"] is True
    finally:
        owner.client.request("DELETE", "/api/assets", json={"ids": ids, "force": True})
        db_rows(stack, "DELETE FROM integrity_reports WHERE path LIKE $1", f"%{owner.id}%")


#: Immich's ``supportedPresetTokens`` (server/src/constants.ts), in its order.
IMMICH_PRESETS = [
    "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
    "{{y}}/{{MM}}-{{dd}}/{{filename}}",
    "{{y}}/{{MMMM}}-{{dd}}/{{filename}}",
    "{{y}}/{{MM}}/{{filename}}",
    "{{y}}/{{#if album}}{{album}}{{else}}Other/{{MM}}{{/if}}/{{filename}}",
    "{{y}}/{{MMM}}/{{filename}}",
    "{{y}}/{{MMMM}}/{{filename}}",
    "{{y}}/{{MM}}/{{dd}}/{{filename}}",
    "{{y}}/{{MMMM}}/{{dd}}/{{filename}}",
    "{{y}}/{{y}}-{{MM}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
    "{{y}}-{{MM}}-{{dd}}/{{filename}}",
    "{{y}}-{{MMM}}-{{dd}}/{{filename}}",
    "{{y}}-{{MMMM}}-{{dd}}/{{filename}}",
    "{{y}}/{{y}}-{{MM}}/{{filename}}",
    "{{y}}/{{y}}-{{WW}}/{{filename}}",
    "{{y}}/{{y}}-{{MM}}-{{dd}}/{{assetId}}",
    "{{y}}/{{y}}-{{MM}}/{{assetId}}",
    "{{y}}/{{y}}-{{WW}}/{{assetId}}",
    "{{album}}/{{filename}}",
]


def test_storage_template_presets_are_immichs(admin: User) -> None:
    r = admin.client.get("/api/system-config/storage-template-options")
    assert r.status_code == 200, r.text
    assert r.json()["presetOptions"] == IMMICH_PRESETS
