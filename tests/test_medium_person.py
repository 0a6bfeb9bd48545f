"""Replays Immich's server/test/medium/specs/services/person.service.spec.ts over HTTP.

Checked: deleting a person (one, or several with ``DELETE /api/people``) that the caller may not
delete is refused with ``Not found or no person.delete access``; the owner's delete removes them.
(The person-sharing cases belong to a fork and are skipped.)
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user


@pytest.fixture
def user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def person(user: User) -> str:
    r = user.client.post("/api/people", json={"name": "Someone"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_delete_one(user: User, other_user: User) -> None:
    r = user.client.delete(f"/api/people/{uuid.uuid4()}")
    assert r.status_code == 400 and r.json()["message"] == "Not found or no person.delete access"
    pid = person(user)
    r = other_user.client.delete(f"/api/people/{pid}")
    assert r.status_code == 400 and r.json()["message"] == "Not found or no person.delete access"
    assert user.client.delete(f"/api/people/{pid}").status_code == 204
    assert user.client.get(f"/api/people/{pid}").status_code == 400


def _album(user: User) -> str:
    r = user.client.post("/api/albums", json={"albumName": "people"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_delete_all(stack: Stack, user: User, other_user: User) -> None:
    r = user.client.request("DELETE", "/api/people", json={"ids": [str(uuid.uuid4())]})
    assert r.status_code == 400 and r.json()["message"] == "Not found or no person.delete access"
    ids = [person(user), person(user)]
    # another user (one of the ids theirs), a visitor of the user's link and an anonymous
    # client delete nothing
    theirs = person(other_user)
    r = other_user.client.request("DELETE", "/api/people", json={"ids": [theirs, ids[0]]})
    assert r.status_code == 400 and r.json()["message"] == "Not found or no person.delete access"
    assert other_user.client.get(f"/api/people/{theirs}").status_code == 200
    anon = httpx.Client(base_url=stack.url, timeout=60)
    link = user.client.post("/api/shared-links", json={"type": "ALBUM", "albumId": _album(user)})
    assert link.status_code == 201, link.text
    for params, status in (({"key": link.json()["key"]}, 403), ({}, 401)):
        r = anon.request("DELETE", "/api/people", params=params, json={"ids": ids})
        assert r.status_code == status, r.text
    r = user.client.request("DELETE", "/api/people", json={"ids": ids})
    assert r.status_code == 204, r.text
    assert all(user.client.get(f"/api/people/{p}").status_code == 400 for p in ids)
