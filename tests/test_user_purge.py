"""Admin user management and the purges (issue #15 items 7 and 4), against the running stack.

What this proves: an admin edits a user's name, e-mail, quota, storage label, admin flag and
password (with ``shouldChangePassword``) and each is saved; a taken e-mail or storage label is
refused as Immich refuses it (400 ``... already in use by another account``); an admin cannot
delete themself (403 ``Cannot delete your own account``); a non-admin gets 403 and an anonymous
client 401 on every admin route. A force delete removes the user's rows (assets, albums, tags,
people, shared links, partner sharings) and every file of theirs from storage, and publishes
``darkroom.asset.deleted`` per asset as emptying the trash does. ``purge_trash`` deletes an
asset trashed longer than the age given, with its files, and keeps one trashed recently;
``purge_deleted_users`` removes a user deleted longer ago than the delay and keeps (restorable)
one deleted recently. (The nightly runs of these purges: tests/test_nightly.py.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from darkroom_config import load_settings
from darkroom_gateway.app import close_deps, open_deps
from darkroom_gateway.deps import Deps
from darkroom_gateway.settings import GatewaySettings
from darkroom_stack.supervisor import Stack

from .conftest import (
    User,
    db_rows,
    make_user,
    noise_jpeg,
    stored_files,
    stream_events,
    upload_jpeg,
    wait_processed,
)

T = TypeVar("T")


def _with_deps(stack: Stack, job: Callable[[Deps], Awaitable[T]]) -> T:
    """Run ``job`` with gateway connections to ``stack`` (as the gateway's housekeeping does)."""

    async def run() -> T:
        deps = await open_deps(load_settings(GatewaySettings, environ=stack.env()))
        try:
            return await job(deps)
        finally:
            await close_deps(deps)

    return asyncio.run(run())


def _error(r: httpx.Response, status: int, message: str | None = None) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    if message is not None:
        assert r.json()["message"] == message, r.text


def _new_account(admin: User, **extra: object) -> dict[str, Any]:
    email = f"acct{uuid.uuid4().hex[:8]}@darkroom.test"
    r = admin.client.post(
        "/api/admin/users", json={"email": email, "name": "Acct", "password": "pw", **extra}
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_admin_edits_a_user(stack: Stack, admin: User, other_user: User) -> None:
    target = _new_account(admin)
    other = _new_account(admin, storageLabel=f"taken{uuid.uuid4().hex[:6]}")
    base = f"/api/admin/users/{target['id']}"
    email = f"edited{uuid.uuid4().hex[:8]}@darkroom.test"
    label = f"lbl{uuid.uuid4().hex[:6]}"
    r = admin.client.put(
        base,
        json={
            "name": "Edited Name",
            "email": email,
            "quotaSizeInBytes": 5_000_000,
            "storageLabel": label,
            "isAdmin": True,
            "password": "new password",
            "shouldChangePassword": True,
        },
    )
    assert r.status_code == 200, r.text
    saved = admin.client.get(base).json()
    assert saved["name"] == "Edited Name" and saved["email"] == email
    assert saved["quotaSizeInBytes"] == 5_000_000 and saved["storageLabel"] == label
    assert saved["isAdmin"] is True and saved["shouldChangePassword"] is True
    login = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": email, "password": "new password"}
    )
    assert login.status_code == 201 and login.json()["shouldChangePassword"] is True

    # taken e-mail and storage label: Immich's 400s; "" clears the label
    _error(
        admin.client.put(base, json={"email": other["email"]}),
        400,
        "Email already in use by another account",
    )
    _error(
        admin.client.put(base, json={"storageLabel": other["storageLabel"]}),
        400,
        "Storage label already in use by another account",
    )
    _error(
        admin.client.post(
            "/api/admin/users",
            json={
                "email": f"x{uuid.uuid4().hex[:8]}@darkroom.test",
                "name": "X",
                "password": "pw",
                "storageLabel": other["storageLabel"],
            },
        ),
        400,
        "Storage label already in use by another account",
    )
    assert admin.client.put(base, json={"storageLabel": ""}).json()["storageLabel"] is None
    assert admin.client.get(base).json()["storageLabel"] is None

    # an admin cannot change their own admin status nor delete themself
    _error(
        admin.client.put(f"/api/admin/users/{admin.id}", json={"isAdmin": False}),
        400,
        "Admin status can only be changed by another admin",
    )
    _error(
        admin.client.request("DELETE", f"/api/admin/users/{admin.id}", json={"force": True}),
        403,
        "Cannot delete your own account",
    )
    _error(admin.client.request("DELETE", f"/api/admin/users/{uuid.uuid4()}", json={}), 400)

    # a non-admin and an anonymous client are refused every admin operation
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for client, status in ((other_user.client, 403), (anon, 401)):
        _error(client.put(base, json={"name": "nope"}), status)
        _error(client.request("DELETE", base, json={"force": True}), status)
        _error(client.post(f"{base}/restore"), status)
    assert admin.client.get(base).json()["name"] == "Edited Name"


def test_force_delete_removes_the_user_their_rows_and_files(
    stack: Stack, admin: User, other_user: User
) -> None:
    doomed = make_user(stack, admin)
    kept = upload_jpeg(doomed, noise_jpeg(1))
    trashed = upload_jpeg(doomed, noise_jpeg(2))
    wait_processed(doomed, [kept, trashed])
    album = doomed.client.post("/api/albums", json={"albumName": "Gone", "assetIds": [kept]})
    assert album.status_code == 201, album.text
    tag = doomed.client.post("/api/tags", json={"name": "gone"})
    assert tag.status_code == 201, tag.text
    link = doomed.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [kept]})
    assert link.status_code == 201, link.text
    partner = doomed.client.post("/api/partners", json={"sharedWithId": other_user.id})
    assert partner.status_code == 201, partner.text
    r = doomed.client.request("DELETE", "/api/assets", json={"ids": [trashed]})
    assert r.status_code == 204, r.text
    assert stored_files(stack, kept) and stored_files(stack, trashed)

    gone = admin.client.request("DELETE", f"/api/admin/users/{doomed.id}", json={"force": True})
    assert gone.status_code == 200, gone.text
    assert gone.json()["id"] == doomed.id and gone.json()["status"] == "deleted"

    _error(admin.client.get(f"/api/admin/users/{doomed.id}"), 400)
    _error(doomed.client.get("/api/users/me"), 401)
    owner = uuid.UUID(doomed.id)
    for table, column in (
        ("assets", "owner_id"),
        ("albums", "owner_id"),
        ("tags", "owner_id"),
        ("people", "owner_id"),
        ("shared_links", "owner_id"),
        ("partners", "shared_by_id"),
        ("api_keys", "owner_id"),
    ):
        rows = db_rows(stack, f"SELECT count(*) AS n FROM {table} WHERE {column} = $1", owner)
        assert rows[0]["n"] == 0, table
    assert stored_files(stack, kept, trashed, doomed.id) == []
    # the other services and clients hear of each asset as when the trash is emptied
    events = asyncio.run(stream_events(stack.env()["DARKROOM_NATS_URL"], "darkroom.asset.deleted"))
    deleted = {json.loads(e)["asset_id"] for e in events}
    assert {kept, trashed} <= deleted
    links = asyncio.run(
        stream_events(stack.env()["DARKROOM_NATS_URL"], "darkroom.shared_link.removed")
    )
    assert link.json()["id"] in {json.loads(e)["shared_link_id"] for e in links}


