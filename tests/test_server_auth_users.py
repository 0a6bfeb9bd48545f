"""Server facts, authentication, API keys, sessions, users and admin user management over HTTP
against the running embedded stack (issue 3).

Every test makes its own users through POST /api/admin/users (as the ``admin`` fixture), so the
shared ``other_user`` is never disturbed.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import User, upload

PASSWORD = "first password 123"


@dataclass
class Account:
    """A user made for one test: its id, credentials and a client sending its session token."""

    id: str
    email: str
    password: str
    token: str
    client: httpx.Client


def _anon(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=60)


def _login(stack: Stack, email: str, password: str) -> httpx.Response:
    with _anon(stack) as anon:
        return anon.post("/api/auth/login", json={"email": email, "password": password})


def _account(stack: Stack, admin: User, **extra: object) -> Account:
    """Create a user as the admin and sign them in."""
    email = f"u{uuid.uuid4().hex[:10]}@darkroom.test"
    r = admin.client.post(
        "/api/admin/users",
        json={"email": email, "name": "Test User", "password": PASSWORD, **extra},
    )
    assert r.status_code == 201, r.text
    login = _login(stack, email, PASSWORD)
    assert login.status_code == 201, login.text
    token = login.json()["accessToken"]
    client = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return Account(id=r.json()["id"], email=email, password=PASSWORD, token=token, client=client)


def _key(account: Account, permissions: list[str]) -> httpx.Client:
    """An API-key client of ``account`` holding only ``permissions``."""
    r = account.client.post("/api/api-keys", json={"name": "scoped", "permissions": permissions})
    assert r.status_code == 201, r.text
    return httpx.Client(
        base_url=str(account.client.base_url), headers={"x-api-key": r.json()["secret"]}, timeout=60
    )


def _png(size: int = 64, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(seed: int, size: int = 96) -> bytes:
    """A small JPEG unique to ``seed`` (different pixels -> different checksum)."""
    buf = io.BytesIO()
    img = Image.new("RGB", (size, size), (seed % 256, (seed * 7) % 256, (seed * 13) % 256))
    img.putpixel((0, 0), (seed % 251, 3, 5))
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _error(r: httpx.Response, status: int) -> dict[str, object]:
    """Assert an Immich-shaped error with ``status`` and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    # Immich's body: the message, plus ``errors`` for a validation error
    assert set(body) in ({"message"}, {"message", "errors"}) and r.headers["x-immich-cid"], body
    return body


# --- server ----------------------------------------------------------------------------------


def test_public_server_routes(stack: Stack, admin: User) -> None:
    with _anon(stack) as anon:
        assert anon.get("/api/server/ping").json() == {"res": "pong"}
        assert anon.get("/api/server/version").json() == {
            "major": 3,
            "minor": 1,
            "patch": 0,
            "prerelease": None,
        }
        history = anon.get("/api/server/version-history").json()
        assert len(history) == 1 and history[0]["version"] == "3.1.0"
        assert uuid.UUID(history[0]["id"]) and history[0]["createdAt"]
        features = anon.get("/api/server/features")
        assert features.headers["content-type"].startswith("application/json")
        # reverseGeocoding turns true once the metadata service has loaded its place data and
        # said so; on a loaded machine that can come after the gateway answers.
        deadline = time.monotonic() + 90
        while not features.json()["reverseGeocoding"] and time.monotonic() < deadline:
            time.sleep(0.5)
            features = anon.get("/api/server/features")
        f = features.json()
        assert f["smartSearch"] is False  # no CLIP model in the default stack
        assert isinstance(f["facialRecognition"], bool)  # true once the face model loaded
        assert f["map"] and f["reverseGeocoding"] and f["trash"] and f["passwordLogin"]
        assert f["search"] and f["sidecar"] and not f["oauth"] and not f["duplicateDetection"]
        assert len(f) == 16
        config = anon.get("/api/server/config").json()
        assert config["isInitialized"] is True
        assert config["trashDays"] == 30 and config["userDeleteDelay"] == 7
        assert ".jpg" in anon.get("/api/server/media-types").json()["image"]
        assert anon.get("/.well-known/immich").json() == {"api": {"endpoint": "/api"}}
        for path in ("about", "storage", "statistics", "license", "version-check"):
            _error(anon.get(f"/api/server/{path}"), 401)


