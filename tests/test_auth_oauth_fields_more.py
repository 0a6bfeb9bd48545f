"""Auth, OAuth and API key behaviour that no other test checks, as Immich 3.1 answers it:

* ``POST /api/auth/logout`` answers ``redirectUri`` ``/auth/login?autoLaunch=0`` for a password
  session (Immich: auth.service ``getLogoutEndpoint`` returns ``LOGIN_URL``), so the web app
  does not launch OAuth again right after a logout.
* The session cookies of a login are written as Immich's Express writes them (Immich:
  utils/response ``respondWithCookie``, cookie options of ``getCookieOptions``): ``Max-Age`` of
  400 days, ``Path=/``, an ``Expires`` date, ``HttpOnly`` except ``immich_is_authenticated``,
  ``SameSite=Lax``, in that order (Immich's e2e auth spec compares them so).
* Routes declared ``@Authenticated()`` without a permission need an API key with ``all``
  (Immich: auth.service ``authenticate``, ``metadata.permission ?? Permission.All``):
  ``GET /api/auth/status``, ``POST /api/auth/logout``, ``POST /api/auth/session/lock`` and
  ``/unlock``, ``POST /api/oauth/link`` and ``/unlink`` answer 403 ``Missing required
  permission: all`` to a narrower key; ``POST /api/auth/validateToken`` and
  ``GET /api/api-keys/me`` (``permission: false``) do not.
* Credentials also come as the query parameters ``apiKey`` and ``sessionKey`` and the header
  ``x-immich-session-token`` (Immich: auth.service ``validate``, ``ImmichQuery.ApiKey``/
  ``SessionKey``, ``ImmichHeader.SessionToken``; e2e api-key spec "should work as a query
  param").
* An API key's ``permissions`` come back in the order given (Immich: api-key.service ``create``/
  ``update`` store ``dto.permissions`` as they are), on create, update, get and list.
* ``POST /api/auth/login`` with a malformed e-mail is a 400 validation error, not a 401
  (Immich: LoginCredentialDto ``email`` is validated as an e-mail).
* A user registered through OAuth gets the profile's e-mail in lower case and, without
  ``name``/``given_name``/``family_name``, the name ``preferred_username``, else the e-mail
  (Immich: auth.service ``callback``, ``normalizedEmail`` and the name fallbacks).
* At an OAuth sign-in, a user without a profile image gets the provider's ``picture`` (Immich:
  auth.service ``callback`` -> ``syncProfilePicture``); the login answer still shows the user
  as found; a picture that cannot be fetched does not stop the sign-in.
* ``POST /api/auth/admin-sign-up`` stores the e-mail in lower case and gives the admin the
  storage label ``admin`` (Immich: auth.service ``adminSignUp``, ``storageLabel: 'admin'``;
  SignUpDto's e-mail transform; e2e auth spec ``signupResponseDto.admin``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, running_stack
from .oidc_provider import Provider
from .test_oauth import (  # noqa: F401
    _account,
    _callback,
    _genuine_claims,
    _me,
    configure,
    provider,
)
from .test_oauth import _login as _oauth_login

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user of this module."""
    return make_user(stack, admin)


def _login(stack: Stack, user: User) -> httpx.Response:
    r = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r


