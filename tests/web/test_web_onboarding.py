"""The admin's first-run onboarding in a real browser (issue 13, item 3): shown to the admin until
done (theme, privacy, storage template placeholder), never to an ordinary user, passing axe."""

from __future__ import annotations

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page

ONBOARDING = "/api/system-metadata/admin-onboarding"


def test_admin_onboarding_flow(stack: Stack, browser: object, admin: User) -> None:
    """An admin not yet onboarded lands on the onboarding; each step passes axe; the theme
    applies at once, the map choice reaches /api/server/features, and Done records it."""
    needs_build()
    assert admin.client.post(ONBOARDING, json={"isOnboarded": False}).status_code == 204
    try:
        page = signed_in_page(browser, stack, admin)
        page.goto("/")  # type: ignore[attr-defined]
        page.wait_for_url("**/onboarding")  # type: ignore[attr-defined]
        page.get_by_role("heading", name="Theme").wait_for()  # type: ignore[attr-defined]
        assert axe_violations(page) == []
        page.get_by_label("Dark").check()  # type: ignore[attr-defined]
        html = page.locator("html")  # type: ignore[attr-defined]
        assert html.get_attribute("data-theme") == "dark"
        shot(page, "onboarding-1-theme")
        page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]

        page.get_by_role("heading", name="Privacy").wait_for()  # type: ignore[attr-defined]
        assert axe_violations(page) == []
        page.get_by_label("Show the map").uncheck()  # type: ignore[attr-defined]
        shot(page, "onboarding-2-privacy")
        page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]

        page.get_by_role("heading", name="Storage template").wait_for()  # type: ignore[attr-defined]
        assert axe_violations(page) == []
        assert admin.client.get("/api/server/features").json()["map"] is False
        shot(page, "onboarding-3-storage-template")
        page.get_by_role("button", name="Done").click()  # type: ignore[attr-defined]
        page.wait_for_url("**/photos")  # type: ignore[attr-defined]
        assert admin.client.get(ONBOARDING).json() == {"isOnboarded": True}
        # shown once: the next visit goes straight to the photos, still dark
        page.goto("/")  # type: ignore[attr-defined]
        page.wait_for_url("**/photos")  # type: ignore[attr-defined]
        assert html.get_attribute("data-theme") == "dark"
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        admin.client.put("/api/darkroom/privacy", json={"mapEnabled": True})
        admin.client.post(ONBOARDING, json={"isOnboarded": True})


def test_onboarding_is_the_admins_only(
    stack: Stack, browser: object, admin: User, request: pytest.FixtureRequest
) -> None:
    """An ordinary user never sees it, and may not read or change what it stores."""
    needs_build()
    user = make_user(stack, admin)
    assert admin.client.post(ONBOARDING, json={"isOnboarded": False}).status_code == 204
    try:
        page = signed_in_page(browser, stack, user)
        page.goto("/")  # type: ignore[attr-defined]
        page.wait_for_url("**/photos")  # type: ignore[attr-defined]
        for method, path, body in (
            ("GET", "/api/darkroom/privacy", None),
            ("PUT", "/api/darkroom/privacy", {"mapEnabled": False}),
            ("POST", ONBOARDING, {"isOnboarded": True}),
        ):
            assert user.client.request(method, path, json=body).status_code == 403
    finally:
        admin.client.post(ONBOARDING, json={"isOnboarded": True})


def test_map_switched_off_hides_the_map(stack: Stack, browser: object, admin: User) -> None:
    """With the privacy choice "Show the map" off, the nav has no Map link and /map says the map
    is off (and asks no tile server); on again, both are back."""
    needs_build()
    privacy = "/api/darkroom/privacy"
    assert admin.client.put(privacy, json={"mapEnabled": False}).status_code == 200
    try:
        page = signed_in_page(browser, stack, admin)
        tiles: list[str] = []
        page.on("request", lambda r: tiles.append(r.url) if "tile" in r.url else None)  # type: ignore[attr-defined]
        page.goto("/photos")  # type: ignore[attr-defined]
        nav_map = page.get_by_role("link", name="Map", exact=True)  # type: ignore[attr-defined]
        page.get_by_role("link", name="Photos", exact=True).wait_for()  # type: ignore[attr-defined]
        nav_map.wait_for(state="detached")
        page.goto("/map")  # type: ignore[attr-defined]
        page.get_by_test_id("map-off").wait_for()  # type: ignore[attr-defined]
        assert page.get_by_test_id("map").count() == 0  # type: ignore[attr-defined]
        assert axe_violations(page) == []
        shot(page, "map-off")
        assert tiles == []

        assert admin.client.put(privacy, json={"mapEnabled": True}).status_code == 200
        page.goto("/photos")  # type: ignore[attr-defined]
        nav_map.wait_for()
        page.goto("/map")  # type: ignore[attr-defined]
        page.get_by_test_id("map").wait_for()  # type: ignore[attr-defined]
        assert page.get_by_test_id("map-off").count() == 0  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        admin.client.put(privacy, json={"mapEnabled": True})
