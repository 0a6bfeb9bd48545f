"""Administration > External Libraries in a real browser against the real stack: the admin
creates a library for a user with an import path and exclusion patterns, scans it, sees its
statistics, edits it and deletes it. Each step is checked in the page and over the API;
screenshots go to ``test-output/web/admin-libraries-*.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.web.conftest import needs_build, shot, signed_in_page


def _poll(check: Any, timeout_s: float = 240) -> Any:
    """Wait until ``check()`` is truthy (generous: the pipeline on a loaded machine)."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.3)
    return result


def _jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(24, 32, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer())


def test_admin_creates_scans_edits_and_deletes_a_library(
    stack: Stack, browser: object, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    owner = make_user(stack, admin)
    folder = tmp_path / "photos"
    (folder / "skip").mkdir(parents=True)
    (folder / "one.jpg").write_bytes(_jpeg(1))
    (folder / "two.jpg").write_bytes(_jpeg(2))
    (folder / "skip" / "three.jpg").write_bytes(_jpeg(3))

    page: Any = signed_in_page(browser, stack, admin)
    page.goto("/admin/library-management")
    page.get_by_role("button", name="Create library").click()
    form = page.get_by_role("form", name="Create library")
    form.get_by_label("Owner").select_option(label=owner.email)
    form.get_by_label("Name").fill("Web library")
    form.get_by_label("Import paths (one per line)").fill(str(folder))
    form.get_by_label("Exclusion patterns (one per line)").fill("**/skip/**")
    shot(page, "admin-libraries-create")
    form.get_by_role("button", name="Create").click()
    page.get_by_role("status").get_by_text("Created Web library").wait_for()
    (made,) = [
        lib for lib in admin.client.get("/api/libraries").json() if lib["name"] == "Web library"
    ]
    assert made["ownerId"] == owner.id and made["importPaths"] == [str(folder)]
    assert made["exclusionPatterns"] == ["**/skip/**"]

    page.get_by_role("button", name="Scan Web library").click()
    page.get_by_role("status").get_by_text("Scanning Web library").wait_for()
    stats = f"/api/libraries/{made['id']}/statistics"
    _poll(lambda: admin.client.get(stats).json()["photos"] == 2)  # skip/ stayed out
    page.get_by_role("button", name="Refresh").click()
    row = page.locator(f'tr[data-library-id="{made["id"]}"]')
    row.locator('td[data-stat="photos"]').get_by_text("2", exact=True).wait_for()
    shot(page, "admin-libraries-scanned")

    page.get_by_role("button", name="Edit Web library").click()
    edit = page.get_by_role("form", name="Edit Web library")
    edit.get_by_label("Name").fill("Renamed library")
    edit.get_by_label("Import paths (one per line)").fill("relative/path")
    edit.get_by_role("button", name="Save").click()
    page.get_by_role("alert").get_by_text("Invalid import path", exact=False).wait_for()
    edit.get_by_label("Import paths (one per line)").fill(str(folder))
    edit.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text("Saved Renamed library").wait_for()
    assert admin.client.get(f"/api/libraries/{made['id']}").json()["name"] == "Renamed library"

    page.get_by_role("button", name="Delete Renamed library").click()
    page.get_by_role("form", name="Delete Renamed library").get_by_role(
        "button", name="Delete library"
    ).click()
    page.get_by_role("status").get_by_text("Deleted Renamed library").wait_for()
    assert admin.client.get(f"/api/libraries/{made['id']}").status_code == 400
    assert (folder / "one.jpg").is_file()  # the files stay
    shot(page, "admin-libraries-deleted")
    assert page.errors == []
