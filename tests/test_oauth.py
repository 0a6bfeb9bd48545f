"""OAuth/OIDC sign-in through a real provider on loopback (issue #18 item 1).

The provider is panva's ``oidc-provider`` (tests/oidc_provider.py): discovery, PKCE, codes,
tokens, JWKS and UserInfo are its own. A new user is auto-registered with Immich's claim
settings, an existing user is linked by e-mail or while signed in, the mobile app's flow goes
through ``/api/oauth/mobile-redirect``, and ``/api/server/features`` reports OAuth as configured.

Refused tokens: the test holds the provider's signing key, so after a genuine sign-in (a real
code at the real token endpoint) it has the provider hand out an ID token it forged that differs
from a genuine one in one respect: another audience, an ``exp`` an hour ago, a signature by
another key, another nonce. A forged token with nothing wrong is accepted (the harness itself is
not what is refused). A replayed callback is refused before any code exchange (the provider's
token endpoint sees no request). Password login turned off refuses ``POST /api/auth/login``.

The module changes the shared stack's system config and puts the previous one back at the end.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack
from joserfc.jwk import RSAKey

from .conftest import User, make_user
from .oidc_provider import (
    BASIC_CLIENT_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    query,
    running_provider,
    sign_in,
)
from .test_server_metadata import _refused, conforms

GIB = 1 << 30
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture(scope="module")
def provider(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The provider, allowing the web app's and the mobile override's redirect URIs."""
    uris = [f"{stack.url}/auth/login", f"{stack.url}/user-settings", _mobile_uri(stack)]
    with running_provider(tmp_path_factory.mktemp("oidc"), uris) as running:
        yield running


def _mobile_uri(stack: Stack) -> str:
    return f"{stack.url}/api/oauth/mobile-redirect"


@pytest.fixture(scope="module")
def configure(stack: Stack, admin: User, provider: Provider) -> Iterator[Any]:
    """``configure(**oauth)`` turns OAuth on against the provider (with these fields of
    SystemConfigOAuthDto changed); the config of before is put back when the module ends."""
    before = admin.client.get("/api/system-config").json()

    def apply(password_login: bool = True, **changes: Any) -> None:
        config = admin.client.get("/api/system-config").json()
        config["oauth"] = {
            **before["oauth"],
            "enabled": True,
            "issuerUrl": provider.issuer,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "allowInsecureRequests": True,
            "buttonText": "Sign in with Test OIDC",
            **changes,
        }
        config["passwordLogin"] = {"enabled": password_login}
        r = admin.client.put("/api/system-config", json=config)
        assert r.status_code == 200, r.text

    yield apply
    assert admin.client.put("/api/system-config", json=before).status_code == 200


def _account(provider: Provider, **claims: Any) -> str:
    """A new provider account (its ``sub``) with a unique e-mail unless one is given."""
    sub = f"sub-{uuid.uuid4().hex[:12]}"
    provider.add_account(sub, {"email": f"{sub}@oidc.test", "email_verified": True, **claims})
    return sub


def _start(gateway: httpx.Client, redirect_uri: str, **extra: str) -> str:
    r = gateway.post("/api/oauth/authorize", json={"redirectUri": redirect_uri, **extra})
    assert r.status_code == 201, r.text
    return str(conforms(r.json(), "OAuthAuthorizeResponseDto")["url"])


def _callback(stack: Stack, provider: Provider, sub: str) -> tuple[httpx.Client, str, str]:
    """A browser's sign-in up to the callback: (its gateway client, holding the state cookie;
    the callback URL; the nonce the authorization request sent)."""
    gateway = httpx.Client(base_url=stack.url, timeout=60)
    url = _start(gateway, f"{stack.url}/auth/login")
    callback = sign_in(url, sub, f"{stack.url}/auth/login")
    return gateway, callback, query(url)["nonce"]


def _login(stack: Stack, provider: Provider, sub: str) -> httpx.Response:
    gateway, callback, _ = _callback(stack, provider, sub)
    return gateway.post("/api/oauth/callback", json={"url": callback})


