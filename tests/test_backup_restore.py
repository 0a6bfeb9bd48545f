"""Database backup and restore, maintenance mode (issue 15 item 5), through HTTP and the CLI.

What it must show: a library with assets, albums, a person with a face, an embedding and changed
settings is backed up, restored into a FRESH stack (its own database; the originals copied over)
through Immich's restore flow of a server not set up yet (start-restore, upload, restore), and a
list of API reads answers identically there; the originals downloaded through the API are
byte-identical (SHA-1). Maintenance mode answers as Immich's; non-admins and anonymous callers
are refused on every backup and maintenance route. ``darkroom backup``/``restore`` do the same
from a shell, and refuse clearly when the stack is not running.

The embedding is one ``smart_search`` row written straight to PostgreSQL (a 512-d vector), not
produced by the embedding service: running the CLIP pipeline in two stacks would cost a minute
for no more proof that vectors survive a dump.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
import numpy as np
import pytest
from darkroom_events import BackupCreated
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import (
    User,
    first_admin,
    make_user,
    running_stack,
    stream_events,
    upload_jpeg,
    wait_processed,
)

#: The first stack runs what a library needs: upload, metadata, thumbnails.
SERVICES = ("ingest", "metadata", "thumbnail", "gateway")
#: Ceiling of a restore or a backup (a progress poll, not an expectation).
RESTORE_CEILING_S = 300.0


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


class Library:
    """The first stack with its users and what they own."""

    def __init__(self, stack: Stack, admin: User, other: User) -> None:
        self.stack = stack
        self.admin = admin
        self.other = other
        self.asset_ids: list[str] = []
        self.sha1: dict[str, str] = {}
        self.album_id = ""
        self.person_id = ""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """A stack with 3 photos, an album, a person with a face on one photo, an embedding and a
    changed setting (trash.days 12)."""
    with running_stack(tmp_path_factory.mktemp("backup-a"), services=SERVICES) as stack:
        admin = first_admin(stack)
        lib = Library(stack, admin, make_user(stack, admin))
        for seed in range(3):
            data = _jpeg(seed)
            asset_id = upload_jpeg(admin, data, f"2021-0{seed + 1}-02T10:00:00.000Z")
            lib.asset_ids.append(asset_id)
            lib.sha1[asset_id] = hashlib.sha1(data).hexdigest()
        wait_processed(admin, lib.asset_ids, timeout=RESTORE_CEILING_S)
        c = admin.client
        r = c.post("/api/albums", json={"albumName": "Kept", "assetIds": lib.asset_ids[:2]})
        assert r.status_code == 201, r.text
        lib.album_id = r.json()["id"]
        r = c.post("/api/people", json={"name": "Ada"})
        assert r.status_code == 201, r.text
        lib.person_id = r.json()["id"]
        face = {
            "assetId": lib.asset_ids[0],
            "personId": lib.person_id,
            "imageWidth": 64,
            "imageHeight": 48,
            "x": 10,
            "y": 8,
            "width": 20,
            "height": 20,
        }
        assert c.post("/api/faces", json=face).status_code == 201
        config = c.get("/api/system-config").json()
        config["trash"]["days"] = 12
        assert c.put("/api/system-config", json=config).status_code == 200
        asyncio.run(_add_embedding(stack, lib.asset_ids[1], admin.id))
        yield lib


async def _add_embedding(stack: Stack, asset_id: str, owner_id: str) -> None:
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        vector = "[" + ",".join(f"{v:.6f}" for v in np.linspace(-1, 1, 512)) + "]"
        await conn.execute(
            "INSERT INTO smart_search (asset_id, owner_id, model, embedding) "
            "VALUES ($1, $2, 'ViT-B-32__openai', $3::vector)",
            uuid.UUID(asset_id),
            uuid.UUID(owner_id),
            vector,
        )
    finally:
        await conn.close()


async def _restore_sweeps(stack: Stack) -> list[tuple[int, bool]]:
    """(attempts, finished) of each "missing" sweep run after a restore (nightly.py)."""
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        rows = await conn.fetch(
            "SELECT attempts, finished_at IS NOT NULL AND error IS NULL FROM scheduled_runs "
            "WHERE task = 'missing-after-restore'"
        )
        return [(r[0], r[1]) for r in rows]
    finally:
        await conn.close()


def _wait_restore_sweep(stack: Stack) -> list[tuple[int, bool]]:
    """The restore sweeps, once one has finished (polled up to RESTORE_CEILING_S)."""
    deadline = time.monotonic() + RESTORE_CEILING_S
    while True:
        sweeps = asyncio.run(_restore_sweeps(stack))
        if any(done for _, done in sweeps) or time.monotonic() > deadline:
            return sweeps
        time.sleep(0.2)


async def _embeddings(stack: Stack) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        rows = await conn.fetch(
            "SELECT asset_id::text, embedding::text FROM smart_search ORDER BY asset_id"
        )
        return [(r[0], r[1]) for r in rows]
    finally:
        await conn.close()


def _reads(client: httpx.Client, lib: Library) -> dict[str, object]:
    """The API reads that must answer identically after a restore."""
    out: dict[str, object] = {}
    for asset_id in lib.asset_ids:
        out[f"asset {asset_id}"] = client.get(f"/api/assets/{asset_id}").json()
        out[f"faces {asset_id}"] = client.get("/api/faces", params={"id": asset_id}).json()
    out["albums"] = client.get("/api/albums").json()
    out["album"] = client.get(f"/api/albums/{lib.album_id}").json()
    out["people"] = client.get("/api/people").json()
    out["person"] = client.get(f"/api/people/{lib.person_id}").json()
    out["search"] = client.post("/api/search/metadata", json={}).json()
    out["config"] = client.get("/api/system-config").json()
    out["buckets"] = client.get("/api/timeline/buckets").json()
    out["users"] = client.get("/api/admin/users").json()
    return out


def _wait_restored(client: httpx.Client) -> dict[str, object]:
    """Poll the maintenance status until the restore is over; its last answer."""
    deadline = time.monotonic() + RESTORE_CEILING_S
    while time.monotonic() < deadline:
        status = client.get("/api/admin/maintenance/status").json()
        if not status["active"] or status.get("error"):
            return dict(status)
        time.sleep(0.5)
    raise AssertionError(f"restore not over in {RESTORE_CEILING_S} s: {status}")


def test_backup_routes_refuse_non_admins_and_anonymous(library: Library) -> None:
    """Every backup/maintenance route: 403 for a non-admin, 401 anonymous (as Immich's
    admin routes); the public ones (status, login, start-restore) give nothing away."""
    anon = httpx.Client(base_url=library.stack.url, timeout=60)
    routes = [
        ("GET", "/api/admin/database-backups", None),
        ("GET", "/api/admin/database-backups/x.sql.gz", None),
        ("DELETE", "/api/admin/database-backups", {"backups": ["x.sql.gz"]}),
        ("POST", "/api/admin/database-backups/upload", None),
        ("POST", "/api/admin/maintenance", {"action": "start"}),
        ("GET", "/api/admin/maintenance/detect-install", None),
    ]
    for method, path, body in routes:
        r = library.other.client.request(method, path, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json() == {"message": "Forbidden"}
        r = anon.request(method, path, json=body)
        assert r.status_code == 401, (path, r.status_code, r.text)
    assert anon.post("/api/admin/database-backups/start-restore").status_code == 400
    # outside maintenance Immich answers 400 whatever is sent
    assert anon.post("/api/admin/maintenance/login", json={"token": "nope"}).status_code == 400
    status = anon.get("/api/admin/maintenance/status")
    assert status.status_code == 200 and status.json() == {"action": "end", "active": False}


def _poll_status(client: httpx.Client, path: str, status: int, ceiling_s: float = 60) -> None:
    """Wait until ``path`` answers ``status`` (another replica sees a change within ~1 s)."""
    deadline = time.monotonic() + ceiling_s
    while True:
        try:
            if client.get(path).status_code == status:
                return
        except httpx.HTTPError:
            pass  # a replica still starting
        assert time.monotonic() < deadline, f"{path} never answered {status}"
        time.sleep(0.2)


def test_maintenance_mode_answers_as_immich(library: Library) -> None:
    """On: only the maintenance worker's routes answer, the rest 503 with Retry-After,
    /api/server/config says maintenanceMode, on every gateway replica; off again: everything
    answers as before."""
    admin = library.admin.client
    anon = httpx.Client(base_url=library.stack.url, timeout=60)
    port = free_port()
    proc, _ = library.stack.spawn_replica("gateway", env={"DARKROOM_PORT": str(port)})
    second = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"x-api-key": library.admin.api_key},
        timeout=60,
    )
    asset_path = f"/api/assets/{library.asset_ids[0]}"
    _poll_status(second, asset_path, 200)
    before = admin.get(f"/api/assets/{library.asset_ids[0]}")
    assert before.status_code == 200
    r = admin.post("/api/admin/maintenance", json={"action": "start"})
    assert r.status_code == 201, r.text
    token = r.cookies.get("immich_maintenance_token")
    assert token
    try:
        for client, path in (
            (admin, f"/api/assets/{library.asset_ids[0]}"),
            (anon, "/api/users/me"),
        ):
            r = client.get(path)
            assert r.status_code == 503, (path, r.text)
            assert r.json() == {"message": "Server is in maintenance mode"}
            assert r.headers["retry-after"]
        assert (
            anon.post("/api/auth/login", json={"email": "a@b.c", "password": "x"}).status_code
            == 503
        )
        _poll_status(second, asset_path, 503)  # the other replica agrees
        assert second.get("/api/server/config").json()["maintenanceMode"] is True
        assert anon.get("/api/server/config").json()["maintenanceMode"] is True
        assert anon.get("/api/server/version").status_code == 200
        status = anon.get("/api/admin/maintenance/status").json()
        assert status == {"action": "start", "active": True}
        login = anon.post("/api/admin/maintenance/login", json={"token": token})
        assert login.status_code == 201 and login.json() == {"username": "Admin"}  # its name
        # the maintenance login alone (no user) reaches the backup routes
        assert anon.get("/api/admin/database-backups").status_code == 200
        assert admin.get("/api/admin/maintenance/detect-install").status_code == 200
    finally:
        assert admin.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
    assert anon.get("/api/server/config").json()["maintenanceMode"] is False
    assert admin.get(f"/api/assets/{library.asset_ids[0]}").json() == before.json()
    try:
        _poll_status(second, asset_path, 200)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # the maintenance login is worth nothing once maintenance is over
    assert anon.get("/api/admin/database-backups").status_code == 401


def test_backup_is_restored_into_a_fresh_stack(
    library: Library, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Backup (the manual job), download, restore into a fresh stack through Immich's flow of
    a server not set up yet; the reads answer identically and originals are byte-identical."""
    admin = library.admin.client
    expected = _reads(admin, library)
    embeddings = asyncio.run(_embeddings(library.stack))
    assert len(embeddings) == 1
    r = admin.post("/api/jobs", json={"name": "backup-database"})
    assert r.status_code == 204, r.text
    listed = admin.get("/api/admin/database-backups").json()["backups"]
    assert len(listed) == 1 and listed[0]["timezone"] == "UTC", listed
    name = listed[0]["filename"]
    assert name.startswith("darkroom-db-backup-") and name.endswith(".sql.gz")
    assert library.stack.nats is not None
    created = asyncio.run(stream_events(library.stack.nats.url, "darkroom.backup.created"))
    assert [msgspec.json.decode(e, type=BackupCreated).filename for e in created] == [name]
    download = admin.get(f"/api/admin/database-backups/{name}")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert len(download.content) == listed[0]["filesize"]
    assert gzip.decompress(download.content).startswith(b"--\n-- PostgreSQL database dump")
    bad = admin.post(
        "/api/admin/database-backups/upload",
        files={"file": ("junk.sql.gz", gzip.compress(b"SELECT 1;"), "application/gzip")},
    )
    assert bad.status_code == 400, bad.text
    assert len(admin.get("/api/admin/database-backups").json()["backups"]) == 1

    data_b = tmp_path_factory.mktemp("backup-b")
    source = library.stack.config.data_dir.resolve() / "storage"
    shutil.copytree(source, data_b / "storage", ignore=shutil.ignore_patterns("backups"))
    with running_stack(data_b, services=("gateway",)) as fresh:
        anon = httpx.Client(base_url=fresh.url, timeout=120)
        assert anon.get("/api/server/config").json()["isInitialized"] is False
        assert anon.post("/api/admin/database-backups/start-restore").status_code == 201
        assert anon.get("/api/server/config").json()["maintenanceMode"] is True
        up = anon.post(
            "/api/admin/database-backups/upload",
            files={"file": (name, download.content, "application/gzip")},
        )
        assert up.status_code == 201, up.text
        # a dump that breaks halfway: the database is put back, maintenance stays on
        broken = gzip.compress(
            b"--\n-- PostgreSQL database dump\n--\nCREATE TABLE _yoyo_migration (x int);\n"
            b"SELECT no_such_function();\n"
        )
        up = anon.post(
            "/api/admin/database-backups/upload",
            files={"file": ("broken.sql.gz", broken, "application/gzip")},
        )
        assert up.status_code == 201, up.text
        r = anon.post(
            "/api/admin/maintenance",
            json={"action": "restore_database", "restoreBackupFilename": "uploaded-broken.sql.gz"},
        )
        assert r.status_code == 201, r.text
        status = _wait_restored(anon)
        assert status["active"] is True and "put back as it was" in str(status["error"]), status
        assert anon.get("/api/server/config").json()["isInitialized"] is False
        names = [b["filename"] for b in anon.get("/api/admin/database-backups").json()["backups"]]
        doomed = ("uploaded-broken", "darkroom-restore-point-")
        leftovers = [n for n in names if n.startswith(doomed)]
        assert len(leftovers) == 2, names  # the restore point is kept when a restore failed
        r = anon.request("DELETE", "/api/admin/database-backups", json={"backups": leftovers})
        assert r.status_code == 200, r.text

        uploaded = "uploaded-" + name
        assert [
            b["filename"] for b in anon.get("/api/admin/database-backups").json()["backups"]
        ] == [uploaded]
        r = anon.post(
            "/api/admin/maintenance",
            json={"action": "restore_database", "restoreBackupFilename": uploaded},
        )
        assert r.status_code == 201, r.text
        status = _wait_restored(anon)
        assert status == {"action": "end", "active": False}, status
        restored = httpx.Client(
            base_url=fresh.url, headers={"x-api-key": library.admin.api_key}, timeout=60
        )
        assert _reads(restored, library) == expected
        assert asyncio.run(_embeddings(fresh)) == embeddings
        for asset_id, sha1 in library.sha1.items():
            original = restored.get(f"/api/assets/{asset_id}/original")
            assert original.status_code == 200
            assert hashlib.sha1(original.content).hexdigest() == sha1


