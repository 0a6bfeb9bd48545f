"""Replays Immich's e2e/src/api/specs/memory.e2e-spec.ts against the running embedded stack.

Checked here (not covered by tests/test_memories.py): removing another user's asset, one the
memory does not hold, answers ``not_found`` (membership is looked at before access, as
Immich's ``removeAssets``), not ``no_permission``. All of the spec's cases held already; the
others (400 ``Not found or no memory.*`` for another user on each route, isSaved update,
``no_permission`` when adding another's asset, 204 on delete) are covered by
tests/test_memories.py.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


def test_removing_a_foreign_asset_not_in_the_memory_is_not_found(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    theirs = upload_jpeg(admin, noise_jpeg(9001))
    body = {"type": "on_this_day", "memoryAt": "1970-01-01T00:00:02.021Z", "data": {"year": 2021}}
    r = user.client.post("/api/memories", json={**body, "assetIds": []})
    assert r.status_code == 201, r.text
    r = user.client.request(
        "DELETE", f"/api/memories/{r.json()['id']}/assets", json={"ids": [theirs]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": theirs, "success": False, "error": "not_found"}]
