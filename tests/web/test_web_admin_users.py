"""Admin user management in a real browser against the real stack: on Administration > Users
the admin edits a user (name, e-mail, quota, storage label, admin, password reset), deletes
them, restores them, and deletes them immediately. Each step is checked in the page and in the
server's state over the API; screenshots go to ``test-output/web/admin-users-*.png``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User
from tests.web.conftest import needs_build, shot, signed_in_page


def _poll(check: Any, timeout_s: float = 60) -> None:
    """Wait until ``check()`` is true (the server state the page's click should make)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.3)


def _get(admin: User, user_id: str) -> dict[str, Any]:
    r = admin.client.get(f"/api/admin/users/{user_id}")
    return dict(r.json()) if r.status_code == 200 else {}


def test_admin_edits_deletes_and_restores_a_user(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    email = f"web{uuid.uuid4().hex[:8]}@darkroom.test"
    made = admin.client.post(
        "/api/admin/users", json={"email": email, "name": "Web Person", "password": "pw123456"}
    )
    assert made.status_code == 201, made.text
    target = made.json()["id"]
    new_email = f"renamed{uuid.uuid4().hex[:8]}@darkroom.test"
    label = f"web{uuid.uuid4().hex[:6]}"

    page: Any = signed_in_page(browser, stack, admin)
    page.goto("/admin/users")
    page.get_by_role("button", name=f"Edit {email}").click()
    form = page.get_by_role("form", name=f"Edit {email}")
    form.get_by_label("Name").fill("Renamed Person")
    form.get_by_label("Email").fill(new_email)
    form.get_by_label("Quota (GiB, empty: unlimited)").fill("2")
    form.get_by_label("Storage label").fill(label)
    form.get_by_label("New password").fill("reset password 1")
    form.get_by_label("Administrator").check()
    shot(page, "admin-users-edit")
    form.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text(f"Saved {new_email}").wait_for()
    saved = _get(admin, target)
    assert saved["name"] == "Renamed Person" and saved["email"] == new_email
    assert saved["quotaSizeInBytes"] == 2 * 1024**3 and saved["storageLabel"] == label
    assert saved["isAdmin"] is True and saved["shouldChangePassword"] is True
    login = httpx.post(
        f"{stack.url}/api/auth/login", json={"email": new_email, "password": "reset password 1"}
    )
    assert login.status_code == 201 and login.json()["shouldChangePassword"] is True

    # delete (restorable), then restore
    page.get_by_role("button", name=f"Delete {new_email}").click()
    page.get_by_role("form", name=f"Delete {new_email}").get_by_role(
        "button", name="Delete user"
    ).click()
    page.get_by_role("button", name=f"Restore {new_email}").wait_for()
    _poll(lambda: _get(admin, target).get("status") == "deleted")
    shot(page, "admin-users-deleted")
    page.get_by_role("button", name=f"Restore {new_email}").click()
    page.get_by_role("button", name=f"Edit {new_email}").wait_for()
    _poll(lambda: _get(admin, target).get("status") == "active")

    # delete immediately: gone for good
    page.get_by_role("button", name=f"Delete {new_email}").click()
    dialog = page.get_by_role("form", name=f"Delete {new_email}")
    dialog.get_by_label("Delete immediately", exact=False).check()
    dialog.get_by_role("button", name="Delete user").click()
    page.get_by_role("status").get_by_text(f"Deleted {new_email} and everything").wait_for()
    _poll(lambda: admin.client.get(f"/api/admin/users/{target}").status_code == 400)
    assert page.get_by_role("button", name=f"Restore {new_email}").count() == 0
    shot(page, "admin-users-removed")
    assert page.errors == []
