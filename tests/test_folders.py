"""The folder view (the spec's "Views": GET /api/view/folder/unique-paths and
GET /api/view/folder?path=...) over HTTP against the running embedded stack (issue 16, item 4).

What this proves: the unique paths are exactly the folders of the caller's timeline assets'
``originalPath`` (an upload's is ``upload/<userId>/<ab>/<cd>``, as Immich lays uploads out),
without a trailing slash; the assets of a folder are exactly those directly in it, as
AssetResponseDto, with a trailing slash ignored; archived and trashed assets are left out, as
Immich's view repository does; another user sees none of it; anonymous gets 401 and an API key
without ``folder.read`` gets 403.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, upload_jpeg, wait_processed


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(32, 48, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def library(owner: User, stranger: User) -> dict[str, dict[str, object]]:
    """Three photos kept, one archived, one trashed (owner); one of the stranger. Name ->
    asset info."""
    ids = {name: upload_jpeg(owner, jpeg(100 + k)) for k, name in enumerate("abcde")}
    ids["theirs"] = upload_jpeg(stranger, jpeg(199))
    wait_processed(owner, [ids[n] for n in "abcde"], timeout=600)
    r = owner.client.put(f"/api/assets/{ids['d']}", json={"visibility": "archive"})
    assert r.status_code == 200, r.text
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [ids["e"]]})
    assert r.status_code == 204, r.text
    infos = {}
    for name, asset_id in ids.items():
        user = stranger if name == "theirs" else owner
        r = user.client.get(f"/api/assets/{asset_id}")
        assert r.status_code == 200, r.text
        infos[name] = r.json()
    return infos


def folder_of(info: dict[str, object]) -> str:
    return str(info["originalPath"]).rsplit("/", 1)[0]


def test_unique_paths_are_the_folders_of_the_callers_timeline(
    owner: User, library: dict[str, dict[str, object]]
) -> None:
    r = owner.client.get("/api/view/folder/unique-paths")
    assert r.status_code == 200, r.text
    paths = r.json()
    assert paths == sorted({folder_of(library[n]) for n in "abc"})
    assert all(p.startswith(f"upload/{owner.id}/") and not p.endswith("/") for p in paths)
    theirs = folder_of(library["theirs"])
    assert theirs not in paths


def test_assets_of_a_folder(owner: User, library: dict[str, dict[str, object]]) -> None:
    for name in "abc":
        folder = folder_of(library[name])
        expected = {library[n]["id"] for n in "abc" if folder_of(library[n]) == folder}
        for path in (folder, folder + "/"):
            r = owner.client.get("/api/view/folder", params={"path": path})
            assert r.status_code == 200, r.text
            got = r.json()
            assert {a["id"] for a in got} == expected
            for asset in got:
                assert asset["originalPath"].rsplit("/", 1)[0] == folder
                assert {"id", "ownerId", "type", "originalPath", "exifInfo"} <= set(asset)
    # a parent folder holds no asset directly; the archived and trashed ones are not listed
    owner_root = f"upload/{owner.id}"
    r = owner.client.get("/api/view/folder", params={"path": owner_root})
    assert r.status_code == 200 and r.json() == []
    for name in "de":
        r = owner.client.get("/api/view/folder", params={"path": folder_of(library[name])})
        assert library[name]["id"] not in {a["id"] for a in r.json()}
    assert owner.client.get("/api/view/folder").status_code == 400  # path is required


def test_another_user_and_anonymous_are_refused(
    stack: Stack, owner: User, stranger: User, library: dict[str, dict[str, object]]
) -> None:
    folder = folder_of(library["a"])
    r = stranger.client.get("/api/view/folder", params={"path": folder})
    assert r.status_code == 200 and r.json() == []
    r = stranger.client.get("/api/view/folder/unique-paths")
    assert r.status_code == 200 and r.json() == [folder_of(library["theirs"])]
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.get("/api/view/folder/unique-paths").status_code == 401
    assert anon.get("/api/view/folder", params={"path": folder}).status_code == 401
    key = owner.client.post(
        "/api/api-keys", json={"name": "no folders", "permissions": ["asset.read"]}
    )
    assert key.status_code == 201, key.text
    limited = httpx.Client(
        base_url=stack.url, headers={"x-api-key": key.json()["secret"]}, timeout=60
    )
    assert limited.get("/api/view/folder/unique-paths").status_code == 403
    assert limited.get("/api/view/folder", params={"path": folder}).status_code == 403
