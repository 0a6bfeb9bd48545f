"""The storage template (issue #17 item 2), end to end on a real stack.

With the template on (PUT /api/system-config), uploads land at ``library/<label>/<template>``
with Immich's ``+1`` collision suffix and their sidecar beside them; with it off files stay in
``upload/``; a migration of 200 assets survives a kill -9 of the process moving files (every
original stays downloadable, byte-identical) and completes after the supervisor restarts it.

One lean stack for the module (no thumbnail/ML services: the moves need only ingest, metadata
and the gateway), so 200 assets cost seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from darkroom_storage.keys import is_temp_name

from .conftest import User, db_rows, first_admin, make_user, running_stack, save_config

SAMPLES = samples_dir()
SERVICES = ("ingest", "metadata", "gateway")
TEMPLATE = "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}"
#: Ceiling for progress waits on a loaded 2-core machine (not an expectation).
CEILING_S = 300.0


@pytest.fixture(scope="module")
def st_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: the tests switch the template on and off for the whole server."""
    with running_stack(tmp_path_factory.mktemp("storage-template"), services=SERVICES) as s:
        yield s


@pytest.fixture(scope="module")
def st_admin(st_stack: Stack) -> User:
    """The stack's admin."""
    return first_admin(st_stack)


def set_template(stack: Stack, admin: User, *, enabled: bool, template: str = TEMPLATE) -> None:
    """PUT /api/system-config with ``storageTemplate`` changed (hash verification on), then
    wait until ingest has applied it (so the next upload is handled under it)."""
    config = admin.client.get("/api/system-config").json()
    wanted = {"enabled": enabled, "hashVerificationEnabled": True, "template": template}
    save_config(stack, admin, {**config, "storageTemplate": wanted}, "ingest")


def paths(stack: Stack, ids: list[str]) -> dict[str, str]:
    """original_path of each asset."""
    rows = db_rows(stack, "SELECT id, original_path FROM assets WHERE id = ANY($1::uuid[])", ids)
    return {str(r["id"]): r["original_path"] for r in rows}


def wait_until(what: str, check: Any, ceiling_s: float = CEILING_S) -> None:
    """Poll ``check()`` until it is true (progress-based; the ceiling only catches a hang)."""
    deadline = time.monotonic() + ceiling_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not done within {ceiling_s} s"
        time.sleep(0.05)


#: Ingest's consumers of the storage template: new uploads, and migration runs.
CONSUMERS = (
    "ingest_darkroom_asset_metadata_extracted",
    "ingest_darkroom_storage_template_migration_requested",
)


def ingest_drained(stack: Stack) -> bool:
    """Whether ingest has handled every upload and migration event so far (its consumers have
    nothing pending or unacknowledged)."""

    async def read() -> bool:
        nc = await nats.connect(stack.env()["DARKROOM_NATS_URL"])
        try:
            js = nc.jetstream()
            for name in CONSUMERS:
                info = await js.consumer_info("DARKROOM", name)
                if info.num_pending or info.num_ack_pending:
                    return False
            return True
        finally:
            await nc.close()

    return asyncio.run(read())


def metadata_done(stack: Stack, ids: list[str]) -> bool:
    """Whether every asset has its metadata step done."""
    rows = db_rows(
        stack,
        "SELECT count(*) AS n FROM asset_job_status WHERE asset_id = ANY($1::uuid[]) "
        "AND metadata_extracted_at IS NOT NULL",
        ids,
    )
    return int(rows[0]["n"]) == len(ids)


