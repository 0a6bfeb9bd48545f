"""Replays Immich's e2e/src/api/specs/database-backups.e2e-spec.ts: the checks no other module
makes.

Checked here, on a stack of its own (a gateway only: the restore replaces its database):

* ``POST /api/admin/database-backups/start-restore`` on a server with no user yet answers the
  maintenance cookie and the public status is ``{"active": true, "action":
  "select_database_restore"}``; ``end`` with that cookie alone leaves maintenance;
* restoring a backup whose database has no admin (the spec's ``development-empty.sql.gz``,
  ``SELECT 1;``) fails Immich's health check: the status keeps maintenance on with the public
  error ``Something went wrong, see logs!``, the maintenance login reads ``Server health check
  failed, no admin exists.``, and the database is put back as it was (the admin still signs in).

The rest of the spec (list, create, delete, start-restore on a set-up server, a broken dump
rolled back) is covered in test_backup_restore.py, test_admin_maintenance_more.py and
test_queues_livephoto_more.py. Not replayed: the backup's name (Darkroom names its own
``darkroom-db-backup-...``, docs/deploy.md) and ``IM CORRUPTED`` in a failed restore's error
(Darkroom keeps psql's ERROR lines only, never the dump's lines they quote:
``darkroom_db.backup.error_lines``).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import first_admin, running_stack

COOKIE = "immich_maintenance_token"
#: Ceiling of a restore and its rollback (they end as soon as they can).
RESTORE_CEILING_S = 180.0


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own with no user yet: the module restores its database."""
    with running_stack(tmp_path_factory.mktemp("e2e-backups"), services=("gateway",)) as running:
        yield running


def _status(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/api/admin/maintenance/status")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _maintenance_mode(stack: Stack) -> bool:
    return bool(httpx.get(f"{stack.url}/api/server/config").json()["maintenanceMode"])


def test_start_restore_then_a_backup_without_admin_is_rolled_back(fresh: Stack) -> None:
    anon = httpx.Client(base_url=fresh.url, timeout=60)
    r = anon.post("/api/admin/database-backups/start-restore")
    assert r.status_code == 201, r.text
    cookie = r.cookies.get(COOKIE)
    assert cookie
    assert _maintenance_mode(fresh) is True
    public = httpx.Client(base_url=fresh.url, timeout=60)
    assert _status(public) == {"active": True, "action": "select_database_restore"}
    logged_in = httpx.Client(base_url=fresh.url, timeout=60, cookies={COOKIE: cookie})
    assert logged_in.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
    assert _maintenance_mode(fresh) is False

    admin = first_admin(fresh)
    backups = fresh.config.data_dir / "storage" / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    (backups / "development-empty.sql.gz").write_bytes(gzip.compress(b"SELECT 1;"))
    r = admin.client.post(
        "/api/admin/maintenance",
        json={"action": "restore_database", "restoreBackupFilename": "development-empty.sql.gz"},
    )
    assert r.status_code == 201, r.text
    cookie = r.cookies.get(COOKIE)
    assert cookie
    try:
        deadline = time.monotonic() + RESTORE_CEILING_S
        while "error" not in (status := _status(public)):
            assert status["active"] is True and status["action"] == "restore_database", status
            assert time.monotonic() < deadline, f"the restore did not end: {status}"
            time.sleep(0.5)
        assert status == {
            "active": True,
            "action": "restore_database",
            "error": "Something went wrong, see logs!",
        }
        logged_in = httpx.Client(base_url=fresh.url, timeout=60, cookies={COOKIE: cookie})
        full = _status(logged_in)
        assert "Server health check failed, no admin exists." in full["error"], full
    finally:
        r = httpx.post(
            f"{fresh.url}/api/admin/maintenance", json={"action": "end"}, cookies={COOKIE: cookie}
        )
        assert r.status_code == 201, r.text
    assert _maintenance_mode(fresh) is False
    # put back as it was: the admin is there, and signs in
    login = httpx.post(
        f"{fresh.url}/api/auth/login", json={"email": admin.email, "password": admin.password}
    )
    assert login.status_code == 201, login.text
    assert admin.client.get("/api/users/me").json()["id"] == admin.id