def test_server_facts_for_users_and_admins(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    about = user.client.get("/api/server/about").json()
    assert about["version"] == "v3.1.0" and about["licensed"] is False
    storage = user.client.get("/api/server/storage").json()
    assert storage["diskSizeRaw"] > 0
    assert storage["diskUseRaw"] + storage["diskAvailableRaw"] <= storage["diskSizeRaw"]
    assert 0 < storage["diskUsagePercentage"] <= 100
    assert storage["diskSize"].endswith("iB")
    check = user.client.get("/api/server/version-check").json()
    assert check == {"checkedAt": None, "releaseVersion": None}
    # statistics and licence are admin-only
    _error(user.client.get("/api/server/statistics"), 403)
    _error(user.client.get("/api/server/license"), 403)
    _error(admin.client.get("/api/server/license"), 404)
    stats = admin.client.get("/api/server/statistics").json()
    ids = [u["userId"] for u in stats["usageByUser"]]
    assert admin.id in ids and user.id in ids
    mine = next(u for u in stats["usageByUser"] if u["userId"] == user.id)
    assert mine == {
        "userId": user.id,
        "userName": "Test User",
        "photos": 0,
        "videos": 0,
        "usage": 0,
        "usagePhotos": 0,
        "usageVideos": 0,
        "quotaSizeInBytes": None,
    }
    assert stats["usage"] == sum(u["usage"] for u in stats["usageByUser"])
    # an API key without server.about may not read it
    scoped = _key(user, ["user.read"])
    _error(scoped.get("/api/server/about"), 403)


# --- auth ------------------------------------------------------------------------------------


def test_validate_token_status_and_change_password(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    with _anon(stack) as anon:
        _error(anon.post("/api/auth/validateToken"), 401)
        _error(anon.get("/api/auth/status"), 401)
        _error(anon.post("/api/auth/validateToken", headers={"Authorization": "Bearer nope"}), 401)
    assert user.client.post("/api/auth/validateToken").json() == {"authStatus": True}
    status = user.client.get("/api/auth/status").json()
    assert status["password"] is True and status["pinCode"] is False
    assert status["isElevated"] is False

    second = _login(stack, user.email, PASSWORD).json()["accessToken"]
    bad = user.client.post(
        "/api/auth/change-password", json={"password": "wrong one!", "newPassword": "n3w secret"}
    )
    _error(bad, 400)
    short = user.client.post(
        "/api/auth/change-password", json={"password": PASSWORD, "newPassword": "short"}
    )
    _error(short, 400)
    ok = user.client.post(
        "/api/auth/change-password", json={"password": PASSWORD, "newPassword": "n3w secret!"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"] == user.id and ok.json()["shouldChangePassword"] is False
    _error(_login(stack, user.email, PASSWORD), 401)
    assert _login(stack, user.email, "n3w secret!").status_code == 201
    # without invalidateSessions the other session lives on
    with _anon(stack) as anon:
        headers = {"Authorization": f"Bearer {second}"}
        assert anon.get("/api/users/me", headers=headers).status_code == 200
        again = user.client.post(
            "/api/auth/change-password",
            json={
                "password": "n3w secret!",
                "newPassword": "third secret",
                "invalidateSessions": True,
            },
        )
        assert again.status_code == 200, again.text
        _error(anon.get("/api/users/me", headers=headers), 401)
    assert user.client.get("/api/users/me").status_code == 200  # the caller's own session stays
    # an API key lacking auth.changePassword is refused
    scoped = _key(user, ["user.read"])
    _error(
        scoped.post(
            "/api/auth/change-password",
            json={"password": "third secret", "newPassword": "fourth secret"},
        ),
        403,
    )


def test_login_rate_limit(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    for _ in range(5):
        _error(_login(stack, user.email, "not the password"), 401)
    body = _error(_login(stack, user.email, PASSWORD), 429)
    assert "Too many" in str(body["message"])
    # another account from the same address is not affected
    fresh = _account(stack, admin)
    assert _login(stack, fresh.email, PASSWORD).status_code == 201
    # a success before the limit forgets earlier failures
    for _ in range(4):
        _error(_login(stack, fresh.email, "nope nope"), 401)
    assert _login(stack, fresh.email, PASSWORD).status_code == 201
    for _ in range(4):
        _error(_login(stack, fresh.email, "nope nope"), 401)
    assert _login(stack, fresh.email, PASSWORD).status_code == 201


# --- API keys --------------------------------------------------------------------------------


def test_api_keys(stack: Stack, admin: User) -> None:
    alice = _account(stack, admin)
    bob = _account(stack, admin)
    with _anon(stack) as anon:
        _error(anon.get("/api/api-keys"), 401)
    made = alice.client.post("/api/api-keys", json={"name": "one", "permissions": ["asset.read"]})
    assert made.status_code == 201
    key_id = made.json()["apiKey"]["id"]
    listed = alice.client.get("/api/api-keys").json()
    assert [k["id"] for k in listed] == [key_id]
    assert "secret" not in listed[0] and listed[0]["permissions"] == ["asset.read"]
    assert alice.client.get(f"/api/api-keys/{key_id}").json()["name"] == "one"
    renamed = alice.client.put(
        f"/api/api-keys/{key_id}", json={"name": "two", "permissions": ["asset.read", "user.read"]}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "two"
    assert renamed.json()["permissions"] == ["asset.read", "user.read"]
    # the key now works for user.read
    key_client = httpx.Client(
        base_url=stack.url, headers={"x-api-key": made.json()["secret"]}, timeout=60
    )
    assert key_client.get("/api/users/me").json()["id"] == alice.id
    # ...but lacks apiKey.read
    _error(key_client.get("/api/api-keys"), 403)
    # another user sees none of it
    assert bob.client.get("/api/api-keys").json() == []
    _error(bob.client.get(f"/api/api-keys/{key_id}"), 400)
    _error(bob.client.put(f"/api/api-keys/{key_id}", json={"name": "mine"}), 400)
    _error(bob.client.delete(f"/api/api-keys/{key_id}"), 400)
    assert alice.client.get(f"/api/api-keys/{key_id}").json()["name"] == "two"
    # delete: the key stops working at once
    assert alice.client.delete(f"/api/api-keys/{key_id}").status_code == 204
    _error(key_client.get("/api/users/me"), 401)
    _error(alice.client.get(f"/api/api-keys/{key_id}"), 400)
    assert alice.client.get("/api/api-keys").json() == []


# --- sessions --------------------------------------------------------------------------------


def test_sessions(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    other = _account(stack, admin)
    with _anon(stack) as anon:
        _error(anon.get("/api/sessions"), 401)
    second_token = _login(stack, user.email, PASSWORD).json()["accessToken"]
    second = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {second_token}"}, timeout=60
    )
    sessions = user.client.get("/api/sessions").json()
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    assert {"id", "createdAt", "updatedAt", "deviceOS", "deviceType", "isPendingSyncReset"} <= set(
        sessions[0]
    )
    mine = next(s for s in sessions if s["current"])
    theirs = next(s for s in sessions if not s["current"])
    # another user cannot see or end them
    assert all(
        s["id"] not in {mine["id"], theirs["id"]} for s in other.client.get("/api/sessions").json()
    )
    _error(other.client.delete(f"/api/sessions/{theirs['id']}"), 400)
    _error(
        other.client.put(f"/api/sessions/{theirs['id']}", json={"isPendingSyncReset": True}), 400
    )
    assert second.get("/api/users/me").status_code == 200
    flagged = user.client.put(f"/api/sessions/{theirs['id']}", json={"isPendingSyncReset": True})
    assert flagged.status_code == 200 and flagged.json()["isPendingSyncReset"] is True
    # a child session (cast) with its own token
    child = user.client.post("/api/sessions", json={"deviceOS": "Cast", "duration": 3600})
    assert child.status_code == 201, child.text
    assert child.json()["token"] and child.json()["expiresAt"]
    child_client = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {child.json()['token']}"}, timeout=60
    )
    assert child_client.get("/api/users/me").json()["id"] == user.id
    assert user.client.delete(f"/api/sessions/{theirs['id']}").status_code == 204
    _error(second.get("/api/users/me"), 401)
    # DELETE /sessions ends all but the current one
    third = _login(stack, user.email, PASSWORD).json()["accessToken"]
    assert user.client.delete("/api/sessions").status_code == 204
    with _anon(stack) as anon:
        _error(anon.get("/api/users/me", headers={"Authorization": f"Bearer {third}"}), 401)
    _error(child_client.get("/api/users/me"), 401)
    left = user.client.get("/api/sessions").json()
    assert [s["id"] for s in left] == [mine["id"]]
    assert other.client.get("/api/users/me").status_code == 200  # other users untouched


def test_logout_clears_the_cookies_login_set(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    with _anon(stack) as browser:
        login = browser.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        assert login.status_code == 201, login.text
        names = {"immich_access_token", "immich_auth_type", "immich_is_authenticated"}
        assert names <= set(browser.cookies.keys())
        assert browser.get("/api/users/me").status_code == 200  # the cookie signs it in
        out = browser.post("/api/auth/logout")
        assert out.status_code == 200 and out.json()["successful"] is True
        cleared = {
            h.split("=", 1)[0]
            for h in out.headers.get_list("set-cookie")
            if "max-age=0" in h.lower()
        }
        assert cleared == names
        assert not names & set(browser.cookies.keys())
        _error(browser.get("/api/users/me"), 401)


# --- users -----------------------------------------------------------------------------------


def test_users_me_and_lookup(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    other = _account(stack, admin)
    with _anon(stack) as anon:
        _error(anon.get("/api/users/me"), 401)
        _error(anon.get("/api/users"), 401)
    me = user.client.get("/api/users/me").json()
    assert me["id"] == user.id and me["email"] == user.email and me["isAdmin"] is False
    updated = user.client.put("/api/users/me", json={"name": "Renamed", "avatarColor": "green"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Renamed" and updated.json()["avatarColor"] == "green"
    _error(user.client.put("/api/users/me", json={"email": other.email.upper()}), 400)
    _error(user.client.put("/api/users/me", json={"email": "not-an-email"}), 400)
    _error(user.client.put("/api/users/me", json={"avatarColor": "chartreuse"}), 400)
    new_email = f"n{uuid.uuid4().hex[:8]}@darkroom.test"
    assert user.client.put("/api/users/me", json={"email": new_email}).json()["email"] == new_email
    assert _login(stack, new_email, PASSWORD).status_code == 201

    listed = other.client.get("/api/users").json()
    by_id = {u["id"]: u for u in listed}
    assert {user.id, other.id, admin.id} <= set(by_id)
    assert set(by_id[user.id]) == {
        "id",
        "email",
        "name",
        "avatarColor",
        "profileChangedAt",
        "profileImagePath",
    }
    assert other.client.get(f"/api/users/{user.id}").json()["name"] == "Renamed"
    _error(other.client.get(f"/api/users/{uuid.uuid4()}"), 400)  # Immich's findOrFail
    scoped = _key(other, ["asset.read"])
    _error(scoped.get("/api/users"), 403)
    _error(scoped.get("/api/users/me"), 403)


def test_preferences(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    with _anon(stack) as anon:
        _error(anon.get("/api/users/me/preferences"), 401)
    prefs = user.client.get("/api/users/me/preferences").json()
    assert set(prefs) == {
        "albums",
        "cast",
        "download",
        "emailNotifications",
        "folders",
        "memories",
        "people",
        "purchase",
        "ratings",
        "recentlyAdded",
        "sharedLinks",
        "tags",
    }
    assert prefs["albums"] == {"defaultAssetOrder": "desc"}
    assert prefs["download"]["archiveSize"] == 4 << 30
    assert prefs["memories"]["enabled"] is True
    r = user.client.put(
        "/api/users/me/preferences",
        json={
            "memories": {"enabled": False},
            "tags": {"enabled": True},
            "avatar": {"color": "red"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["memories"] == {"enabled": False, "duration": 5}
    assert r.json()["tags"] == {"enabled": True, "sidebarWeb": False}
    r = user.client.put("/api/users/me/preferences", json={"memories": {"duration": 9}})
    assert r.json()["memories"] == {"enabled": False, "duration": 9}  # merged, not replaced
    assert user.client.get("/api/users/me/preferences").json()["tags"]["enabled"] is True
    assert user.client.get("/api/users/me").json()["avatarColor"] == "red"
    _error(user.client.put("/api/users/me/preferences", json={"download": {"archiveSize": 0}}), 400)
    _error(
        user.client.put("/api/users/me/preferences", json={"albums": {"defaultAssetOrder": "up"}}),
        400,
    )
    # the admin reads them too; another user's preferences are not reachable as a non-admin
    assert (
        admin.client.get(f"/api/admin/users/{user.id}/preferences").json()["memories"]["duration"]
        == 9
    )
    other = _account(stack, admin)
    _error(other.client.get(f"/api/admin/users/{user.id}/preferences"), 403)
    assert other.client.get("/api/users/me/preferences").json()["memories"]["duration"] == 5


def test_onboarding(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    assert user.client.get("/api/users/me/onboarding").json() == {"isOnboarded": False}
    r = user.client.put("/api/users/me/onboarding", json={"isOnboarded": True})
    assert r.json() == {"isOnboarded": True}
    assert _login(stack, user.email, PASSWORD).json()["isOnboarded"] is True
    assert user.client.delete("/api/users/me/onboarding").status_code == 204
    assert user.client.get("/api/users/me/onboarding").json() == {"isOnboarded": False}


def test_profile_image(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    other = _account(stack, admin)
    _error(user.client.get(f"/api/users/{user.id}/profile-image"), 404)
    png = _png()
    r = user.client.post("/api/users/profile-image", files={"file": ("me.png", png, "image/png")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["userId"] == user.id
    assert body["profileImagePath"].startswith(f"profile/{user.id}/")
    assert body["profileImagePath"].endswith(".png")
    got = other.client.get(f"/api/users/{user.id}/profile-image")
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert (
        other.client.get(f"/api/users/{user.id}").json()["profileImagePath"]
        == body["profileImagePath"]
    )
    # replacing it serves the new picture
    png2 = _png(color=(10, 200, 10))
    r2 = user.client.post(
        "/api/users/profile-image", files={"file": ("me2.png", png2, "image/png")}
    )
    assert r2.status_code == 201
    assert r2.json()["profileImagePath"] != body["profileImagePath"]
    assert user.client.get(f"/api/users/{user.id}/profile-image").content == png2
    _error(
        user.client.post(
            "/api/users/profile-image", files={"file": ("x.txt", b"hello", "text/plain")}
        ),
        400,
    )
    _error(
        user.client.post("/api/users/profile-image", files={"other": ("a.png", png, "image/png")}),
        400,
    )
    with _anon(stack) as anon:
        _error(
            anon.post("/api/users/profile-image", files={"file": ("a.png", png, "image/png")}), 401
        )
        _error(anon.get(f"/api/users/{user.id}/profile-image"), 401)
    # another user's delete only touches their own (absent) picture: 400, as Immich
    _error(other.client.delete("/api/users/profile-image"), 400)
    assert user.client.get(f"/api/users/{user.id}/profile-image").status_code == 200
    assert user.client.delete("/api/users/profile-image").status_code == 204
    _error(user.client.get(f"/api/users/{user.id}/profile-image"), 404)
    assert user.client.get("/api/users/me").json()["profileImagePath"] == ""


# --- admin users -----------------------------------------------------------------------------


def test_admin_routes_need_an_admin(stack: Stack, admin: User) -> None:
    user = _account(stack, admin)
    target = _account(stack, admin)
    base = f"/api/admin/users/{target.id}"
    for method, path, body in (
        ("GET", "/api/admin/users", None),
        ("POST", "/api/admin/users", {"email": "x@y.z", "name": "x", "password": "p"}),
        ("GET", base, None),
        ("PUT", base, {"name": "hacked"}),
        ("DELETE", base, None),
        ("POST", f"{base}/restore", None),
        ("GET", f"{base}/preferences", None),
        ("GET", f"{base}/sessions", None),
        ("GET", f"{base}/statistics", None),
    ):
        _error(user.client.request(method, path, json=body), 403)
        with _anon(stack) as anon:
            _error(anon.request(method, path, json=body), 401)
    # an admin's API key without adminUser.read is refused as well
    admin_key = admin.client.post(
        "/api/api-keys", json={"name": "narrow", "permissions": ["user.read"]}
    ).json()["secret"]
    with httpx.Client(base_url=stack.url, headers={"x-api-key": admin_key}, timeout=60) as narrow:
        _error(narrow.get("/api/admin/users"), 403)
        assert narrow.get("/api/users/me").status_code == 200
    assert target.client.get("/api/users/me").json()["name"] == "Test User"


def test_admin_user_lifecycle(stack: Stack, admin: User) -> None:
    email = f"life{uuid.uuid4().hex[:8]}@darkroom.test"
    created = admin.client.post(
        "/api/admin/users",
        json={
            "email": email,
            "name": "Life",
            "password": PASSWORD,
            "shouldChangePassword": True,
            "quotaSizeInBytes": 10_000_000,
            "avatarColor": "purple",
        },
    )
    assert created.status_code == 201, created.text
    u = created.json()
    assert u["email"] == email and u["isAdmin"] is False and u["shouldChangePassword"] is True
    assert u["quotaSizeInBytes"] == 10_000_000 and u["quotaUsageInBytes"] == 0
    assert u["status"] == "active" and u["deletedAt"] is None and u["avatarColor"] == "purple"
    _error(
        admin.client.post(
            "/api/admin/users", json={"email": email.upper(), "name": "Dup", "password": "x"}
        ),
        400,
    )
    _error(
        admin.client.post("/api/admin/users", json={"email": "bad", "name": "B", "password": "x"}),
        400,
    )
    login = _login(stack, email, PASSWORD)
    assert login.json()["shouldChangePassword"] is True
    assert admin.client.get(f"/api/admin/users/{u['id']}").json()["email"] == email
    assert [
        x["id"] for x in admin.client.get("/api/admin/users", params={"id": u["id"]}).json()
    ] == [u["id"]]
    assert u["id"] in [x["id"] for x in admin.client.get("/api/admin/users").json()]
    _error(admin.client.get(f"/api/admin/users/{uuid.uuid4()}"), 400)

    # update: admin rights, quota, password reset, flags
    upd = admin.client.put(
        f"/api/admin/users/{u['id']}",
        json={
            "isAdmin": True,
            "quotaSizeInBytes": None,
            "password": "reset by admin",
            "shouldChangePassword": True,
            "storageLabel": "life",
        },
    )
    assert upd.status_code == 200, upd.text
    assert upd.json()["isAdmin"] is True and upd.json()["quotaSizeInBytes"] is None
    assert upd.json()["storageLabel"] == "life" and upd.json()["name"] == "Life"
    _error(_login(stack, email, PASSWORD), 401)
    token = _login(stack, email, "reset by admin").json()["accessToken"]
    life = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert life.get("/api/admin/users").status_code == 200  # now an admin
    _error(life.put(f"/api/admin/users/{u['id']}", json={"isAdmin": False}), 400)  # not self
    _error(admin.client.put(f"/api/admin/users/{u['id']}", json={"quotaSizeInBytes": -1}), 400)
    assert (
        admin.client.put(f"/api/admin/users/{u['id']}", json={"isAdmin": False}).json()["isAdmin"]
        is False
    )
    _error(life.get("/api/admin/users"), 403)
    sessions = admin.client.get(f"/api/admin/users/{u['id']}/sessions").json()
    assert len(sessions) == 2 and not any(s["current"] for s in sessions)
    assert admin.client.get(f"/api/admin/users/{u['id']}/statistics").json() == {
        "images": 0,
        "videos": 0,
        "total": 0,
    }

    # soft delete: cannot sign in, hidden from lists, restorable
    _error(admin.client.delete(f"/api/admin/users/{admin.id}"), 403)  # as Immich
    gone = admin.client.delete(f"/api/admin/users/{u['id']}")
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "deleted" and gone.json()["deletedAt"]
    _error(life.get("/api/users/me"), 401)
    _error(_login(stack, email, "reset by admin"), 401)
    assert u["id"] not in [x["id"] for x in admin.client.get("/api/admin/users").json()]
    with_deleted = admin.client.get("/api/admin/users", params={"withDeleted": "true"}).json()
    assert u["id"] in [x["id"] for x in with_deleted]
    _error(admin.client.get(f"/api/users/{u['id']}"), 400)
    restored = admin.client.post(f"/api/admin/users/{u['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["status"] == "active" and restored.json()["deletedAt"] is None
    assert _login(stack, email, "reset by admin").status_code == 201

    # force delete: gone for good, the e-mail is free again
    forced = admin.client.request("DELETE", f"/api/admin/users/{u['id']}", json={"force": True})
    assert forced.status_code == 200, forced.text
    assert forced.json()["status"] == "deleted"
    _error(admin.client.get(f"/api/admin/users/{u['id']}"), 400)
    _error(admin.client.post(f"/api/admin/users/{u['id']}/restore"), 400)
    again = admin.client.post(
        "/api/admin/users", json={"email": email, "name": "Again", "password": PASSWORD}
    )
    assert again.status_code == 201 and again.json()["id"] != u["id"]


def _api_key_user(stack: Stack, account: Account) -> User:
    r = account.client.post("/api/api-keys", json={"name": "up", "permissions": ["all"]})
    secret = r.json()["secret"]
    client = httpx.Client(base_url=stack.url, headers={"x-api-key": secret}, timeout=60)
    return User(
        id=account.id, email=account.email, password=PASSWORD, api_key=secret, client=client
    )


def test_quota_usage_and_statistics(stack: Stack, admin: User) -> None:
    account = _account(stack, admin, quotaSizeInBytes=50_000_000)
    uploader = _api_key_user(stack, account)
    sizes = []
    for seed in (1, 2):
        data = _jpeg(seed)
        r = upload(uploader, Path(f"q{seed}.jpg"), data=data)
        assert r.status_code == 201, r.text
        sizes.append(len(data))
    me = account.client.get("/api/users/me").json()
    assert me["quotaUsageInBytes"] == sum(sizes)
    stats = admin.client.get("/api/server/statistics").json()
    row = next(u for u in stats["usageByUser"] if u["userId"] == account.id)
    assert row["photos"] == 2 and row["usage"] == sum(sizes) and row["usagePhotos"] == sum(sizes)
    assert row["quotaSizeInBytes"] == 50_000_000
    assert admin.client.get(f"/api/admin/users/{account.id}/statistics").json()["images"] == 2
    # force-deleting the user removes their assets (and usage) with them
    forced = admin.client.request("DELETE", f"/api/admin/users/{account.id}", json={"force": True})
    assert forced.status_code == 200, forced.text
    stats = admin.client.get("/api/server/statistics").json()
    assert account.id not in [u["userId"] for u in stats["usageByUser"]]


def test_quota_rejects_uploads_past_the_limit(stack: Stack, admin: User) -> None:
    data = _jpeg(42)
    account = _account(stack, admin, quotaSizeInBytes=len(data) + 10)
    uploader = _api_key_user(stack, account)
    assert upload(uploader, Path("fits.jpg"), data=data).status_code == 201
    body = _error(upload(uploader, Path("over.jpg"), data=_jpeg(43)), 400)
    assert "Quota" in str(body["message"])
    assert account.client.get("/api/users/me").json()["quotaUsageInBytes"] == len(data)
    # raising the quota lets the upload through
    admin.client.put(f"/api/admin/users/{account.id}", json={"quotaSizeInBytes": None})
    assert upload(uploader, Path("over.jpg"), data=_jpeg(43)).status_code == 201
