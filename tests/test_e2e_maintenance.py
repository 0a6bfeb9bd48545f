"""Replays Immich's e2e/src/api/specs/maintenance.e2e-spec.ts: the checks no other module makes.

Checked here: ``POST /api/admin/maintenance`` ``end`` outside maintenance is a no-op (201, still
off); in maintenance, the maintenance cookie alone (no user) may ``start`` again, a no-op that
keeps the token valid, and ``end`` it (Immich's maintenance worker authenticates that route by
the cookie: ``MaintenanceRoute``).

The rest of the spec (``/server/config``'s ``maintenanceMode``, the status in and out of
maintenance, login by cookie or token, 401/403) is covered in test_admin_maintenance_more.py and
test_backup_restore.py.
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User

COOKIE = "immich_maintenance_token"


def _maintenance_mode(stack: Stack) -> bool:
    return bool(httpx.get(f"{stack.url}/api/server/config").json()["maintenanceMode"])


def test_the_cookie_alone_restarts_as_a_no_op_and_ends(stack: Stack, admin: User) -> None:
    bearer = httpx.Client(base_url=stack.url, headers={"x-api-key": admin.api_key}, timeout=60)
    assert bearer.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
    assert _maintenance_mode(stack) is False
    r = bearer.post("/api/admin/maintenance", json={"action": "start"})
    assert r.status_code == 201, r.text
    token = str(r.cookies.get(COOKIE))
    cookie_only = httpx.Client(base_url=stack.url, timeout=60, cookies={COOKIE: token})
    try:
        again = cookie_only.post("/api/admin/maintenance", json={"action": "start"})
        assert again.status_code == 201, again.text
        assert _maintenance_mode(stack) is True
        assert cookie_only.get("/api/admin/maintenance/status").json() == {
            "active": True,
            "action": "start",
        }
        login = httpx.post(f"{stack.url}/api/admin/maintenance/login", json={"token": token})
        assert login.status_code == 201, login.text
    finally:
        r = cookie_only.post("/api/admin/maintenance", json={"action": "end"})
        assert r.status_code == 201, r.text
    assert _maintenance_mode(stack) is False
