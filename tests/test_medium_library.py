"""Replays Immich's server/test/medium/specs/services/library.service.spec.ts over HTTP.

Immich's medium tests call ``LibraryService.handleSyncAssets``/``handleQueueSyncAssets`` on
assets it makes in the database, and ``MetadataService.handleSidecarCheck`` on files next to
an original. Here one external library is made, scanned, changed on disk and through
``PUT /api/libraries/{id}``, and scanned again, all through the REST API. Checked:

* sidecars (metadata.service.spec ``handleSidecarCheck``, which a library scan does here):
  ``photo.jpg.xmp`` is preferred over ``photo.xmp``; ``photo.xmp`` is found alone; the
  fallback keeps the rest of the name (``photo.edit.jpg`` -> ``photo.edit.xmp``); a symbolic
  link to a readable sidecar counts, a broken one does not (the fallback is used); names that
  differ only in case (``photo.jpg.XMP``, ``PHOTO.xmp``) are not the sidecar;
* offline handling: a file that is missing, no longer under an import path or now covered by
  an exclusion pattern takes its asset offline and to the trash; an asset whose file is there
  and not excluded stays online; an offline asset whose file is back comes back online out of
  the trash, but one still outside the import paths or excluded stays offline; an asset the
  owner trashed whose file is gone goes offline too and stays in the trash.
* ``xmp scan behavior`` (sidecar checks queued for new and changed files, not unchanged ones)
  is :func:`tests.test_e2e_library.test_a_file_is_read_again_only_when_its_mtime_changed`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, wait_processed

#: Ceiling for a scan and the pipeline behind it on a loaded 2-core machine; tests poll.
CEILING = 240.0

#: Library file -> the description its sidecar gives ("" when it has none).
SIDECARS = {
    "sidecars/both/photo.jpg": "extended",
    "sidecars/fallback/photo.jpg": "fallback",
    "sidecars/dotted/photo.edit.jpg": "dotted",
    "sidecars/linked/photo.jpg": "linked",
    "sidecars/broken/photo.jpg": "behind a broken link",
    "sidecars/upper-ext/photo.jpg": "",
    "sidecars/upper-stem/photo.jpg": "",
}
#: Files for the offline cases.
OFFLINE = ("in-path/online.jpg", "in-path/missing.jpg", "in-path/trashed.jpg")
EXCLUDED = "in-path/excluded/gone.jpg"
OUTSIDE = "outside/offline.jpg"


def _xmp(description: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt>'
        f'<rdf:li xml:lang="x-default">{description}</rdf:li></rdf:Alt></dc:description>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def _poll(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + CEILING
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {CEILING} s")


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("medium-library")
    names = [*SIDECARS, *OFFLINE, EXCLUDED, OUTSIDE]
    for seed, name in enumerate(names, start=4400):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(noise_jpeg(seed))
    side = root / "sidecars"
    (side / "both/photo.jpg.xmp").write_bytes(_xmp("extended"))
    (side / "both/photo.xmp").write_bytes(_xmp("not preferred"))
    (side / "fallback/photo.xmp").write_bytes(_xmp("fallback"))
    (side / "dotted/photo.edit.xmp").write_bytes(_xmp("dotted"))
    (root / "elsewhere").mkdir()
    (root / "elsewhere/metadata.xmp").write_bytes(_xmp("linked"))
    os.symlink(root / "elsewhere/metadata.xmp", side / "linked/photo.jpg.xmp")
    os.symlink(root / "elsewhere/missing.xmp", side / "broken/photo.jpg.xmp")
    (side / "broken/photo.xmp").write_bytes(_xmp("behind a broken link"))
    (side / "upper-ext/photo.jpg.XMP").write_bytes(_xmp("upper-case extension"))
    (side / "upper-stem/PHOTO.xmp").write_bytes(_xmp("upper-case name"))
    return root


def _scan(admin: User, library: str) -> None:
    assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204


def _assets(owner: User, library: str) -> dict[str, dict[str, Any]]:
    r = owner.client.post("/api/search/metadata", json={"libraryId": library, "size": 1000})
    assert r.status_code == 200, r.text
    return {a["originalPath"]: a for a in r.json()["assets"]["items"]}


@pytest.fixture(scope="module")
def library(admin: User, owner: User, folder: Path) -> str:
    r = admin.client.post(
        "/api/libraries",
        json={
            "ownerId": owner.id,
            "name": "Medium test library",
            "importPaths": [
                str(folder / "in-path"),
                str(folder / "outside"),
                str(folder / "sidecars"),
            ],
            "exclusionPatterns": [],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def scanned(admin: User, owner: User, library: str, folder: Path) -> dict[str, dict[str, Any]]:
    """Library file (relative) -> AssetResponseDto once imported and processed."""
    _scan(admin, library)
    wanted = {str(folder / n) for n in [*SIDECARS, *OFFLINE, EXCLUDED, OUTSIDE]}
    found = _poll(
        "the scan's imports", lambda: (a := _assets(owner, library)).keys() >= wanted and a
    )
    wait_processed(owner, [a["id"] for a in found.values()], timeout=CEILING)
    return {
        str(Path(p).relative_to(folder)): owner.client.get(f"/api/assets/{a['id']}").json()
        for p, a in found.items()
    }


def test_sidecars_are_found_as_immich_finds_them(scanned: dict[str, dict[str, Any]]) -> None:
    described = {name: scanned[name]["exifInfo"]["description"] for name in SIDECARS}
    assert described == SIDECARS


def test_offline_assets_as_immich_handles_them(
    admin: User, owner: User, library: str, folder: Path, scanned: dict[str, dict[str, Any]]
) -> None:
    ids = {name: scanned[name]["id"] for name in [*OFFLINE, EXCLUDED, OUTSIDE]}

    def asset(name: str) -> dict[str, Any]:
        return owner.client.get(f"/api/assets/{ids[name]}").json()

    r = owner.client.request("DELETE", "/api/assets", json={"ids": [ids["in-path/trashed.jpg"]]})
    assert r.status_code == 204, r.text
    aside = folder / "aside"
    aside.mkdir()
    for name in ("in-path/missing.jpg", "in-path/trashed.jpg"):
        os.replace(folder / name, aside / Path(name).name)
    r = admin.client.put(
        f"/api/libraries/{library}",
        json={
            "importPaths": [str(folder / "in-path"), str(folder / "sidecars")],
            "exclusionPatterns": ["**/excluded/**"],
        },
    )
    assert r.status_code == 200, r.text
    _scan(admin, library)
    gone = ("in-path/missing.jpg", "in-path/trashed.jpg", EXCLUDED, OUTSIDE)
    for name in gone:
        info = _poll(f"{name} offline", lambda n=name: (a := asset(n))["isOffline"] and a)
        assert info["isTrashed"] is True, name
    online = asset("in-path/online.jpg")
    assert online["isOffline"] is False and online["isTrashed"] is False

    os.replace(aside / "missing.jpg", folder / "in-path/missing.jpg")  # same bytes and mtime
    _scan(admin, library)
    back = _poll(
        "the returned file", lambda: not (a := asset("in-path/missing.jpg"))["isOffline"] and a
    )
    assert back["isTrashed"] is False
    for name in (EXCLUDED, OUTSIDE):  # their files are there, but not the library's
        info = asset(name)
        assert info["isOffline"] is True and info["isTrashed"] is True, name
