"""The locked folder and the forced password change in a real browser against the real stack
(issue #18 items 2-4).

Locked folder: the first visit sets up the PIN code; "Lock" asks for it again; moving a
selection from Photos into the locked folder asks for the PIN (a wrong one is refused with the
server's message); the photo leaves the timeline and shows in the locked folder, from where it
moves back. Forced change: a user the admin made with ``shouldChangePassword`` is sent to the
change-password page after logging in, and reaches the photos once the password is changed.
Every step checks the page and the server's state; no page error or CSP violation is allowed.
Screenshots go to ``test-output/web/locked-*.png``.
"""

from __future__ import annotations

import re
import uuid

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User
from tests.web.conftest import (
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
    watch_errors,
)

TILE = 'main a[data-asset-id="{}"]'
PIN = "246810"


def _tiles(page: object) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    return ids


def _visibility(page: object, asset_id: str) -> str:
    """The asset's visibility, asked with the browser's own (unlocked) session."""
    r = page.request.get(f"/api/assets/{asset_id}")  # type: ignore[attr-defined]
    assert r.status == 200, r.text()
    return str(r.json()["visibility"])


def test_locked_folder_pin_setup_move_in_and_out(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    owner = library_owner(stack, request)
    seed(stack, owner.id, 2, 2022, 2022)
    page = signed_in_page(browser, stack, owner)

    # first visit: set up the PIN code (the session is unlocked with it)
    page.goto("/photos")  # type: ignore[attr-defined]
    nav = page.get_by_role("navigation", name="Sections")  # type: ignore[attr-defined]
    nav.get_by_role("link", name="Locked folder").click()
    page.wait_for_url("**/locked")  # type: ignore[attr-defined]
    setup = page.get_by_role("form", name="Set up a PIN code")  # type: ignore[attr-defined]
    setup.get_by_label("New PIN code").fill(PIN)
    setup.get_by_label("Confirm PIN code").fill(PIN)
    shot(page, "locked-01-setup")
    assert axe_violations(page) == []
    setup.get_by_role("button", name="Create PIN code").click()
    page.get_by_text("Photos you move to the locked folder").wait_for()  # type: ignore[attr-defined]
    status = page.request.get("/api/auth/status").json()  # type: ignore[attr-defined]
    assert status["pinCode"] is True and status["isElevated"] is True
    page.get_by_role("button", name="Lock", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_test_id("pin-prompt").wait_for()  # type: ignore[attr-defined]
    assert page.request.get("/api/auth/status").json()["isElevated"] is False  # type: ignore[attr-defined]

    # from Photos into the locked folder: the PIN is asked (the session is locked now)
    nav.get_by_role("link", name="Photos").click()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('main a[data-asset-id]').length === 2"
    )
    chosen, kept = _tiles(page)
    page.locator(TILE.format(chosen)).hover()  # type: ignore[attr-defined]
    page.locator(f'button[data-select-id="{chosen}"]').click()  # type: ignore[attr-defined]
    bar = page.get_by_test_id("selection-bar")  # type: ignore[attr-defined]
    bar.get_by_role("button", name="Move to locked folder").click()
    dialog = page.get_by_role("dialog", name="Unlock the locked folder")  # type: ignore[attr-defined]
    dialog.get_by_label(re.compile("Enter your PIN code")).fill("000000")
    dialog.get_by_role("button", name="Unlock").click()
    dialog.get_by_role("alert").get_by_text("Wrong PIN code").wait_for()
    shot(page, "locked-02-pin-prompt")
    assert axe_violations(page) == []
    dialog.get_by_label(re.compile("Enter your PIN code")).fill(PIN)
    dialog.get_by_role("button", name="Unlock").click()
    page.get_by_role("status").get_by_text(  # type: ignore[attr-defined]
        "Moved 1 item to the locked folder"
    ).wait_for()
    page.locator(TILE.format(chosen)).wait_for(state="detached")  # type: ignore[attr-defined]
    assert _visibility(page, chosen) == "locked"
    assert _visibility(page, kept) == "timeline"

    # the locked folder lists it (still unlocked); move it back out
    nav.get_by_role("link", name="Locked folder").click()
    page.wait_for_url("**/locked")  # type: ignore[attr-defined]
    page.locator(TILE.format(chosen)).wait_for()  # type: ignore[attr-defined]
    assert _tiles(page) == [chosen]
    shot(page, "locked-03-folder")
    page.locator(TILE.format(chosen)).hover()  # type: ignore[attr-defined]
    page.locator(f'button[data-select-id="{chosen}"]').click()  # type: ignore[attr-defined]
    bar.get_by_role("button", name="Move out of locked folder").click()
    page.get_by_role("status").get_by_text(  # type: ignore[attr-defined]
        "Moved 1 item out of the locked folder"
    ).wait_for()
    page.locator(TILE.format(chosen)).wait_for(state="detached")  # type: ignore[attr-defined]
    assert _visibility(page, chosen) == "timeline"
    assert page.errors == []  # type: ignore[attr-defined]


def test_forced_password_change_at_first_login(stack: Stack, browser: object, admin: User) -> None:
    needs_build()
    email, first = f"{uuid.uuid4().hex[:10]}@darkroom.test", "first password 1"
    made = admin.client.post(
        "/api/admin/users",
        json={"email": email, "password": first, "name": "New", "shouldChangePassword": True},
    )
    assert made.status_code == 201, made.text
    context = browser.new_context(base_url=stack.url)  # type: ignore[attr-defined]
    page = context.new_page()
    errors = watch_errors(page)
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(first)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/auth/change-password")
    form = page.get_by_role("form", name="Change your password")
    form.get_by_label("Current password").fill(first)
    form.get_by_label("New password", exact=True).fill("second password 2")
    form.get_by_label("Confirm new password").fill("second password 2")
    shot(page, "locked-04-forced-change")
    assert axe_violations(page) == []
    form.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/photos")
    me = page.request.get("/api/users/me").json()
    assert me["shouldChangePassword"] is False
    relogin = page.request.post(
        "/api/auth/login", data={"email": email, "password": "second password 2"}
    )
    assert relogin.status == 201 and relogin.json()["shouldChangePassword"] is False
    assert errors == []
    context.close()
