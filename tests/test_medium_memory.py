"""Replays Immich's server/test/medium/specs/services/memory.service.spec.ts against the running
embedded stack.

Checked here (all held already; kept because no other test pins them exactly): each route names
its own permission in the 400 another user gets, as Immich's ``MemoryService`` asks for it:
``memory.read`` for GET and for PUT ``/assets``, ``memory.update`` for PUT and for DELETE
``/assets``, ``memory.delete`` for DELETE; and POST /api/memories drops the asset ids the caller
may not share instead of failing.

Covered elsewhere: create/update/remove and the per-id results of adding and removing assets
(tests/test_memories.py, tests/test_e2e_memory.py), the daily generation and its idempotence
(tests/test_memories.py). Left: the spec's "should not link a partner asset" (create and PUT
``/assets`` refusing a partner's asset). Immich 3.1's ``asset.share`` access, which both go
through, admits a partner's assets, and Darkroom follows it (``_shareable`` in
``domain/memories.py``); the spec comes from a later Immich.
"""

from __future__ import annotations

from typing import Any

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg

BODY = {"type": "on_this_day", "data": {"year": 2021}, "memoryAt": "2021-01-01T00:00:00.000Z"}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def refused(r: httpx.Response, permission: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["message"] == f"Not found or no {permission} access", r.text


def test_each_route_names_its_permission(stack: Stack, admin: User) -> None:
    owner, other = make_user(stack, admin), make_user(stack, admin)
    mine = upload_jpeg(owner, noise_jpeg(7500))
    theirs = upload_jpeg(other, noise_jpeg(7501))
    created = ok(owner.client.post("/api/memories", json={**BODY, "assetIds": [mine, theirs]}), 201)
    assert [a["id"] for a in created["assets"]] == [mine]

    path, ids = f"/api/memories/{created['id']}", {"ids": [mine]}
    refused(other.client.get(path), "memory.read")
    refused(other.client.put(path, json={"isSaved": True}), "memory.update")
    refused(other.client.delete(path), "memory.delete")
    refused(other.client.put(f"{path}/assets", json=ids), "memory.read")
    refused(other.client.request("DELETE", f"{path}/assets", json=ids), "memory.update")
    assert [a["id"] for a in ok(owner.client.get(path))["assets"]] == [mine]
