"""Replays Immich's e2e/src/api/specs/library.e2e-spec.ts (``/libraries`` of 3.x).

Checked against the running stack: 401 anonymous and 403 non-admin; create with defaults
(``New External Library``, ``refreshedAt`` null, ``assetCount`` 0, default exclusions) and with
options; duplicate import paths or exclusion patterns refused (create and update); rename, an
empty name refused; import paths and exclusion patterns changed; ``Library not found``; a scan
imports ``directoryA/assetA.png`` findable by ``originalPath`` with EXIF, a capture date and a
thumbhash; an exclusion pattern (``**/directoryA``) keeps a folder out; several import paths,
with commas, braces, quotes, ``*``, ``[``, ``?``, ``(``, ``#``, ``%``, ``:``, ``|`` and ``\\`` in
their names, are all scanned. Those pass (tests/test_libraries.py covers the scan). Kept here is
what differed:

* an empty exclusion pattern is refused (400 ``each value in exclusionPatterns should not be
  empty``; Immich's ``@IsNotEmpty({ each: true })`` on Create/UpdateLibraryDto) where Darkroom
  stored ``[""]``; an empty import path is refused with Immich's message
  (``each value in importPaths should not be empty``), not as a relative path;
* a file whose content changed under an unchanged modification time is not read again (Immich
  looks at the mtime only: "should not reimport a file with unchanged timestamp"); Darkroom
  also compared sizes and re-read it. A changed mtime still re-reads it ("should reimport a
  modified file").
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from darkroom_stack.testing import samples_dir

from tests.conftest import User, noise_jpeg, wait_processed

#: A photo whose EXIF names a NIKON D750 (Immich's e2e copies the same file over the original).
TANNERS = "search/immich_albums/nature/tanners_ridge.jpg"
#: 1984-03-10T14:00:00Z, the mtime Immich's e2e gives the file (``utimes`` 447_775_200_000 ms).
MTIME = 447_775_200.0


def test_empty_import_paths_and_exclusion_patterns_are_refused(admin: User) -> None:
    r = admin.client.post("/api/libraries", json={"ownerId": admin.id})
    assert r.status_code == 201, r.text
    library = r.json()["id"]
    for field in ("exclusionPatterns", "importPaths"):
        message = f"each value in {field} should not be empty"
        r = admin.client.put(f"/api/libraries/{library}", json={field: [""]})
        assert r.status_code == 400 and r.json()["message"] == message, r.text
        r = admin.client.post("/api/libraries", json={"ownerId": admin.id, field: [""]})
        assert r.status_code == 400 and r.json()["message"] == message, r.text
    got = admin.client.get(f"/api/libraries/{library}").json()
    assert "" not in got["exclusionPatterns"] and got["importPaths"] == []


def _model(user: User, asset_id: str) -> Any:
    return (user.client.get(f"/api/assets/{asset_id}").json().get("exifInfo") or {}).get("model")


def test_a_file_is_read_again_only_when_its_mtime_changed(admin: User, tmp_path: Path) -> None:
    samples = samples_dir()
    if samples is None or not (samples / TANNERS).is_file():
        pytest.skip(f"sample media not found: {TANNERS} (set DARKROOM_SAMPLES)")
    files: dict[str, Path] = {}
    ids: dict[str, str] = {}
    libraries: dict[str, str] = {}
    for case in ("touched", "untouched"):
        files[case] = tmp_path / case / "asset.jpg"
        files[case].parent.mkdir()
        files[case].write_bytes(noise_jpeg(4801))
        os.utime(files[case], (MTIME, MTIME))
        r = admin.client.post(
            "/api/libraries", json={"ownerId": admin.id, "importPaths": [str(files[case].parent)]}
        )
        assert r.status_code == 201, r.text
        libraries[case] = r.json()["id"]
        assert admin.client.post(f"/api/libraries/{libraries[case]}/scan").status_code == 204
    deadline = time.monotonic() + 120
    while len(ids) < 2:
        assert time.monotonic() < deadline, "the first scans imported nothing in 120 s"
        for case, library in libraries.items():
            found = admin.client.post("/api/search/metadata", json={"libraryId": library})
            if items := found.json()["assets"]["items"]:
                ids[case] = items[0]["id"]
        time.sleep(0.3)
    wait_processed(admin, list(ids.values()))  # the generated JPEGs' metadata is read
    assert _model(admin, ids["touched"]) is None and _model(admin, ids["untouched"]) is None
    for case, mtime in (("touched", MTIME + 0.001), ("untouched", MTIME)):
        shutil.copyfile(samples / TANNERS, files[case])
        os.utime(files[case], (mtime, mtime))
        assert admin.client.post(f"/api/libraries/{libraries[case]}/scan").status_code == 204
    deadline = time.monotonic() + 120
    while _model(admin, ids["touched"]) != "NIKON D750":
        assert time.monotonic() < deadline, "the file with a new mtime was not read again"
        time.sleep(0.3)
    time.sleep(2)  # both scans were requested together: the other one is done by now
    assert _model(admin, ids["untouched"]) is None
    for case, library in libraries.items():  # still one asset per file
        found = admin.client.post("/api/search/metadata", json={"libraryId": library}).json()
        assert [a["id"] for a in found["assets"]["items"]] == [ids[case]]
