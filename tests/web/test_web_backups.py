"""Database backups and maintenance mode in a real browser, on a small stack of its own (a restore
replaces the whole database, which the shared stack's other tests rely on).

Administration > Backups lists a backup, deletes one, restores one after a confirmation (the app
shows the maintenance page while the server is in maintenance mode, then comes back by itself).
Screenshots go to ``test-output/web/backups-*.png``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import first_admin, running_stack
from tests.web.conftest import backups_of, needs_build, shot, signed_in_page, take_backup


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of just the gateway (no media is needed)."""
    with running_stack(tmp_path_factory.mktemp("web-backups"), services=("gateway",)) as s:
        yield s


def test_admin_backups_page_deletes_and_restores(small_stack: Stack, browser: object) -> None:
    needs_build()
    admin = first_admin(small_stack)
    page: Any = signed_in_page(browser, small_stack, admin)  # its session is in the backups
    kept = take_backup(admin)
    doomed = take_backup(admin)
    page.goto("/admin/backups")
    row = page.locator(f'tr[data-backup="{doomed}"]')
    row.wait_for()
    page.locator(f'tr[data-backup="{kept}"]').wait_for()
    shot(page, "backups-list")
    row.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert backups_of(admin) == [kept]

    # maintenance on: the whole app shows the maintenance page, and leaves it by itself
    assert admin.client.post("/api/admin/maintenance", json={"action": "start"}).status_code == 201
    page.goto("/photos")
    page.get_by_role("heading", name="Darkroom is in maintenance mode").wait_for()
    shot(page, "backups-maintenance")
    assert admin.client.post("/api/admin/maintenance", json={"action": "end"}).status_code == 201
    page.get_by_role("heading", name="Darkroom is in maintenance mode").wait_for(state="detached")

    # restore after a confirmation; the server ends maintenance when done, the app comes back
    page.goto("/admin/backups")
    kept_row = page.locator(f'tr[data-backup="{kept}"]')
    kept_row.get_by_role("button", name="Restore").click()
    kept_row.get_by_text("Replace the whole database with this backup?").wait_for()
    shot(page, "backups-confirm")
    kept_row.get_by_role("button", name="Confirm restore").click()
    deadline = time.monotonic() + 300
    while True:  # the restore is over when maintenance is off again (a progress poll)
        status = admin.client.get("/api/admin/maintenance/status").json()
        if not status["active"]:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert "error" not in status, status
    # back on the Backups page (the maintenance page, if it showed, reloads it), still signed in
    page.get_by_role("heading", name="Database backups").wait_for()
    assert page.get_by_role("heading", name="Darkroom is in maintenance mode").count() == 0
    assert backups_of(admin) == [kept]  # backups live in storage, which a restore leaves alone
    assert not page.errors, page.errors
