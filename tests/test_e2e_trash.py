"""Replays Immich's e2e/src/api/specs/trash.e2e-spec.ts (``/trash/*``).

Checked against the running stack: 401 on the three routes; emptying the trash (``{count: 1}``,
archived assets too, the original file gone, the trashed statistics at 0); restoring all
(``{count: 1}``) and by id; an offline external-library asset is not restored by id (covered by
tests/test_assets_timeline.py and tests/test_libraries.py). Kept here is what differed:

* emptying the trash leaves an offline external-library asset (its file gone, so the scan put
  it in the trash) where it is, trashed and offline, and its file untouched; Darkroom deleted
  it for good (Immich's "should not delete offline-trashed assets from disk":
  ``TrashRepository.empty`` takes only what the user trashed); restoring the whole trash
  leaves it offline too ("should not restore offline-trashed assets").
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg


def _poll(what: str, check: Any, ceiling: float = 120) -> Any:
    deadline = time.monotonic() + ceiling
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what}: not within {ceiling} s"
        time.sleep(0.3)
    return result


def test_offline_assets_stay_in_the_trash_when_it_is_emptied_or_restored(
    stack: Stack, admin: User, tmp_path: Path
) -> None:
    owner = make_user(stack, admin)  # a trash of its own
    folder = tmp_path / "offline"
    folder.mkdir()
    photo = folder / "offline.jpg"
    photo.write_bytes(noise_jpeg(4701))
    r = admin.client.post(
        "/api/libraries", json={"ownerId": owner.id, "importPaths": [str(folder)]}
    )
    assert r.status_code == 201, r.text
    library = r.json()["id"]

    def scan() -> None:
        assert admin.client.post(f"/api/libraries/{library}/scan").status_code == 204

    def assets() -> list[dict[str, Any]]:
        r = owner.client.post("/api/search/metadata", json={"libraryId": library})
        return list(r.json()["assets"]["items"])

    scan()
    (asset_id,) = [a["id"] for a in _poll("the import", assets)]
    aside = tmp_path / "aside.jpg"
    photo.rename(aside)
    scan()

    def info() -> dict[str, Any]:
        return dict(owner.client.get(f"/api/assets/{asset_id}").json())

    assert _poll("offline", lambda: (a := info())["isOffline"] and a)["isTrashed"] is True
    aside.rename(photo)  # the file is back, but no scan has seen it yet

    r = owner.client.post("/api/trash/restore")
    assert r.status_code == 200 and r.json() == {"count": 0}, r.text
    assert (info()["isTrashed"], info()["isOffline"]) == (True, True)

    r = owner.client.post("/api/trash/empty")
    assert r.status_code == 200 and r.json() == {"count": 0}, r.text
    time.sleep(1)
    after = owner.client.get(f"/api/assets/{asset_id}")
    assert after.status_code == 200, after.text
    assert (after.json()["isTrashed"], after.json()["isOffline"]) == (True, True)
    assert photo.exists()
