"""Administration > Integrity in a real browser, on a small stack of its own (just the gateway:
no media is needed, and "delete all" must not reach the shared stack's files).

An untracked file found by the check is listed with its download link; its Delete removes the
row and the file; "Check now" of the checksum section runs its job. Screenshots go to
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
    stray = small_stack.config.data_dir / "storage" / "upload" / admin.id / "zz" / "st" / "x.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"stray bytes")
    old = time.time() - 7200  # past the check's grace for files being written
    os.utime(stray, (old, old))
    r = admin.client.post("/api/jobs", json={"name": "integrity-untracked-files"})
    assert r.status_code == 204, r.text
    (item,) = admin.client.get(
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
    assert section.locator(".count").inner_text() == "1"
    row.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert not stray.exists()
    section.get_by_text("Nothing found.").wait_for()
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
