"""Administration > Integrity in a real browser, on a small stack of its own (just the gateway:
no media is needed, and "delete all" must not reach the shared stack's files).

Untracked files found by the check are listed with their download links; a row's Delete removes
the row and the file, "Delete all" (after a confirmation) the rest; "Check now" of the checksum
section runs its job. Screenshots go to
``test-output/web/integrity-*.png``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import first_admin, running_stack
from tests.web.conftest import needs_build, shot, signed_in_page


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of just the gateway."""
    with running_stack(tmp_path_factory.mktemp("web-integrity"), services=("gateway",)) as s:
        yield s


def test_admin_integrity_page_lists_downloads_and_deletes(
    small_stack: Stack, browser: object
) -> None:
    needs_build()
    admin = first_admin(small_stack)
    folder = small_stack.config.data_dir / "storage" / "upload" / admin.id / "zz" / "st"
    folder.mkdir(parents=True)
    stray, other = folder / "a.jpg", folder / "b.jpg"
    old = time.time() - 7200  # past the check's grace for files being written
    for path in (stray, other):
        path.write_bytes(b"stray bytes")
        os.utime(path, (old, old))
    r = admin.client.post("/api/jobs", json={"name": "integrity-untracked-files"})
    assert r.status_code == 204, r.text
    item, _ = admin.client.get(
        "/api/admin/integrity/report", params={"type": "untracked_file"}
    ).json()["items"]

    page: Any = signed_in_page(browser, small_stack, admin)
    page.goto("/admin/integrity")
    page.get_by_role("heading", name="Integrity report").wait_for()
    row = page.locator(f'tr[data-item="{item["id"]}"]')
    row.wait_for()
    assert row.get_by_text(item["path"]).count() == 1
    download = row.get_by_role("link", name="Download")
    assert download.get_attribute("href") == f"/api/admin/integrity/report/{item['id']}/file"
    shot(page, "integrity-list")
    section = page.locator('section[data-type="untracked_file"]')
    assert section.locator(".count").inner_text() == "2"
    row.get_by_role("button", name="Delete", exact=True).click()
    row.wait_for(state="detached")
    assert not stray.exists() and other.exists()
    # "delete all" after a confirmation
    section.get_by_role("button", name="Delete all").click()
    section.get_by_text("Delete every file of this list").wait_for()
    shot(page, "integrity-confirm")
    section.get_by_role("button", name="Confirm delete all").click()
    section.get_by_text("Nothing found.").wait_for()
    assert not other.exists()
    # a check started from the page runs its job (nothing to find here)
    checksum = page.locator('section[data-type="checksum_mismatch"]')
    checksum.get_by_role("button", name="Check now").click()
    checksum.get_by_text("Nothing found.").wait_for()
    assert admin.client.get("/api/admin/integrity/summary").json() == {
        "checksum_mismatch": 0,
        "missing_file": 0,
        "untracked_file": 0,
    }
    assert not page.errors, page.errors
