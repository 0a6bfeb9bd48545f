"""Administration > Settings in a real browser against the real stack: the admin opens
/admin/system-settings, changes the trash days, saves, and the server has it (and the page shows
it again after a reload); an invalid value shows the server's 400 naming the field. Screenshots
go to ``test-output/web/settings-*.png``.
"""

from __future__ import annotations

import time

from darkroom_stack.supervisor import Stack

from tests.conftest import User
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page

PATH = "/api/system-config"


def _trash_days(admin: User) -> int:
    r = admin.client.get(PATH)
    assert r.status_code == 200, r.text
    return int(r.json()["trash"]["days"])


def test_admin_changes_a_setting_and_sees_it_saved(
    stack: Stack, browser: object, admin: User
) -> None:
    needs_build()
    defaults = admin.client.get(f"{PATH}/defaults").json()
    page = signed_in_page(browser, stack, admin)
    try:
        page.goto("/admin/system-settings")  # type: ignore[attr-defined]
        tabs = page.get_by_role("navigation", name="Administration")  # type: ignore[attr-defined]
        tabs.get_by_role("link", name="Settings").wait_for()
        settings = page.get_by_role("region", name="System settings")  # type: ignore[attr-defined]
        settings.get_by_text("Trash", exact=True).click()
        trash = settings.get_by_role("form", name="Trash")
        assert axe_violations(page, "section.settings") == []
        trash.get_by_label("Days").fill("21")
        trash.get_by_role("button", name="Save").click()
        trash.get_by_role("status").filter(has_text="Saved").wait_for()
        deadline = time.monotonic() + 60
        while _trash_days(admin) != 21:
            assert time.monotonic() < deadline, "the server never had the new value"
            time.sleep(0.3)
        shot(page, "settings-saved")

        page.reload()  # type: ignore[attr-defined]
        settings = page.get_by_role("region", name="System settings")  # type: ignore[attr-defined]
        settings.get_by_text("Trash", exact=True).click()
        trash = settings.get_by_role("form", name="Trash")
        assert trash.get_by_label("Days").input_value() == "21"

        # an invalid value: the 400 body's field is shown, nothing is saved
        settings.get_by_text("Image settings", exact=True).click()
        image = settings.get_by_role("form", name="Image settings")
        image.locator("#cfg-image-thumbnail-size").fill("0")
        image.get_by_role("button", name="Save").click()
        image.get_by_role("alert").filter(has_text="image.thumbnail.size").wait_for()
        shot(page, "settings-invalid")
        thumbnail = admin.client.get(PATH).json()["image"]["thumbnail"]
        assert thumbnail["size"] == defaults["image"]["thumbnail"]["size"]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]
        assert admin.client.put(PATH, json=defaults).status_code == 200
