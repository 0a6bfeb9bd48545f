"""POST /api/search/large-assets (the web app's "Large files" utility) against the real stack.

Three random-pixel JPEGs of different sizes (so different byte counts) are uploaded by one user
and a bigger one by another user. The search lists the caller's own assets only, largest original
first, honours ``minFileSize``, ``size`` and the shared filters (``type``, ``isFavorite``), leaves
trashed assets out, answers malformed parameters with a 400 ``{"message": ...}`` and anonymous
callers with a 401.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, upload_jpeg


def noise(width: int, height: int, seed: int) -> bytes:
    """A JPEG of random pixels: bigger dimensions, more bytes (noise does not compress)."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=90))


@pytest.fixture(scope="module")
def library(stack: Stack, admin: User) -> tuple[User, User, dict[str, int], str]:
    """(owner, stranger, owner's asset id -> bytes, stranger's asset id)."""
    owner = make_user(stack, admin)
    stranger = make_user(stack, admin)
    sizes: dict[str, int] = {}
    for i, (w, h) in enumerate(((64, 48), (320, 240), (160, 120))):
        data = noise(w, h, i)
        sizes[upload_jpeg(owner, data)] = len(data)
    theirs = upload_jpeg(stranger, noise(640, 480, 9))
    return owner, stranger, sizes, theirs


def _large(user: User, **params: object) -> httpx.Response:
    return user.client.post("/api/search/large-assets", params=params)


def test_largest_first_own_assets_only(library: tuple[User, User, dict[str, int], str]) -> None:
    owner, stranger, sizes, theirs = library
    r = _large(owner)
    assert r.status_code == 200, r.text
    listed = [a["id"] for a in r.json()]
    assert listed == sorted(sizes, key=lambda i: -sizes[i])
    assert theirs not in listed
    assert all(a["ownerId"] == owner.id for a in r.json())
    mine = [a["id"] for a in _large(stranger).json()]
    assert mine == [theirs]


def test_min_file_size_size_and_filters(library: tuple[User, User, dict[str, int], str]) -> None:
    owner, _, sizes, _ = library
    by_size = sorted(sizes, key=lambda i: -sizes[i])
    middle = sizes[by_size[1]]
    r = _large(owner, minFileSize=middle)
    assert [a["id"] for a in r.json()] == by_size[:2]
    assert [a["id"] for a in _large(owner, size=1).json()] == by_size[:1]
    assert _large(owner, type="VIDEO").json() == []
    fav = owner.client.put(f"/api/assets/{by_size[2]}", json={"isFavorite": True})
    assert fav.status_code == 200, fav.text
    assert [a["id"] for a in _large(owner, isFavorite="true").json()] == [by_size[2]]


def test_trashed_assets_are_not_listed(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    kept = upload_jpeg(user, noise(100, 100, 21))
    gone = upload_jpeg(user, noise(300, 300, 22))
    r = user.client.request("DELETE", "/api/assets", json={"ids": [gone]})
    assert r.status_code == 204, r.text
    assert [a["id"] for a in _large(user).json()] == [kept]
    assert {a["id"] for a in _large(user, withDeleted="true").json()} == {kept, gone}


@pytest.mark.parametrize(
    "params",
    [{"minFileSize": -1}, {"minFileSize": "abc"}, {"size": 0}, {"size": 1001}, {"type": "PDF"}],
)
def test_bad_parameters_are_400(
    library: tuple[User, User, dict[str, int], str], params: dict[str, object]
) -> None:
    owner = library[0]
    r = _large(owner, **params)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["message"], str) and r.json()["message"]


def test_anonymous_is_refused(stack: Stack) -> None:
    r = httpx.post(f"{stack.url}/api/search/large-assets")
    assert r.status_code == 401, r.text
    assert "message" in r.json()
