"""Replays Immich's e2e/src/api/specs/album.e2e-spec.ts against the running embedded stack.

Checked here, each of which Darkroom answered otherwise before:

- an album whose owner was deleted leaves its members' lists (all, ``isShared``, ``isOwned``)
  and their statistics;
- POST /albums with the caller among ``albumUsers`` drops them (201, the owner listed once);
- PUT /albums/{id}/users with the owner or an existing member skips them (200, the album);
- an editor may update the album (PATCH) and share it: add users, change a viewer's role; an
  editor changing the owner's role gets 400 ``User is owner``, a viewer 400 ``Not found or no
  album.share access``.

The spec's other cases (filters, asset counts, add/remove results, role checks of viewers) held
already and are covered by tests/test_albums.py and tests/test_album_link_fields_more.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user


@pytest.fixture(scope="module")
def users(stack: Stack, admin: User) -> dict[str, User]:
    """Three fresh users of this module's: ``one`` (the spec's user1), ``two``, ``three``."""
    return {name: make_user(stack, admin) for name in ("one", "two", "three")}


def album(user: User, name: str, **extra: object) -> dict[str, Any]:
    r = user.client.post("/api/albums", json={"albumName": name, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def names(user: User, query: str = "") -> list[str]:
    r = user.client.get(f"/api/albums{query}")
    assert r.status_code == 200, r.text
    return sorted(a["albumName"] for a in r.json())


def test_albums_of_a_deleted_owner_are_hidden(stack: Stack, admin: User) -> None:
    member, leaving = make_user(stack, admin), make_user(stack, admin)
    album(member, "mine")
    album(leaving, "Deleted", albumUsers=[{"userId": member.id, "role": "editor"}])
    assert names(member, "?isShared=true") == ["Deleted"]
    r = admin.client.request("DELETE", f"/api/admin/users/{leaving.id}", json={})
    assert r.status_code == 200, r.text
    assert names(member) == ["mine"]
    assert names(member, "?isShared=true") == []
    assert names(member, "?isOwned=false") == []
    stats = member.client.get("/api/albums/statistics").json()
    assert stats == {"owned": 1, "shared": 0, "notShared": 1}


def test_create_drops_the_owner_from_album_users(users: dict[str, User]) -> None:
    one = users["one"]
    made = album(one, "New album", albumUsers=[{"role": "editor", "userId": one.id}])
    assert [(u["role"], u["user"]["id"]) for u in made["albumUsers"]] == [("owner", one.id)]
    assert made["shared"] is False


def test_adding_the_owner_or_a_member_again_is_skipped(users: dict[str, User]) -> None:
    one, two = users["one"], users["two"]
    made = album(one, "testAlbum")
    r = one.client.put(
        f"/api/albums/{made['id']}/users",
        json={"albumUsers": [{"userId": one.id, "role": "editor"}]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["albumUsers"]) == 1
    for _ in range(2):
        r = one.client.put(
            f"/api/albums/{made['id']}/users",
            json={"albumUsers": [{"userId": two.id, "role": "editor"}]},
        )
        assert r.status_code == 200, r.text
        assert [u["user"]["id"] for u in r.json()["albumUsers"]] == [one.id, two.id]


def test_editor_updates_and_shares(users: dict[str, User]) -> None:
    one, two, three = users["one"], users["two"], users["three"]
    made = album(one, "shared", albumUsers=[{"userId": two.id, "role": "editor"}])
    r = two.client.patch(f"/api/albums/{made['id']}", json={"albumName": "New album name"})
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["albumName"]) == (made["id"], "New album name")
    r = two.client.put(
        f"/api/albums/{made['id']}/users",
        json={"albumUsers": [{"userId": three.id, "role": "viewer"}]},
    )
    assert r.status_code == 200, r.text
    r = two.client.put(f"/api/albums/{made['id']}/user/{three.id}", json={"role": "editor"})
    assert r.status_code == 204, r.text
    roles = [u["role"] for u in one.client.get(f"/api/albums/{made['id']}").json()["albumUsers"]]
    assert roles == ["owner", "editor", "editor"]
    r = two.client.put(f"/api/albums/{made['id']}/user/{one.id}", json={"role": "editor"})
    assert (r.status_code, r.json()["message"]) == (400, "User is owner")

    viewed = album(one, "viewed", albumUsers=[{"userId": two.id, "role": "viewer"}])
    r = two.client.put(f"/api/albums/{viewed['id']}/user/{two.id}", json={"role": "editor"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no album.share access"
    r = two.client.patch(f"/api/albums/{viewed['id']}", json={"albumName": "x"})
    assert (r.status_code, r.json()["message"]) == (400, "Not found or no album.update access")
