"""External libraries (issue #17 item 1) over HTTP against the running embedded stack.

What this proves, with a folder of real sample photos made read-only as the import path:

- a scan imports the wanted files in place (``originalPath`` is the file, ``libraryId`` the
  library) with their EXIF, an XMP sidecar beside a file and thumbnails; exclusion patterns
  (``**/*.tif``, ``**/Raw/**``) and non-media files keep files out; statistics count them;
- a file added while ``library.watch.enabled`` is on is imported by the watcher (the time it
  took is printed; the issue's 10 s is asserted only on an idle machine, see
  :func:`test_the_watcher_imports_a_new_file`);
- a deleted file goes offline (``isOffline`` and the trash, as Immich) and returns when restored;
- the files are byte-identical and untouched (SHA-256 and mtime before/after) and never moved:
  downloads serve their bytes from where they are;
- import paths are validated; a non-admin gets 403 and an anonymous client 401 on every library
  route; another user cannot read a library asset; deleting the library removes its assets
  and leaves the files.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pyvips
from darkroom_db import assets as db_assets
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, db_rows, make_user, noise_jpeg, wait_processed

SAMPLES = samples_dir()
pytestmark = pytest.mark.skipif(
    SAMPLES is None,
    reason="sample media not found: set DARKROOM_SAMPLES or place ../shared/samples",
)

JPG = "photos/ianare_exif-samples/jpg"
#: Name in the library -> sample file.
FILES = {
    "canon.jpg": f"{JPG}/Canon_PowerShot_S40.jpg",
    "trip/kodak.jpg": f"{JPG}/Kodak_CX7530.jpg",  # has GPS
    "trip/nikon.jpg": f"{JPG}/Nikon_COOLPIX_P1.jpg",  # described by its sidecar
    "Raw/excluded.jpg": f"{JPG}/Nikon_D70.jpg",  # **/Raw/**
    "scan.tif": "photos/photoprism/internal/photoprism/testdata/rotate/6.tiff",  # **/*.tif
}
IMPORTED = ("canon.jpg", "trip/kodak.jpg", "trip/nikon.jpg")
LATE = f"{JPG}/Olympus_C8080WZ.jpg"  # added while the watcher runs
SIDECAR = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">From the sidecar</rdf:li></rdf:Alt>
   </dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""
#: Generous ceiling for anything the pipeline does (a loaded 2-core machine); tests poll.
CEILING = 240.0


def _fingerprints(root: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and mtime (ns) of every file under ``root``."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_only(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)


def _writable(folder: Path) -> None:
    folder.chmod(0o755)


def _uploads(user: User) -> bool:
    """Whether an upload is accepted now (ingest answers: 201), not 503 "try again"."""
    r = user.client.post(
        "/api/assets",
        files={"assetData": ("probe.jpg", noise_jpeg(int(time.monotonic() * 1000)), "image/jpeg")},
        data={
            "deviceAssetId": f"probe-{time.monotonic_ns()}",
            "deviceId": "test",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
        },
    )
    assert r.status_code in (201, 503), r.text
    return r.status_code == 201


def _poll(what: str, check: Any, ceiling: float = CEILING) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``ceiling`` seconds."""
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {ceiling} s")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert SAMPLES is not None
    root = tmp_path_factory.mktemp("library") / "photos"
    for name, sample in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / sample, root / name)
    (root / "trip/nikon.jpg.xmp").write_bytes(SIDECAR)
    (root / "notes.txt").write_text("not a photo")
    _read_only(root)
    yield root
    for p in [root, *root.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def watching(admin: User) -> Iterator[None]:
    """``library.watch.enabled`` on for this module, as it was afterwards."""
    config = admin.client.get("/api/system-config").json()
    before = config["library"]["watch"]["enabled"]
    config["library"]["watch"]["enabled"] = True
    assert admin.client.put("/api/system-config", json=config).status_code == 200
    yield
    config = admin.client.get("/api/system-config").json()
    config["library"]["watch"]["enabled"] = before
    assert admin.client.put("/api/system-config", json=config).status_code == 200


@pytest.fixture(scope="module")
def before(folder: Path) -> dict[str, tuple[str, int]]:
    return _fingerprints(folder)


@pytest.fixture(scope="module")
def library(admin: User, owner: User, folder: Path, watching: None, before: object) -> str:
    r = admin.client.post(
        "/api/libraries",
        json={
            "ownerId": owner.id,
            "name": "Holidays",
            "importPaths": [str(folder)],
            "exclusionPatterns": ["**/*.tif", "**/Raw/**"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ownerId"] == owner.id and body["assetCount"] == 0
    assert body["importPaths"] == [str(folder)] and body["refreshedAt"] is None
    return str(body["id"])


def _library_assets(user: User, library_id: str, **extra: object) -> dict[str, dict[str, Any]]:
    r = user.client.post(
        "/api/search/metadata", json={"libraryId": library_id, "size": 1000, **extra}
    )
    assert r.status_code == 200, r.text
    return {a["originalPath"]: a for a in r.json()["assets"]["items"]}


@pytest.fixture(scope="module")
def scanned(admin: User, owner: User, library: str, folder: Path) -> dict[str, dict[str, Any]]:
    """Path -> AssetResponseDto of the imported files, once processed."""
    assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204
    wanted = {str(folder / name) for name in IMPORTED}

    def imported() -> dict[str, dict[str, Any]] | None:
        found = _library_assets(owner, library)
        return found if set(found) >= wanted else None

    found = _poll("the scan's imports", imported)
    wait_processed(owner, [a["id"] for a in found.values()], timeout=CEILING)
    return {p: owner.client.get(f"/api/assets/{a['id']}").json() for p, a in found.items()}


def test_non_admins_and_anonymous_are_refused(stack: Stack, stranger: User, library: str) -> None:
    anon = httpx.Client(base_url=stack.url, timeout=60)
    calls = [
        ("GET", "/api/libraries", None),
        ("POST", "/api/libraries", {"ownerId": stranger.id}),
        ("GET", f"/api/libraries/{library}", None),
        ("PUT", f"/api/libraries/{library}", {"name": "mine"}),
        ("DELETE", f"/api/libraries/{library}", None),
        ("POST", f"/api/libraries/{library}/scan", None),
        ("GET", f"/api/libraries/{library}/statistics", None),
        ("POST", f"/api/libraries/{library}/validate", {"importPaths": ["/"]}),
    ]
    for method, path, body in calls:
        r = stranger.client.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert "message" in r.json()
        r = anon.request(method, path, json=body)
        assert r.status_code == 401, (method, path, r.text)


def test_import_paths_are_validated(
    admin: User, stack: Stack, library: str, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "file.jpg").write_bytes(b"x")
    media = str(stack.config.data_dir.resolve() / "storage")
    paths = [str(folder), "relative/path", str(tmp_path / "missing"), str(tmp_path / "file.jpg")]
    r = admin.client.post(f"/api/libraries/{library}/validate", json={"importPaths": paths})
    assert r.status_code == 200, r.text
    results = {v["importPath"]: v for v in r.json()["importPaths"]}
    assert results[str(folder)] == {"importPath": str(folder), "isValid": True}
    assert not any(results[p]["isValid"] for p in paths[1:])
    assert "absolute" in results["relative/path"]["message"]
    assert "ENOENT" in results[str(tmp_path / "missing")]["message"]
    assert results[str(tmp_path / "file.jpg")]["message"] == "Not a directory"
    r = admin.client.put(f"/api/libraries/{library}", json={"importPaths": [media]})
    assert r.status_code == 400
    assert "media upload folder" in r.json()["message"]
    r = admin.client.get(f"/api/libraries/{library}")
    assert r.json()["importPaths"] == [str(folder)]  # a refused update changed nothing


def test_a_scan_imports_the_files_in_place(
    owner: User, admin: User, library: str, folder: Path, scanned: dict[str, dict[str, Any]]
) -> None:
    assert set(scanned) == {str(folder / name) for name in IMPORTED}  # exclusions held
    for path, asset in scanned.items():
        assert asset["libraryId"] == library and asset["ownerId"] == owner.id
        assert asset["isOffline"] is False and asset["isTrashed"] is False
        original = owner.client.get(f"/api/assets/{asset['id']}/original")
        assert original.status_code == 200
        assert original.content == Path(path).read_bytes()  # served from the file itself
    canon = scanned[str(folder / "canon.jpg")]["exifInfo"]
    assert canon["make"] == "Canon" and canon["dateTimeOriginal"].startswith("2003-12-14")
    kodak = scanned[str(folder / "trip/kodak.jpg")]["exifInfo"]
    assert abs(kodak["latitude"] - -0.3713) < 0.01 and abs(kodak["longitude"] - 36.056) < 0.01
    nikon = scanned[str(folder / "trip/nikon.jpg")]["exifInfo"]
    assert nikon["description"] == "From the sidecar"
    stats = admin.client.get(f"/api/libraries/{library}/statistics").json()
    usage = sum((folder / name).stat().st_size for name in IMPORTED)
    assert stats == {"photos": 3, "videos": 0, "total": 3, "usage": usage}
    listed = admin.client.get("/api/libraries").json()
    mine = next(lib for lib in listed if lib["id"] == library)
    assert mine["assetCount"] == 3 and mine["refreshedAt"] is not None
    timeline = owner.client.get("/api/timeline/buckets").json()
    assert sum(b["count"] for b in timeline) >= 3  # in the owner's timeline like any asset


def test_another_user_cannot_read_library_assets(
    stranger: User, scanned: dict[str, dict[str, Any]]
) -> None:
    asset_id = next(iter(scanned.values()))["id"]
    for path in (f"/api/assets/{asset_id}", f"/api/assets/{asset_id}/original"):
        r = stranger.client.get(path)
        assert r.status_code == 400, r.text
        assert r.json()["message"].startswith("Not found or no asset.")


def test_the_watcher_imports_a_new_file(
    owner: User, library: str, folder: Path, scanned: object
) -> None:
    assert SAMPLES is not None
    target = folder / "trip" / "late.jpg"
    _writable(target.parent)
    try:  # whole, then renamed into place (the watcher sees the rename)
        shutil.copyfile(SAMPLES / LATE, target.parent / ".late.part")
        started = time.monotonic()
        os.replace(target.parent / ".late.part", target)
    finally:
        target.parent.chmod(0o555)
    target.chmod(0o444)
    _poll("the watcher's import", lambda: str(target) in _library_assets(owner, library), CEILING)
    took = time.monotonic() - started
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    sys.stderr.write(f"\nwatcher imported the new file in {took:.1f} s (load/core {load:.2f})\n")
    if load < 0.5:  # the 10 s, on a machine that is not busy with other work
        assert took < 10, f"the watcher took {took:.1f} s"


def test_a_changed_file_is_read_again(owner: User, admin: User, library: str, folder: Path) -> None:
    """The watched file's content changes (size and mtime): its asset is re-read in place."""
    assert SAMPLES is not None
    target = folder / "trip" / "late.jpg"
    asset = _library_assets(owner, library)[str(target)]
    _writable(target.parent)
    try:
        shutil.copyfile(SAMPLES / f"{JPG}/Nikon_D70.jpg", target.parent / ".late.part")
        os.replace(target.parent / ".late.part", target)
    finally:
        target.parent.chmod(0o555)
    target.chmod(0o444)
    assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204

    def reread() -> dict[str, Any] | None:
        info = owner.client.get(f"/api/assets/{asset['id']}").json()
        return info if (info.get("exifInfo") or {}).get("make") == "NIKON CORPORATION" else None

    info = _poll("the changed file's new metadata", reread)
    assert info["checksum"] != asset["checksum"] and info["originalPath"] == str(target)
    original = owner.client.get(f"/api/assets/{asset['id']}/original")
    assert original.content == target.read_bytes()


def test_a_deleted_file_goes_offline_and_comes_back(
    owner: User,
    admin: User,
    library: str,
    folder: Path,
    scanned: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    path = folder / "canon.jpg"
    asset_id = scanned[str(path)]["id"]
    aside = tmp_path / "canon.jpg"
    _writable(folder)
    try:
        os.replace(path, aside)
    finally:
        folder.chmod(0o555)
    assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204

    def asset() -> dict[str, Any]:
        return owner.client.get(f"/api/assets/{asset_id}").json()

    gone = _poll("offline", lambda: (a := asset())["isOffline"] and a)
    assert gone["isTrashed"] is True  # offline assets are in the trash, as Immich
    r = owner.client.post("/api/trash/restore/assets", json={"ids": [asset_id]})
    # Immich counts the ids sent; its file is gone: it stays there
    assert r.status_code == 200 and r.json()["count"] == 1
    assert asset()["isTrashed"] is True
    assert str(path) not in _library_assets(owner, library)  # not in the timeline or search
    _writable(folder)
    try:
        os.replace(aside, path)  # the same file, bytes and mtime, back where it was
    finally:
        folder.chmod(0o555)
    assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204
    back = _poll("online", lambda: not (a := asset())["isOffline"] and a)
    assert back["isTrashed"] is False and back["id"] == asset_id  # the same asset
    # every scan so far (on demand, the watcher's, its catch-up) made each file one asset
    paths = list(_library_assets(owner, library))
    assert len(paths) == len(set(paths)) == 4
    stats = admin.client.get(f"/api/libraries/{library}/statistics").json()
    assert stats["total"] == stats["photos"] == 4


def test_a_crash_mid_scan_loses_nothing_and_imports_nothing_twice(
    stack: Stack, admin: User, owner: User, tmp_path: Path
) -> None:
    """Ingest kills itself after every 5th commit that carries events (the test-only switch
    ``DARKROOM_FAULT_AFTER_COMMIT``) while it walks a library in batches of 2 paths and imports
    them: the supervisor restarts it, the walk and the batches are redelivered, and every file
    ends as exactly one asset."""
    folder = tmp_path / "crash"
    folder.mkdir()
    for n in range(6):
        image = pyvips.Image.xyz(40 + n, 30).extract_band(0).cast("uchar")
        (folder / f"p{n}.jpg").write_bytes(image.jpegsave_buffer())
    made = admin.client.post(
        "/api/libraries", json={"ownerId": owner.id, "importPaths": [str(folder)]}
    )
    assert made.status_code == 201, made.text
    crash_library = made.json()["id"]
    env = stack.config.env
    env.update({"DARKROOM_FAULT_AFTER_COMMIT": "ingest:5", "DARKROOM_LIBRARY_SCAN_BATCH": "2"})
    try:
        before = stack.processes["ingest"].pid
        stack.kill("ingest")  # started again by the supervisor, armed
        armed = _poll(
            "ingest restarted", lambda: (pid := stack.processes["ingest"].pid) != before and pid
        )
        assert admin.client.post(f"/api/libraries/{crash_library}/scan").status_code == 204
        found = _poll(
            "every file imported", lambda: len(_library_assets(owner, crash_library)) >= 6 or None
        )
        assert found
        assert stack.processes["ingest"].pid != armed  # the fault did kill it during the scan
    finally:
        env.pop("DARKROOM_FAULT_AFTER_COMMIT", None)
        env.pop("DARKROOM_LIBRARY_SCAN_BATCH", None)
        with contextlib.suppress(ProcessLookupError):  # restarted clean
            stack.kill("ingest")
        # the modules after this one upload at once: wait until ingest answers again
        probe = make_user(stack, admin)
        _poll("ingest answering uploads again", lambda: _uploads(probe))
    paths = list(_library_assets(owner, crash_library))
    assert sorted(paths) == sorted(str(folder / f"p{n}.jpg") for n in range(6))
    assert admin.client.delete(f"/api/libraries/{crash_library}").status_code == 204


def test_deleting_a_library_while_an_import_commits_takes_the_import_too(
    stack: Stack, admin: User, owner: User, tmp_path: Path
) -> None:
    """A scan batch redelivered after a crash can import a file while the library is deleted.
    Here an import's transaction is open (its asset inserted, not committed) when the delete
    comes: the delete waits for it on the library row, then purges that asset too and answers
    204, leaving neither the library nor an asset of it."""
    folder = tmp_path / "racing"
    folder.mkdir()
    (folder / "late.jpg").write_bytes(noise_jpeg(7))
    made = admin.client.post(
        "/api/libraries", json={"ownerId": owner.id, "importPaths": [str(folder)]}
    )
    assert made.status_code == 201, made.text
    library_id = made.json()["id"]
    url = stack.env()["DARKROOM_DATABASE_URL"]

    async def race() -> tuple[int, uuid.UUID]:
        importing = await asyncpg.connect(url)
        watcher = await asyncpg.connect(url)
        try:
            tx = importing.transaction()
            await tx.start()
            now = datetime.now(UTC)
            row = await db_assets.insert_asset(
                importing,
                db_assets.NewAsset(
                    id=uuid.uuid4(),
                    owner_id=uuid.UUID(owner.id),
                    device_asset_id="late.jpg",
                    device_id="Library Import",
                    type="IMAGE",
                    original_path=str(folder / "late.jpg"),
                    original_file_name="late.jpg",
                    original_mime_type="image/jpeg",
                    checksum=hashlib.sha1(b"late").digest(),
                    file_size=1,
                    file_created_at=now,
                    file_modified_at=now,
                ),
                library_id=uuid.UUID(library_id),
            )
            assert row is not None
            deleting = asyncio.create_task(
                asyncio.to_thread(admin.client.delete, f"/api/libraries/{library_id}")
            )
            # the delete reaches the library row and waits for this transaction's key share
            while not await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%FROM libraries WHERE id = $1%'"
            ):
                assert not deleting.done(), (await deleting).text
                await asyncio.sleep(0.05)
            await tx.commit()
            return (await deleting).status_code, row.id
        finally:
            await importing.close()
            await watcher.close()

    status, late_id = asyncio.run(race())
    assert status == 204
    assert owner.client.get(f"/api/assets/{late_id}").status_code == 400
    assert not db_rows(stack, "SELECT id FROM assets WHERE id = $1", late_id)
    assert not db_rows(stack, "SELECT id FROM libraries WHERE id = $1", uuid.UUID(library_id))


def test_the_files_were_never_written(
    folder: Path, before: dict[str, tuple[str, int]], scanned: object
) -> None:
    after = _fingerprints(folder)
    after.pop("trip/late.jpg", None)  # added by the watcher test
    assert after == before
    for p in folder.rglob("*"):
        assert not stat.S_IMODE(p.stat().st_mode) & 0o222, p  # still read-only


def test_deleting_the_library_removes_its_assets_not_the_files(
    owner: User, admin: User, library: str, folder: Path, scanned: dict[str, dict[str, Any]]
) -> None:
    ids = [a["id"] for a in scanned.values()]
    assert admin.client.delete(f"/api/libraries/{library}").status_code == 204
    for asset_id in ids:
        assert owner.client.get(f"/api/assets/{asset_id}").status_code == 400
    assert admin.client.get(f"/api/libraries/{library}").status_code == 400
    assert all((folder / name).is_file() for name in IMPORTED)
