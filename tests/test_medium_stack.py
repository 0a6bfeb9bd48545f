"""Replays Immich's server/test/medium/specs/services/stack.service.spec.ts over HTTP.

Checked here: ``POST /api/stacks`` naming another user's asset is refused (400 ``Not found or
no asset.update access``, as tests/test_stacks.py checks) and leaves the caller with no stack at
all (Immich: stack.service ``create`` checks access before writing).
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


def test_a_stack_with_another_users_asset_is_not_made(stack: Stack, admin: User) -> None:
    owner, other = make_user(stack, admin), make_user(stack, admin)
    mine = upload_jpeg(owner, noise_jpeg(34_000))
    theirs = upload_jpeg(other, noise_jpeg(34_001))
    r = owner.client.post("/api/stacks", json={"assetIds": [mine, theirs]})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.update access"
    assert owner.client.get("/api/stacks").json() == []
    assert owner.client.get(f"/api/assets/{mine}").json()["stack"] is None