def test_purge_trash_removes_only_what_is_past_its_age(stack: Stack, admin: User) -> None:
    from darkroom_gateway.domain.trash import purge_trash

    owner = make_user(stack, admin)
    old = upload_jpeg(owner, noise_jpeg(11))
    recent = upload_jpeg(owner, noise_jpeg(12))
    wait_processed(owner, [old, recent])
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [old, recent]})
    assert r.status_code == 204, r.text
    db_rows(
        stack,
        "UPDATE assets SET deleted_at = now() - interval '31 days' WHERE id = $1",
        uuid.UUID(old),
    )
    assert stored_files(stack, old)

    purged = _with_deps(stack, lambda deps: purge_trash(deps, timedelta(days=30)))

    assert purged >= 1
    _error(owner.client.get(f"/api/assets/{old}"), 400)
    assert db_rows(stack, "SELECT id FROM assets WHERE id = $1", uuid.UUID(old)) == []
    assert stored_files(stack, old) == []
    assert owner.client.get(f"/api/assets/{recent}").json()["isTrashed"] is True
    assert stored_files(stack, recent)


def test_purge_deleted_users_removes_only_those_past_the_delay(stack: Stack, admin: User) -> None:
    from darkroom_gateway.domain.admin_users import purge_deleted_users

    old, recent = make_user(stack, admin), make_user(stack, admin)
    old_asset = upload_jpeg(old, noise_jpeg(21))
    recent_asset = upload_jpeg(recent, noise_jpeg(22))
    wait_processed(old, [old_asset])
    wait_processed(recent, [recent_asset])
    for user in (old, recent):
        r = admin.client.request("DELETE", f"/api/admin/users/{user.id}", json={})
        assert r.status_code == 200 and r.json()["status"] == "deleted", r.text
    db_rows(
        stack,
        "UPDATE users SET deleted_at = now() - interval '8 days' WHERE id = $1",
        uuid.UUID(old.id),
    )
    assert stored_files(stack, old_asset)

    removed = _with_deps(stack, lambda deps: purge_deleted_users(deps, timedelta(days=7)))

    assert removed >= 1
    _error(admin.client.get(f"/api/admin/users/{old.id}"), 400)
    assert db_rows(stack, "SELECT id FROM assets WHERE owner_id = $1", uuid.UUID(old.id)) == []
    assert stored_files(stack, old_asset, old.id) == []
    # the recent one is still there and can be restored, with their photo
    restored = admin.client.post(f"/api/admin/users/{recent.id}/restore")
    assert restored.status_code == 200 and restored.json()["status"] == "active", restored.text
    assert recent.client.get(f"/api/assets/{recent_asset}").status_code == 200
    assert stored_files(stack, recent_asset)