def _me(stack: Stack, token: str) -> dict[str, Any]:
    r = httpx.get(
        f"{stack.url}/api/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_features_report_oauth(stack: Stack, configure: Any) -> None:
    configure(enabled=False)
    features = httpx.get(f"{stack.url}/api/server/features", timeout=60).json()
    assert (features["oauth"], features["oauthAutoLaunch"]) == (False, False)
    configure(autoLaunch=True)
    features = httpx.get(f"{stack.url}/api/server/features", timeout=60).json()
    assert (features["oauth"], features["oauthAutoLaunch"]) == (True, True)
    config = httpx.get(f"{stack.url}/api/server/config", timeout=60).json()
    assert config["oauthButtonText"] == "Sign in with Test OIDC"
    configure()
    features = httpx.get(f"{stack.url}/api/server/features", timeout=60).json()
    assert (features["oauth"], features["oauthAutoLaunch"]) == (True, False)


def test_new_user_is_auto_registered_with_claims(
    stack: Stack, provider: Provider, configure: Any
) -> None:
    configure(storageLabelClaim="preferred_username")
    label = f"label{uuid.uuid4().hex[:8]}"
    sub = _account(
        provider, name="Ada Lovelace", preferred_username=label, immich_quota=3, immich_role="admin"
    )
    gateway, callback, nonce = _callback(stack, provider, sub)
    assert nonce and query(callback)["code"]
    r = gateway.post("/api/oauth/callback", json={"url": callback})
    assert r.status_code == 201, r.text
    body = conforms(r.json(), "LoginResponseDto")
    assert (body["userEmail"], body["name"], body["isAdmin"]) == (
        f"{sub}@oidc.test",
        "Ada Lovelace",
        True,
    )
    assert r.cookies.get("immich_auth_type") == "oauth"
    me = _me(stack, body["accessToken"])
    assert (me["storageLabel"], me["quotaSizeInBytes"], me["oauthId"]) == (label, 3 * GIB, sub)
    # signing in again reaches the same account (found by its OAuth subject)
    again = _login(stack, provider, sub)
    assert again.status_code == 201, again.text
    assert again.json()["userId"] == body["userId"]
    # logging out of an OAuth session sends the browser to the provider's end session endpoint
    discovery = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    out = gateway.post("/api/auth/logout")
    assert out.status_code == 200, out.text
    assert out.json()["redirectUri"] == discovery["end_session_endpoint"]


def test_authorization_request_uses_pkce_state_and_nonce(stack: Stack, configure: Any) -> None:
    configure(prompt="login")
    gateway = httpx.Client(base_url=stack.url, timeout=60)
    params = query(_start(gateway, f"{stack.url}/auth/login"))
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["state"] == gateway.cookies["immich_oauth_state"]
    assert params["nonce"] and params["nonce"] != params["state"]
    assert (params["client_id"], params["response_type"], params["prompt"]) == (
        CLIENT_ID,
        "code",
        "login",
    )
    assert params["scope"] == "openid email profile"


def test_defaults_without_claims_and_client_secret_basic(
    stack: Stack, provider: Provider, configure: Any
) -> None:
    configure(
        clientId=BASIC_CLIENT_ID,
        tokenEndpointAuthMethod="client_secret_basic",
        defaultStorageQuota=7,
    )
    sub = _account(provider, given_name="Grace", family_name="Hopper")
    r = _login(stack, provider, sub)
    assert r.status_code == 201, r.text
    me = _me(stack, r.json()["accessToken"])
    assert (me["name"], me["isAdmin"], me["quotaSizeInBytes"]) == ("Grace Hopper", False, 7 * GIB)
    assert me["storageLabel"] is None


def test_auto_register_off_refuses_a_stranger(
    stack: Stack, provider: Provider, configure: Any
) -> None:
    configure(autoRegister=False)
    r = _login(stack, provider, _account(provider))
    _refused(r, 400)
    assert r.json()["message"] == "User does not exist and auto registering is disabled."


def test_existing_user_is_linked_by_email(
    stack: Stack, provider: Provider, admin: User, configure: Any
) -> None:
    configure(autoRegister=False)
    existing = make_user(stack, admin)
    sub = _account(provider, email=existing.email)
    r = _login(stack, provider, sub)
    assert r.status_code == 201, r.text
    assert r.json()["userId"] == existing.id
    assert existing.client.get("/api/users/me").json()["oauthId"] == sub


def test_link_and_unlink_while_signed_in(
    stack: Stack, provider: Provider, admin: User, configure: Any
) -> None:
    configure()
    user = make_user(stack, admin)
    sub = _account(provider)
    url = _start(user.client, f"{stack.url}/user-settings")
    callback = sign_in(url, sub, f"{stack.url}/user-settings")
    r = user.client.post("/api/oauth/link", json={"url": callback})
    assert r.status_code == 200, r.text
    assert conforms(r.json(), "UserAdminResponseDto")["oauthId"] == sub
    # the same provider account cannot be linked to a second user
    other = make_user(stack, admin)
    url = _start(other.client, f"{stack.url}/user-settings")
    r = other.client.post(
        "/api/oauth/link", json={"url": sign_in(url, sub, f"{stack.url}/user-settings")}
    )
    _refused(r, 400)
    # signing in with it reaches the linked user; unlinking ends that
    login = _login(stack, provider, sub)
    assert login.status_code == 201 and login.json()["userId"] == user.id, login.text
    r = user.client.post("/api/oauth/unlink")
    assert r.status_code == 200 and r.json()["oauthId"] == "", r.text
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    _refused(anonymous.post("/api/oauth/unlink"), 401)
    _refused(anonymous.post("/api/oauth/link", json={"url": callback}), 401)


def _genuine_claims(provider: Provider, sub: str, nonce: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "sub": sub,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": nonce,
        "email": f"{sub}@oidc.test",
        "name": "Forged Fine",
    }


FORGERIES = {
    "nothing wrong": lambda c: c,
    "wrong audience": lambda c: {**c, "aud": "another-client"},
    "expired": lambda c: {**c, "iat": c["iat"] - 7200, "exp": c["iat"] - 3600},
    "other nonce": lambda c: {**c, "nonce": "not-the-nonce-sent"},
}


@pytest.mark.parametrize("case", [*FORGERIES, "bad signature"])
def test_forged_id_tokens(stack: Stack, provider: Provider, configure: Any, case: str) -> None:
    configure()
    sub = _account(provider)
    gateway, callback, nonce = _callback(stack, provider, sub)
    claims = _genuine_claims(provider, sub, nonce)
    if case == "bad signature":  # same kid, another key: the provider's JWKS does not verify it
        other = RSAKey.generate_key(2048, parameters={"kid": provider.key.kid})
        provider.next_id_token(provider.forge(claims, other))
    else:
        provider.next_id_token(provider.forge(FORGERIES[case](claims)))
    r = gateway.post("/api/oauth/callback", json={"url": callback})
    if case == "nothing wrong":
        assert r.status_code == 201, r.text
        assert r.json()["name"] == "Forged Fine"  # the claims of the token the test made
        return
    _refused(r, 500)
    assert r.json()["message"] == "Failed to finish oauth"
    assert "immich_access_token" not in r.cookies


def test_replayed_state_is_refused(stack: Stack, provider: Provider, configure: Any) -> None:
    configure()
    sub = _account(provider)
    gateway, callback, _ = _callback(stack, provider, sub)
    state = query(callback)["state"]
    first = gateway.post("/api/oauth/callback", json={"url": callback, "state": state})
    assert first.status_code == 201, first.text
    exchanges = provider.token_requests()
    replay = gateway.post("/api/oauth/callback", json={"url": callback, "state": state})
    _refused(replay, 400)
    assert "state" in replay.json()["message"]
    assert provider.token_requests() == exchanges  # refused before any code exchange
    # a state the gateway never issued, and none at all
    forged = dict(query(callback), state=secrets.token_urlsafe(32))
    fresh = httpx.Client(base_url=stack.url, timeout=60)
    r = fresh.post(
        "/api/oauth/callback",
        json={"url": f"{stack.url}/auth/login?code={forged['code']}&state={forged['state']}"},
    )
    _refused(r, 400)
    r = fresh.post("/api/oauth/callback", json={"url": callback})
    _refused(r, 400)
    assert r.json()["message"] == "OAuth state is missing"


def test_mobile_redirect_flow(stack: Stack, provider: Provider, configure: Any) -> None:
    configure(mobileOverrideEnabled=True, mobileRedirectUri=_mobile_uri(stack))
    # what the Immich mobile app does: its own state and PKCE pair, redirect to its scheme
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    app = httpx.Client(base_url=stack.url, timeout=60)
    url = _start(
        app,
        "app.immich:///oauth-callback",
        state=state,
        codeChallenge=challenge.rstrip(b"=").decode(),
    )
    assert query(url)["redirect_uri"] == _mobile_uri(stack)
    landing = sign_in(url, _account(provider), _mobile_uri(stack))
    # the browser lands on the gateway's mobile redirect, which hands the query to the app
    r = httpx.get(landing, timeout=60, follow_redirects=False)
    assert r.status_code == 307, r.text
    to_app = r.headers["location"]
    assert to_app.startswith("app.immich:///oauth-callback?")
    assert query(to_app) == query(landing)
    # the app finishes with its verifier; no cookie involved
    r = httpx.post(
        f"{stack.url}/api/oauth/callback",
        json={"url": to_app, "state": state, "codeVerifier": verifier},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    conforms(r.json(), "LoginResponseDto")


def test_back_channel_logout(stack: Stack, provider: Provider, configure: Any) -> None:
    configure()
    sub = _account(provider)
    plain = _login(stack, provider, sub).json()["accessToken"]
    # a second sign-in whose ID token names the provider session "sid-b" (the test's token)
    gateway, callback, nonce = _callback(stack, provider, sub)
    claims = {**_genuine_claims(provider, sub, nonce), "sid": "sid-b"}
    provider.next_id_token(provider.forge(claims))
    with_sid = gateway.post("/api/oauth/callback", json={"url": callback}).json()["accessToken"]
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    r = anonymous.post("/api/oauth/backchannel-logout", data={"logout_token": "invalid token"})
    _refused(r, 400)
    assert r.json()["message"] == "Error backchannel logout: token validation failed"

    def logout(**names: str) -> None:
        claims = {
            "iss": provider.issuer,
            "aud": CLIENT_ID,
            "iat": int(time.time()),
            "jti": uuid.uuid4().hex,
            "events": {BACKCHANNEL_EVENT: {}},
            **names,
        }
        token = provider.forge(claims)
        r = anonymous.post("/api/oauth/backchannel-logout", data={"logout_token": token})
        assert r.status_code == 200, r.text

    def signed_in(token: str) -> bool:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{stack.url}/api/users/me", headers=headers, timeout=60).is_success

    logout(sid="sid-b")  # that provider session only
    assert (signed_in(plain), signed_in(with_sid)) == (True, False)
    logout(sub=sub)  # every session of the account
    assert signed_in(plain) is False


def test_password_login_disabled(stack: Stack, admin: User, configure: Any) -> None:
    configure(password_login=False)
    try:
        assert httpx.get(f"{stack.url}/api/server/features").json()["passwordLogin"] is False
        r = httpx.post(
            f"{stack.url}/api/auth/login",
            json={"email": admin.email, "password": admin.password},
            timeout=60,
        )
        _refused(r, 401)
        assert r.json()["message"] == "Password login has been disabled"
    finally:
        configure(password_login=True)
    r = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": admin.email, "password": admin.password},
        timeout=60,
    )
    assert r.status_code == 201, r.text


def test_plain_http_provider_needs_allow_insecure_requests(stack: Stack, configure: Any) -> None:
    configure(allowInsecureRequests=False)
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    r = anonymous.post("/api/oauth/authorize", json={"redirectUri": f"{stack.url}/auth/login"})
    _refused(r, 500)  # as Immich: openid-client refuses the http issuer, a 500
    assert r.json()["message"] == "Failed to discover OAuth provider"


def test_oauth_off_is_refused(stack: Stack, configure: Any) -> None:
    configure(enabled=False)
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    r = anonymous.post("/api/oauth/authorize", json={"redirectUri": f"{stack.url}/auth/login"})
    _refused(r, 400)
    assert r.json()["message"] == "OAuth is not enabled"
    _refused(anonymous.post("/api/oauth/callback", json={"url": ""}), 400)
