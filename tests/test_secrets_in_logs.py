"""No password, session token, cookie or API key secret reaches any log file of a full stack.

The stack is exercised over HTTP with distinctive secrets (sign-up, logins, a wrong password,
the ``Pw42\\xff`` login body that is not valid UTF-8, bearer tokens, an API key as header and as
``?apiKey=``/``?key=``, the session cookie, malformed bodies, strings PostgreSQL refuses and 4xx
errors); then it is stopped and every file under its data dir whose name ends in ``.log`` is
searched for each secret. The status codes are not asserted: the logs must be clean whatever
the gateway answers.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from .conftest import running_stack


def _secret(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def _exercise(base_url: str, secrets: dict[str, str]) -> None:
    """Send every request of the scenario; ``secrets`` gets the server-issued ones."""
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@darkroom.test"
    with httpx.Client(base_url=base_url, timeout=60) as anon:
        r = anon.post(
            "/api/auth/admin-sign-up",
            json={"email": admin_email, "password": secrets["admin_password"], "name": "Admin"},
        )
        assert r.status_code == 201, r.text
        login = anon.post(
            "/api/auth/login", json={"email": admin_email, "password": secrets["admin_password"]}
        )
        assert login.status_code == 201, login.text
        token = login.json()["accessToken"]
        secrets["access_token"] = token
        cookie = login.cookies.get("immich_access_token")
        assert cookie, login.headers
        secrets["cookie"] = cookie
        anon.post(
            "/api/auth/login", json={"email": admin_email, "password": secrets["wrong_password"]}
        )
        # the request: one byte that is not UTF-8 inside the password
        raw = (
            b'{"email":"'
            + admin_email.encode()
            + b'","password":"'
            + secrets["invalid_utf8_password"].encode()
            + b'\xff"}'
        )
        anon.post("/api/auth/login", content=raw, headers={"content-type": "application/json"})
        anon.post(
            "/api/auth/login",
            content=b'{"email": "x@y.z", "password": "' + secrets["truncated_password"].encode(),
            headers={"content-type": "application/json"},
        )

    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=60, headers=bearer) as user:
        key = user.post("/api/api-keys", json={"name": "logs", "permissions": ["all"]})
        assert key.status_code == 201, key.text
        api_key = key.json()["secret"]
        secrets["api_key"] = api_key
        user.post(
            "/api/admin/users",
            json={
                "email": f"other-{uuid.uuid4().hex[:8]}@darkroom.test",
                "password": secrets["new_user_password"],
                "name": "Other",
            },
        )
        user.post(
            "/api/auth/change-password",
            json={"password": secrets["wrong_password"], "newPassword": secrets["new_password"]},
        )
        user.get("/api/users/me")
        user.get("/api/assets/not-a-uuid")
        user.get(f"/api/assets/{uuid.uuid4()}")
        user.get("/api/no-such-route", params={"token": token})
        # a malformed upload: a multipart body cut short, and a JSON body where a form belongs
        user.post(
            "/api/assets",
            content=b'--xyz\r\nContent-Disposition: form-data; name="assetData"\r\n\r\n',
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        user.post("/api/assets", content=b"\xff\xfe{", headers={"content-type": "text/plain"})
        user.put(
            "/api/assets", content=b'{"ids": [1, ', headers={"content-type": "application/json"}
        )

        # a NUL in a string, which PostgreSQL refuses (a 500 when this was written)
        user.post("/api/albums", json={"albumName": "\x00"})

    with httpx.Client(base_url=base_url, timeout=60) as anon:
        anon.put("/api/users/me", json={"name": "\x00"}, headers={"x-api-key": api_key})
        anon.post(
            "/api/search/metadata",
            json={"city": "\x00"},
            headers={"cookie": f"immich_access_token={cookie}"},
        )
        anon.get("/api/users/me", headers={"x-api-key": api_key})
        anon.get("/api/users/me", params={"apiKey": api_key})
        anon.get("/api/assets", params={"key": api_key})
        anon.get("/api/users/me", headers={"x-api-key": secrets["bad_api_key"]})
        anon.get("/api/users/me", headers={"Authorization": f"Bearer {secrets['bad_token']}"})
        anon.get("/api/users/me", headers={"x-immich-user-token": token})
        anon.get("/api/users/me", headers={"x-immich-share-key": secrets["share_key"]})
        anon.get("/api/users/me", headers={"cookie": f"immich_access_token={cookie}"})
        anon.get("/api/users/me", params={"sharedLinkToken": secrets["share_key"]})
        anon.post(
            "/api/assets",
            content=b"not a form",
            headers={
                "content-type": "multipart/form-data",
                "cookie": f"immich_access_token={cookie}",
            },
        )


def test_no_secret_reaches_any_log_file(tmp_path: Path) -> None:
    secrets = {
        name: _secret(prefix)
        for name, prefix in (
            ("admin_password", "AdminPw-"),
            ("wrong_password", "WrongPw-"),
            ("invalid_utf8_password", "Pw42"),
            ("truncated_password", "CutPw-"),
            ("new_user_password", "NewUserPw-"),
            ("new_password", "NewPw-"),
            ("bad_api_key", "BadKey"),
            ("bad_token", "BadToken"),
            ("share_key", "ShareKey"),
        )
    }
    data_dir = tmp_path / "data"
    with running_stack(data_dir) as stack:
        _exercise(stack.url, secrets)
    database_password = data_dir / "secrets" / "postgres-password"
    if database_password.exists():
        secrets["database_password"] = database_password.read_text().strip()
    for name in ("nats-service-password", "nats-integration-password"):  # NATS auth (#21)
        secrets[name] = (data_dir / "secrets" / name).read_text().strip()

    logs = sorted(p for p in data_dir.rglob("*.log") if p.is_file())
    gateway_log = data_dir / "logs" / "gateway.log"
    assert gateway_log in logs
    # the run was logged: failed logins are (without their password)
    assert b"auth.login_failed" in gateway_log.read_bytes()
    leaks = [
        f"{name} in {path.relative_to(data_dir)}"
        for path in logs
        for name, secret in secrets.items()
        if any(piece in path.read_bytes() for piece in _pieces(secret))
    ]
    assert not leaks, leaks


def _pieces(secret: str, size: int = 16) -> list[bytes]:
    """The secret and its ``size``-character pieces every 8 characters: a log that cut a
    secret short (reprs are truncated) still holds one whole piece if it kept 24 characters."""
    data = secret.encode()
    return [data] + [data[i : i + size] for i in range(0, len(data) - size + 1, size // 2)]
