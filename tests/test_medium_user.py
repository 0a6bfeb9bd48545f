"""Replays Immich's server/test/medium/specs/services/user.service.spec.ts over HTTP.

Checked: a created user comes back with its name and email and never a password; a second user
with the same email is refused with ``User exists``; ``PUT /api/users/me`` moves
``updatedAt``; the license is absent (404) until set, then read back.
(The user-delete check and its ``deleteDelay`` are covered by test_nightly.)
"""

from __future__ import annotations

import time
import uuid

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user

LICENSE = {
    "licenseKey": "IMCL-FF69-TUK1-RWZU-V9Q8-QGQS-S5GC-X4R2-UFK4",
    "activationKey": (
        "KuX8KsktrBSiXpQMAH0zLgA5SpijXVr_PDkzLdWUlAogCTMBZ0I3KCHXK0eE9EEd7harxup8_EHMeqAWeHo5VQzol6LGECpF"
        "v585U9asXD4Zc-UXt3mhJr2uhazqipBIBwJA2YhmUCDy8hiyiGsukDQNu9Rg9C77UeoKuZBWVjWUBWG0mc1iRqfvF0faVM2"
        "0w53czAzlhaMxzVGc3Oimbd7xi_CAMSujF_2y8QpA3X2fOVkQkzdcH9lV0COejl7IyH27zQQ9HrlrXv3Lai5Hw67kNkaSjmu"
        "nVBxC5PS0TpKoc9SfBJMaAGWnaDbjhjYUrm-8nIDQnoeEAidDXVAdPw"
    ),
}


@pytest.fixture
def user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def test_create_get_and_duplicate(admin: User) -> None:
    email = f"{uuid.uuid4().hex[:10]}@darkroom.test"
    r = admin.client.post("/api/admin/users", json={"email": email, "name": "N", "password": "pw"})
    assert r.status_code == 201, r.text
    assert (r.json()["email"], r.json()["name"]) == (email, "N") and "password" not in r.json()
    again = admin.client.post(
        "/api/admin/users", json={"email": email, "name": "N", "password": "x"}
    )
    assert again.status_code == 400 and again.json()["message"] == "User exists", again.text
    got = admin.client.get(f"/api/users/{r.json()['id']}")
    assert got.status_code == 200 and "password" not in got.json()
    assert got.json()["email"] == email


def test_update_me_moves_updated_at(user: User) -> None:
    before = user.client.get("/api/users/me").json()["updatedAt"]
    time.sleep(0.01)
    after = user.client.put("/api/users/me", json={"name": "Renamed"})
    assert after.status_code == 200, after.text
    assert after.json()["updatedAt"] != before


def test_license_absent_until_set(user: User) -> None:
    r = user.client.get("/api/users/me/license")
    assert r.status_code == 404, r.text
    r = user.client.put("/api/users/me/license", json=LICENSE)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in LICENSE} == LICENSE
    assert user.client.get("/api/users/me/license").json() == r.json()