def _backups(user: User) -> list[dict[str, object]]:
    r = user.client.get("/api/admin/database-backups")
    assert r.status_code == 200, r.text
    return list(r.json()["backups"])


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "darkroom_stack.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=RESTORE_CEILING_S,
        check=False,
    )


def test_cli_backup_and_restore(library: Library, tmp_path: Path) -> None:
    """``darkroom backup --output`` then ``darkroom restore FILE`` on the running stack: the
    reads answer as before; both refuse clearly when no stack runs."""
    stack = library.stack
    assert stack.nats is not None
    env = {
        "DARKROOM_DATA_DIR": str(stack.config.data_dir.resolve()),
        "DARKROOM_NATS_PORT": str(stack.nats.port),
    }
    before = _reads(library.admin.client, library)
    dump = tmp_path / "db.sql.gz"
    r = _cli("backup", "--output", str(dump), env=env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert gzip.decompress(dump.read_bytes()).startswith(b"--\n-- PostgreSQL database dump")
    listed = {b["filename"] for b in _backups(library.admin)}
    r = _cli("backup", "--keep", "1", env=env)  # into storage backups/, one kept
    assert r.returncode == 0, r.stderr + r.stdout
    now = _backups(library.admin)
    assert len(now) == 1 and now[0]["filename"] not in listed, now
    r = _cli("restore", str(dump), env=env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert _reads(library.admin.client, library) == before
    # the gateway queued "missing" for the restored database once (one claimed run)
    assert _wait_restore_sweep(stack) == [(1, True)]
    assert library.admin.client.get("/api/server/config").json()["maintenanceMode"] is False

    nowhere = {"DARKROOM_DATA_DIR": str(tmp_path / "none"), "DARKROOM_NATS_PORT": "1"}
    for args in (("restore", str(dump)), ("backup",)):
        r = _cli(*args, env=nowhere)
        assert r.returncode == 1
        assert "no Darkroom stack" in r.stdout + r.stderr and "darkroom up" in r.stdout + r.stderr
