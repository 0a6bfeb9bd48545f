"""OAuth sign-in in a real browser through a real OpenID Connect provider on loopback
(panva's oidc-provider, tests/oidc_provider.py; issue #18 item 1): the login page's button
(labelled with ``oauth.buttonText``) takes the browser to the provider and back, signed in; with
``oauth.autoLaunch`` the login page goes to the provider by itself, unless ``?autoLaunch=0``;
Settings links the signed-in account to the provider account and unlinks it.
Screenshots go to ``test-output/web/oauth-*.png``. The system config of before is put back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider
from tests.web.conftest import TIMEOUT_MS, needs_build, shot, signed_in_page, watch_errors

BUTTON = "Sign in with Test OIDC"


@pytest.fixture(scope="module")
def provider(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The provider, allowing the web app's login and settings pages as redirect URIs."""
    uris = [f"{stack.url}/auth/login", f"{stack.url}/settings"]
    with running_provider(tmp_path_factory.mktemp("oidc-web"), uris) as running:
        yield running


@pytest.fixture(scope="module")
def configure(admin: User, provider: Provider) -> Iterator[Any]:
    """``configure(**oauth)``: OAuth on against the provider; the old config back at the end."""
    before = admin.client.get("/api/system-config").json()

    def apply(**changes: Any) -> None:
        config = admin.client.get("/api/system-config").json()
        config["oauth"] = {
            **before["oauth"],
            "enabled": True,
            "issuerUrl": provider.issuer,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "allowInsecureRequests": True,
            "buttonText": BUTTON,
            **changes,
        }
        r = admin.client.put("/api/system-config", json=config)
        assert r.status_code == 200, r.text

    yield apply
    assert admin.client.put("/api/system-config", json=before).status_code == 200


def _visitor(browser: object, stack: Stack, provider: Provider) -> tuple[object, object]:
    """A fresh browser context (no session) whose sign-ins at the provider are a new account."""
    sub = f"web-{uuid.uuid4().hex[:10]}"
    provider.add_account(sub, {"email": f"{sub}@oidc.test", "name": "Web Visitor"})
    provider.post("/__test/default", {"account": sub})
    context = browser.new_context(base_url=stack.url)  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    return context, page


def _signed_in_by_oauth(context: object) -> bool:
    cookies = {c["name"]: c["value"] for c in context.cookies()}  # type: ignore[attr-defined]
    return bool(cookies.get("immich_access_token")) and cookies.get("immich_auth_type") == "oauth"


def test_login_button_signs_in_through_the_provider(
    stack: Stack, browser: object, provider: Provider, configure: Any
) -> None:
    needs_build()
    configure(autoLaunch=False)
    context, page = _visitor(browser, stack, provider)
    try:
        page.goto("/auth/login")  # type: ignore[attr-defined]
        button = page.get_by_role("button", name=BUTTON)  # type: ignore[attr-defined]
        button.wait_for()
        shot(page, "oauth-login-button")
        button.click()
        page.wait_for_url(re.compile(r"/photos$"))  # type: ignore[attr-defined]
        assert _signed_in_by_oauth(context)
        assert page.errors == []  # type: ignore[attr-defined]
        shot(page, "oauth-signed-in")
    finally:
        context.close()  # type: ignore[attr-defined]


def test_auto_launch_goes_to_the_provider_unless_turned_off(
    stack: Stack, browser: object, provider: Provider, configure: Any
) -> None:
    needs_build()
    configure(autoLaunch=True)
    context, page = _visitor(browser, stack, provider)
    try:
        page.goto("/auth/login?autoLaunch=0")  # type: ignore[attr-defined]
        page.get_by_role("button", name=BUTTON).wait_for()  # type: ignore[attr-defined]
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        assert page.url.endswith("/auth/login?autoLaunch=0")  # type: ignore[attr-defined]
        assert not _signed_in_by_oauth(context)
        page.goto("/auth/login")  # type: ignore[attr-defined]
        page.wait_for_url(re.compile(r"/photos$"))  # type: ignore[attr-defined]
        assert _signed_in_by_oauth(context)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()  # type: ignore[attr-defined]


def test_settings_link_and_unlink(
    stack: Stack, browser: object, provider: Provider, configure: Any, admin: User
) -> None:
    needs_build()
    configure(autoLaunch=False)
    user = make_user(stack, admin)
    sub = f"web-link-{uuid.uuid4().hex[:10]}"
    provider.add_account(sub, {"email": f"{sub}@oidc.test", "name": "Linked"})
    provider.post("/__test/default", {"account": sub})
    page = signed_in_page(browser, stack, user)
    try:
        page.goto("/settings")  # type: ignore[attr-defined]
        oauth = page.get_by_role("region", name="OAuth")  # type: ignore[attr-defined]
        oauth.get_by_role("button", name="Link to OAuth").click()
        oauth.get_by_role("status").filter(has_text="OAuth account linked").wait_for()
        assert user.client.get("/api/users/me").json()["oauthId"] == sub
        assert page.url.endswith("/settings")  # type: ignore[attr-defined]
        shot(page, "oauth-linked")
        oauth.get_by_role("button", name="Unlink OAuth").click()
        oauth.get_by_role("button", name="Link to OAuth").wait_for()
        assert user.client.get("/api/users/me").json()["oauthId"] == ""
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]