def upload(user: User, name: str, data: bytes, created: str, sidecar: bytes | None = None) -> str:
    """POST /api/assets as @immich/cli does; the new asset's id."""
    files = {"assetData": (name, data, "application/octet-stream")}
    if sidecar is not None:
        files["sidecarData"] = (f"{name}.xmp", sidecar, "application/xml")
    r = user.client.post(
        "/api/assets",
        files=files,
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": created,
            "fileModifiedAt": created,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def jpeg(shade: int) -> bytes:
    """A small distinct JPEG (no EXIF: its capture time is the upload's fileCreatedAt)."""
    return bytes((pyvips.Image.black(16, 16) + shade).cast("uchar").jpegsave_buffer(Q=90))


def original(user: User, asset_id: str) -> bytes:
    """GET /api/assets/{id}/original."""
    r = user.client.get(f"/api/assets/{asset_id}/original")
    assert r.status_code == 200, (asset_id, r.status_code, r.text[:200])
    return r.content


def storage_file(stack: Stack, key: str) -> Path:
    """The file of a storage key (the embedded stack stores on the filesystem)."""
    return stack.config.data_dir / "storage" / key


XMP = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">beside me</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"""


def test_uploads_land_at_the_templated_path_with_collision_suffixes(
    st_stack: Stack, st_admin: User
) -> None:
    user = make_user(st_stack, st_admin)
    label = f"label-{uuid.uuid4().hex[:6]}"
    r = st_admin.client.put(f"/api/admin/users/{user.id}", json={"storageLabel": label})
    assert r.status_code == 200, r.text
    set_template(st_stack, st_admin, enabled=True)
    uploads: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if SAMPLES is not None:  # real photos: the capture date comes from their EXIF
        for path in sorted((SAMPLES / "photos/ianare_exif-samples/jpg/gps").glob("*.jpg"))[:2]:
            data = path.read_bytes()
            asset_id = upload(user, path.name, data, "2001-01-01T00:00:00.000Z")
            uploads[asset_id], names[asset_id] = data, path.name
    # Two different files with one name and one capture time: the second gets "+1".
    same = [upload(user, "same.jpg", jpeg(shade), "2021-06-15T10:00:00.000Z") for shade in (1, 2)]
    with_sidecar = upload(user, "side.jpg", jpeg(3), "2021-06-15T10:00:00.000Z", sidecar=XMP)
    for shade, asset_id in zip((1, 2), same, strict=True):
        uploads[asset_id], names[asset_id] = jpeg(shade), "same.jpg"
    uploads[with_sidecar], names[with_sidecar] = jpeg(3), "side.jpg"
    ids = list(uploads)
    wait_until(
        "uploads moved to the library",
        lambda: all(p.startswith("library/") for p in paths(st_stack, ids).values()),
    )
    rows = {
        str(r["id"]): r
        for r in db_rows(
            st_stack,
            "SELECT id, original_path, sidecar_path, local_date_time FROM assets "
            "WHERE id = ANY($1::uuid[])",
            ids,
        )
    }
    for asset_id in ids:
        row = rows[asset_id]
        when: datetime = row["local_date_time"]
        folder = f"library/{label}/{when:%Y}/{when:%Y-%m-%d}"
        stem = names[asset_id].rsplit(".", 1)[0]
        if asset_id in same:  # whichever was moved second gets the suffix
            assert row["original_path"] in (f"{folder}/same.jpg", f"{folder}/same+1.jpg")
        else:
            assert row["original_path"] == f"{folder}/{stem}.jpg", names[asset_id]
        assert storage_file(st_stack, row["original_path"]).read_bytes() == uploads[asset_id]
        assert original(user, asset_id) == uploads[asset_id]
    folder = f"library/{label}/2021/2021-06-15"
    got = {rows[i]["original_path"] for i in same}
    assert got == {f"{folder}/same.jpg", f"{folder}/same+1.jpg"}
    side = rows[with_sidecar]
    assert side["sidecar_path"] == side["original_path"] + ".xmp"
    assert storage_file(st_stack, side["sidecar_path"]).read_bytes() == XMP
    # Nothing is left at the upload keys, and no move is pending.
    left = storage_file(st_stack, f"upload/{user.id}")
    assert not [p for p in left.rglob("*") if p.is_file()] if left.exists() else True
    assert db_rows(st_stack, "SELECT * FROM asset_moves") == []


def test_migration_survives_kill_9_and_template_off_leaves_files(
    st_stack: Stack, st_admin: User
) -> None:
    user = make_user(st_stack, st_admin)
    set_template(st_stack, st_admin, enabled=False)
    uploads = {
        upload(
            user, f"gen{i:03d}.jpg", jpeg(i), f"2019-0{1 + i % 9}-1{i % 10}T08:00:00.000Z"
        ): jpeg(i)
        for i in range(200)
    }
    ids = list(uploads)
    wait_until("metadata of 200 uploads", lambda: metadata_done(st_stack, ids))
    wait_until("ingest handled every metadata event", lambda: ingest_drained(st_stack))
    # Template off: every original stays where the upload put it.
    assert all(p.startswith(f"upload/{user.id}/") for p in paths(st_stack, ids).values())

    set_template(st_stack, st_admin, enabled=True)

    def moved() -> int:
        return sum(p.startswith("library/") for p in paths(st_stack, ids).values())

    def request_migration() -> None:
        # Immich's job API: PUT /api/jobs/storageTemplateMigration {"command": "start"}
        r = st_admin.client.put(
            "/api/jobs/storageTemplateMigration", json={"command": "start", "force": False}
        )
        assert r.status_code == 200, r.text

    # Downloads go on while files move: each must succeed, byte-identical (readers follow a
    # move: the gateway reads the current key when the one it loaded is gone).
    stop_reading = threading.Event()
    read_errors: list[str] = []
    reads = [0]

    def keep_reading() -> None:
        while not stop_reading.is_set():
            for asset_id, data in uploads.items():
                if stop_reading.is_set():
                    return
                r = user.client.get(f"/api/assets/{asset_id}/original")
                reads[0] += 1
                if r.status_code != 200 or r.content != data:
                    read_errors.append(f"{asset_id}: {r.status_code}")

    reader = threading.Thread(target=keep_reading, daemon=True)
    reader.start()
    # What PUT /api/jobs/storageTemplateMigration {"command": "start"} announces.
    request_migration()
    ingest = st_stack.processes["ingest"]
    deadline = time.monotonic() + CEILING_S
    at_kill = 0
    while time.monotonic() < deadline and ingest.poll() is None:
        at_kill = moved()
        if at_kill >= 5:
            break
        time.sleep(0.01)
    st_stack.kill("ingest")  # SIGKILL mid-migration; the supervisor starts it again
    after_kill = moved()
    assert 1 <= at_kill <= after_kill < len(ids), f"the kill missed the migration ({at_kill})"
    # Right after the kill, before anyone settles anything: every original is readable.
    for asset_id, data in uploads.items():
        assert original(user, asset_id) == data
    wait_until("the migration completes after the restart", lambda: moved() == len(ids))
    stop_reading.set()
    reader.join(CEILING_S)
    assert reads[0] > 0 and read_errors == [], read_errors[:5]
    wait_until("no move left pending", lambda: not db_rows(st_stack, "SELECT 1 FROM asset_moves"))
    final = paths(st_stack, ids)
    assert len(set(final.values())) == len(ids)
    for asset_id, data in uploads.items():
        key = final[asset_id]
        assert key.startswith(f"library/{user.id}/2019/2019-"), key
        assert (
            hashlib.sha1(storage_file(st_stack, key).read_bytes()).digest()
            == hashlib.sha1(data).digest()
        )
        assert original(user, asset_id) == data
    # A copy the kill cut short is a temporary file (``.<name>.tmp-<hex>``): never an object,
    # and removed by the storage's temporary-file sweep; the objects are what must agree.
    left = storage_file(st_stack, f"upload/{user.id}")
    assert [p for p in left.rglob("*") if p.is_file() and not is_temp_name(p.name)] == []
    on_disk = {
        p.relative_to(storage_file(st_stack, "")).as_posix()
        for p in storage_file(st_stack, f"library/{user.id}").rglob("*")
        if p.is_file() and not is_temp_name(p.name)
    }
    assert on_disk == set(final.values())  # no copy left behind by the kill

    # Turning the template off leaves files where they are, even when a migration runs.
    set_template(st_stack, st_admin, enabled=False)
    request_migration()
    one = upload(user, "after-off.jpg", jpeg(250), "2022-02-02T02:02:02.000Z")
    wait_until("metadata of the upload", lambda: metadata_done(st_stack, [one]))
    wait_until("ingest handled it", lambda: ingest_drained(st_stack))
    assert paths(st_stack, [one])[one].startswith(f"upload/{user.id}/")
    assert paths(st_stack, ids) == final


def test_an_invalid_template_is_refused_when_saved(st_admin: User) -> None:
    config = st_admin.client.get("/api/system-config").json()
    for bad in ("{{y}}/{{nope}}/{{filename}}", "{{#if album}}{{album}}/{{filename}}"):
        config["storageTemplate"]["template"] = bad
        r = st_admin.client.put("/api/system-config", json=config)
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith("Invalid storage template: "), r.text
    saved = st_admin.client.get("/api/system-config").json()["storageTemplate"]["template"]
    assert saved == TEMPLATE
