"""Replays Immich's e2e/src/api/specs/sync.e2e-spec.ts (``/sync/*``), as Immich 3.1 has it.

The stored spec predates the 3.1 stream: ``/sync/acknowledge`` and the ``asset`` type are gone
(now ``/sync/ack`` and ``AssetsV1``...), and ``types`` has no minimum length in the 3.1 spec.
Checked, with a login session (API keys are refused, tests/test_sync.py): 401 anonymous on the
stream and the ack; an unknown type is a 400 validation error; an empty ``types`` (the old
spec's 400) and a valid type answer 200 ``application/jsonlines+json``, holding nothing but
``SyncCompleteV1`` for a new user; an empty ack is 204. All held already.
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user


def test_stream_contract(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    anon = httpx.Client(base_url=stack.url, timeout=60)
    login = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": user.email, "password": user.password}
    )
    assert login.status_code == 201, login.text
    session = {"Authorization": f"Bearer {login.json()['accessToken']}"}

    assert anon.post("/api/sync/stream", json={"types": ["AssetsV1"]}).status_code == 401
    assert anon.post("/api/sync/ack", json={"acks": []}).status_code == 401

    r = anon.post("/api/sync/stream", headers=session, json={"types": ["invalid"]})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Validation failed"
    for types in ([], ["AssetsV1"]):
        r = anon.post("/api/sync/stream", headers=session, json={"types": types})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/jsonlines+json")
        assert [line for line in r.text.splitlines() if '"SyncCompleteV1"' not in line] == []
    assert anon.post("/api/sync/ack", headers=session, json={"acks": []}).status_code == 204
