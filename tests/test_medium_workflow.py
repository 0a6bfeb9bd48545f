"""Replays Immich's server/test/medium/specs/services/workflow.service.spec.ts over HTTP.

Checked here: ``POST /api/workflows`` with a trigger, name, description and ``enabled`` but no
steps (the spec's ``create``) makes the workflow, and a user with no workflows lists ``[]``.
Listing only the caller's own workflows is covered by tests/test_workflows.py.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user


def test_create_without_steps_and_list(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    assert user.client.get("/api/workflows").json() == []

    body = {
        "trigger": "AssetCreate",
        "name": "test-workflow",
        "description": "A test workflow",
        "enabled": True,
    }
    r = user.client.post("/api/workflows", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert {k: made[k] for k in body} == body and made["id"]
    assert made["steps"] == []
    second = user.client.post(
        "/api/workflows", json={**body, "name": "workflow-2", "enabled": False}
    )
    assert second.status_code == 201, second.text
    listed = {w["id"]: w["name"] for w in user.client.get("/api/workflows").json()}
    assert listed == {made["id"]: "test-workflow", second.json()["id"]: "workflow-2"}
