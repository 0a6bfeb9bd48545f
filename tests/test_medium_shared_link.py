"""Replays Immich's server/test/medium/specs/services/shared-link.service.spec.ts against the
running embedded stack.

Checked here:

* ``GET /api/shared-links`` gives an INDIVIDUAL link with only its cover, the oldest
  (``fileCreatedAt``) of its assets not in the trash, as Immich's ``SharedLinkRepository.getAll``
  (``limit(1)``); Darkroom listed every asset before. The list is newest link first.
* ``GET /api/shared-links/{id}`` of an ALBUM link carries the album's ``startDate`` and
  ``endDate`` (its oldest and newest asset), whatever order the assets were added in.

The spec's other cases (filter by album, other users' links, trashed assets left out of a link
and of an album's count, removing an asset from a link) are covered by tests/test_shared_links.py
and tests/test_album_link_fields_more.py; the soft-deleted (trashed) album is not in Immich 3.1.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose links are only this module's."""
    return make_user(stack, admin)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def new_album(owner: User, ids: list[str]) -> str:
    made = ok(owner.client.post("/api/albums", json={"albumName": "a", "assetIds": ids}), 201)
    return str(made["id"])


def new_link(owner: User, **body: object) -> dict[str, Any]:
    made: dict[str, Any] = ok(owner.client.post("/api/shared-links", json=body), 201)
    return made


def test_album_link_has_the_album_dates(owner: User) -> None:
    dates = ["2021-01-01T00:00:00.000Z", "2022-01-01T00:00:00.000Z", "2020-01-01T00:00:00.000Z"]
    ids = [upload_jpeg(owner, noise_jpeg(7200 + i), d) for i, d in enumerate(dates)]
    link = new_link(owner, type="ALBUM", albumId=new_album(owner, ids))
    album = ok(owner.client.get(f"/api/shared-links/{link['id']}"))["album"]
    assert album["startDate"].startswith("2020-01-01T00:00:00"), album
    assert album["endDate"].startswith("2022-01-01T00:00:00"), album


def test_the_list_gives_an_individual_link_its_cover_only(owner: User) -> None:
    dates = ["2021-01-01T00:00:00.000Z", "2023-01-01T00:00:00.000Z", "2022-01-01T00:00:00.000Z"]
    ids = [upload_jpeg(owner, noise_jpeg(7300 + i), d) for i, d in enumerate(dates)]
    album_link = new_link(owner, type="ALBUM", albumId=new_album(owner, []))
    link = new_link(owner, type="INDIVIDUAL", assetIds=ids)

    listed = ok(owner.client.get("/api/shared-links"))
    assert [x["id"] for x in listed[:2]] == [link["id"], album_link["id"]]
    assert [a["id"] for a in listed[0]["assets"]] == [ids[0]]

    ok(owner.client.request("DELETE", "/api/assets", json={"ids": [ids[0]]}), 204)
    listed = ok(owner.client.get("/api/shared-links", params={"id": link["id"]}))
    assert [a["id"] for a in listed[0]["assets"]] == [ids[2]]
    got = ok(owner.client.get(f"/api/shared-links/{link['id']}"))
    assert [a["id"] for a in got["assets"]] == [ids[2], ids[1]]
