"""Password change (issue #18 item 3) through HTTP against the running stack.

- ``POST /api/auth/change-password`` with ``invalidateSessions: true`` ends every other session
  of the user (each announced as ``darkroom.session.deleted``, which disconnects its websocket
  clients) but not the caller's own, and leaves API keys alone (Immich's
  ``AuthChangePassword`` handler deletes sessions only); without it nothing ends;
- the forced change at first login: a user the admin made with ``shouldChangePassword`` logs in
  with the flag set, and the change clears it (login and ``/api/users/me`` both say so).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from darkroom_stack.supervisor import Stack

from .conftest import User, stream_events


def _login(stack: Stack, email: str, password: str) -> httpx.Client:
    r = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": email, "password": password}, timeout=60
    )
    assert r.status_code == 201, r.text
    token = r.json()["accessToken"]
    return httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _new_account(admin: User, *, must_change: bool) -> tuple[str, str]:
    email, password = f"{uuid.uuid4().hex[:10]}@darkroom.test", "first secret 1"
    r = admin.client.post(
        "/api/admin/users",
        json={
            "email": email,
            "password": password,
            "name": "P",
            "shouldChangePassword": must_change,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["shouldChangePassword"] is must_change
    return email, password


def test_invalidate_sessions_ends_the_other_sessions_only(stack: Stack, admin: User) -> None:
    email, password = _new_account(admin, must_change=False)
    me, laptop, phone = (_login(stack, email, password) for _ in range(3))
    key = me.post("/api/api-keys", json={"name": "k", "permissions": ["all"]})
    assert key.status_code == 201, key.text
    api = httpx.Client(base_url=stack.url, headers={"x-api-key": key.json()["secret"]}, timeout=60)
    ids = {s["id"]: s["current"] for s in me.get("/api/sessions").json()}
    assert len(ids) == 3
    mine = next(i for i, current in ids.items() if current)

    # without invalidateSessions every session lives on
    r = me.post(
        "/api/auth/change-password", json={"password": password, "newPassword": "second secret 2"}
    )
    assert r.status_code == 200, r.text
    assert all(c.get("/api/users/me").status_code == 200 for c in (me, laptop, phone))

    r = me.post(
        "/api/auth/change-password",
        json={
            "password": "second secret 2",
            "newPassword": "third secret 3",
            "invalidateSessions": True,
        },
    )
    assert r.status_code == 200, r.text
    assert me.get("/api/users/me").status_code == 200  # the caller's own session stays
    for ended in (laptop, phone):
        r = ended.get("/api/users/me")
        assert r.status_code == 401 and r.json() == {"message": "Invalid user token"}, r.text
    assert api.get("/api/users/me").status_code == 200  # API keys are not sessions
    assert [s["id"] for s in me.get("/api/sessions").json()] == [mine]

    # each ended session was announced (the websocket signs those devices out)
    assert stack.nats is not None
    payloads = asyncio.run(stream_events(stack.nats.url, "darkroom.session.deleted"))
    announced = {json.loads(p)["session_id"] for p in payloads}
    assert set(ids) - {mine} <= announced and mine not in announced


def test_forced_change_at_first_login_clears_the_flag(stack: Stack, admin: User) -> None:
    email, password = _new_account(admin, must_change=True)
    first = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": email, "password": password}, timeout=60
    )
    assert first.status_code == 201 and first.json()["shouldChangePassword"] is True
    session = _login(stack, email, password)
    assert session.get("/api/users/me").json()["shouldChangePassword"] is True
    wrong = session.post(
        "/api/auth/change-password", json={"password": "not it!!", "newPassword": "new secret 9"}
    )
    assert wrong.status_code == 400 and wrong.json() == {"message": "Wrong password"}
    changed = session.post(
        "/api/auth/change-password", json={"password": password, "newPassword": "new secret 9"}
    )
    assert changed.status_code == 200 and changed.json()["shouldChangePassword"] is False
    assert session.get("/api/users/me").json()["shouldChangePassword"] is False
    again = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": email, "password": "new secret 9"},
        timeout=60,
    )
    assert again.status_code == 201 and again.json()["shouldChangePassword"] is False