def _key(user: User, permissions: list[str]) -> str:
    r = user.client.post("/api/api-keys", json={"name": "narrow", "permissions": permissions})
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def test_logout_redirects_to_the_login_page_without_auto_launch(stack: Stack, owner: User) -> None:
    token = _login(stack, owner).json()["accessToken"]
    out = httpx.post(
        f"{stack.url}/api/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert out.status_code == 200, out.text
    assert out.json() == {"successful": True, "redirectUri": "/auth/login?autoLaunch=0"}


def test_login_cookies_are_written_as_immich_writes_them(stack: Stack, owner: User) -> None:
    login = _login(stack, owner)
    token = login.json()["accessToken"]
    headers = login.headers.get_list("set-cookie")
    cookies = [[part.strip() for part in h.split(";")] for h in headers]
    assert len(cookies) == 3, cookies
    expected = [
        (f"immich_access_token={token}", True),
        ("immich_auth_type=password", True),
        ("immich_is_authenticated=true", False),
    ]
    for parts, (first, http_only) in zip(cookies, expected, strict=True):
        assert parts[0] == first, parts
        assert parts[1:3] == ["Max-Age=34560000", "Path=/"], parts
        assert parts[3].startswith("Expires=") and parts[3].endswith(" GMT"), parts
        assert parts[4:] == (["HttpOnly", "SameSite=Lax"] if http_only else ["SameSite=Lax"])


def test_routes_without_a_permission_need_an_all_key(
    stack: Stack, owner: User, admin: User
) -> None:
    narrow = httpx.Client(
        base_url=stack.url, headers={"x-api-key": _key(owner, ["asset.read"])}, timeout=60
    )
    calls = [
        ("GET", "/api/auth/status", None),
        ("POST", "/api/auth/logout", None),
        ("POST", "/api/auth/session/lock", None),
        ("POST", "/api/auth/session/unlock", {"pinCode": "123456"}),
        ("POST", "/api/oauth/link", {"url": "http://x/?code=a&state=b"}),
        ("POST", "/api/oauth/unlink", None),
    ]
    for method, path, body in calls:
        r = narrow.request(method, path, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json()["message"] == "Missing required permission: all", (path, r.text)
    # the same for every route that declares none, shared-link and admin routes too
    assert narrow.get("/api/shared-links/me").status_code == 403
    admin_narrow = httpx.Client(
        base_url=stack.url, headers={"x-api-key": _key(admin, ["asset.read"])}, timeout=60
    )
    r = admin_narrow.post("/api/admin/notifications/templates/test", json={"template": ""})
    assert r.status_code == 403 and r.json()["message"] == "Missing required permission: all"
    # declared ``permission: false`` in Immich: any valid key will do
    assert narrow.post("/api/auth/validateToken").json() == {"authStatus": True}
    assert narrow.get("/api/api-keys/me").json()["permissions"] == ["asset.read"]
    # a key with ``all`` passes the same routes
    assert owner.client.get("/api/auth/status").status_code == 200


def test_credentials_as_query_parameters_and_session_header(stack: Stack, owner: User) -> None:
    secret = _key(owner, ["all"])
    anon = httpx.Client(base_url=stack.url, timeout=60)
    r = anon.get("/api/api-keys/me", params={"apiKey": secret})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "narrow"
    token = _login(stack, owner).json()["accessToken"]
    r = anon.get("/api/users/me", params={"sessionKey": token})
    assert r.status_code == 200 and r.json()["id"] == owner.id, r.text
    r = anon.get("/api/users/me", headers={"x-immich-session-token": token})
    assert r.status_code == 200 and r.json()["id"] == owner.id, r.text
    # wrong ones are refused as the header forms are
    r = anon.get("/api/users/me", params={"apiKey": "not-a-key"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid API key", r.text
    r = anon.get("/api/users/me", params={"sessionKey": "not-a-token"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid user token", r.text


def test_api_key_permissions_keep_their_order(stack: Stack, admin: User, owner: User) -> None:
    given = ["asset.read", "album.read", "activity.create"]
    r = owner.client.post("/api/api-keys", json={"name": "ordered", "permissions": given})
    assert r.status_code == 201, r.text
    key = r.json()["apiKey"]
    assert key["permissions"] == given
    assert owner.client.get(f"/api/api-keys/{key['id']}").json()["permissions"] == given
    listed = [k for k in owner.client.get("/api/api-keys").json() if k["id"] == key["id"]]
    assert listed[0]["permissions"] == given
    changed = ["tag.read", "person.read"]
    r = owner.client.put(f"/api/api-keys/{key['id']}", json={"permissions": changed})
    assert r.status_code == 200 and r.json()["permissions"] == changed, r.text
    # a stranger's key id stays unknown to another user, whatever the body
    other = make_user(stack, admin)
    r = other.client.put(f"/api/api-keys/{key['id']}", json={"permissions": ["all"]})
    assert r.status_code == 400 and r.json()["message"] == "API Key not found", r.text


def test_login_with_a_malformed_email_is_a_validation_error(stack: Stack) -> None:
    r = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": "immich", "password": "x"}, timeout=60
    )
    assert r.status_code == 400, r.text
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@darkroom.test"
    r = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": unknown, "password": "x"}, timeout=60
    )
    assert r.status_code == 401 and r.json()["message"] == "Incorrect email or password", r.text


@pytest.fixture(scope="module")
def empty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A gateway-only stack with no user yet (admin sign-up works once per server)."""
    with running_stack(tmp_path_factory.mktemp("signup"), services=("gateway",)) as running:
        yield running


def test_admin_sign_up_lower_cases_the_email_and_labels_the_admin(empty_stack: Stack) -> None:
    anon = httpx.Client(base_url=empty_stack.url, timeout=60)
    body = {"email": "aDmIn@DarkRoom.TEST", "password": PASSWORD, "name": "Immich Admin"}
    r = anon.post("/api/auth/admin-sign-up", json=body)
    assert r.status_code == 201, r.text
    admin = r.json()
    assert (admin["email"], admin["storageLabel"], admin["isAdmin"]) == (
        "admin@darkroom.test",
        "admin",
        True,
    )
    again = anon.post("/api/auth/admin-sign-up", json=body)
    assert again.status_code == 400, again.text
    assert again.json()["message"] == "The server already has an admin"
    upper = {"email": "ADMIN@darkroom.test", "password": PASSWORD}
    login = anon.post("/api/auth/login", json=upper)
    assert login.status_code == 201, login.text
    assert login.json()["userEmail"] == "admin@darkroom.test"


def test_oauth_user_gets_a_lower_case_email_and_a_name_fallback(
    stack: Stack,
    provider: Provider,  # noqa: F811
    configure: Any,  # noqa: F811
) -> None:
    configure()
    mixed = f"MiXeD-{uuid.uuid4().hex[:8]}@OIDC.Test"
    username = f"user{uuid.uuid4().hex[:8]}"
    r = _oauth_login(stack, provider, _account(provider, email=mixed, preferred_username=username))
    assert r.status_code == 201, r.text
    assert (r.json()["userEmail"], r.json()["name"]) == (mixed.lower(), username)
    assert _me(stack, r.json()["accessToken"])["email"] == mixed.lower()
    plain = f"plain-{uuid.uuid4().hex[:8]}@oidc.test"
    r = _oauth_login(stack, provider, _account(provider, email=plain))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == plain


@pytest.fixture(scope="module")
def picture_url() -> Iterator[str]:
    """A loopback web server answering a JPEG at ``/me.jpg`` (404 elsewhere)."""
    jpeg = noise_jpeg(4242)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            found = self.path == "/me.jpg"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "image/jpeg" if found else "text/plain")
            body = jpeg if found else b"missing"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _sign_in_with_picture(stack: Stack, oidc: Provider, sub: str, picture: str) -> httpx.Response:
    """An OAuth sign-in of ``sub`` whose ID token carries ``picture``."""
    gateway, callback, nonce = _callback(stack, oidc, sub)
    oidc.next_id_token(oidc.forge({**_genuine_claims(oidc, sub, nonce), "picture": picture}))
    return gateway.post("/api/oauth/callback", json={"url": callback})


def test_oauth_sign_in_takes_the_profile_picture(
    stack: Stack,
    provider: Provider,  # noqa: F811
    configure: Any,  # noqa: F811
    picture_url: str,
) -> None:
    configure()
    # a picture that is not there: the sign-in goes on, without a profile image
    sub = _account(provider)
    r = _sign_in_with_picture(stack, provider, sub, f"{picture_url}/gone.jpg")
    assert r.status_code == 201, r.text
    assert _me(stack, r.json()["accessToken"])["profileImagePath"] == ""
    # the next sign-in finds it: stored, served; the login answer shows the user as found
    r = _sign_in_with_picture(stack, provider, sub, f"{picture_url}/me.jpg")
    assert r.status_code == 201, r.text
    assert r.json()["profileImagePath"] == ""
    token = r.json()["accessToken"]
    me = _me(stack, token)
    assert me["profileImagePath"], me
    image = httpx.get(
        f"{stack.url}/api/users/{me['id']}/profile-image",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert image.status_code == 200 and image.content == noise_jpeg(4242)
    # a user with a profile image keeps it
    r = _sign_in_with_picture(stack, provider, sub, f"{picture_url}/me.jpg")
    assert r.status_code == 201 and r.json()["profileImagePath"] == me["profileImagePath"]
