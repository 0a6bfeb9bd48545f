"""The admin Jobs page's queue commands in a real browser against the real stack (issue #15
item 2): Pause shows the queue paused (in the page and over the API) and turns into Resume;
Resume and Missing answer; no page error or Content-Security-Policy violation. Screenshot:
``test-output/web/jobs-paused.png``.
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack
from playwright.sync_api import expect

from tests.conftest import User
from tests.web.conftest import needs_build, shot, signed_in_page


def _paused(admin: User, name: str) -> bool:
    r = admin.client.get(f"/api/queues/{name}")
    assert r.status_code == 200, r.text
    return bool(r.json()["isPaused"])


def test_pause_resume_and_missing_buttons(browser: object, stack: Stack, admin: User) -> None:
    needs_build()
    page = signed_in_page(browser, stack, admin)
    page.goto("/admin/jobs")  # type: ignore[attr-defined]
    queue = page.locator('li[data-queue="metadataExtraction"]')  # type: ignore[attr-defined]
    commands = queue.get_by_role("group")
    if _paused(admin, "metadataExtraction"):  # left paused by an earlier failed run
        admin.client.put("/api/queues/metadataExtraction", json={"isPaused": False})
        page.reload()  # type: ignore[attr-defined]
    try:
        commands.get_by_role("button", name="Pause").click()
        expect(commands.get_by_role("button", name="Resume")).to_be_visible()
        expect(queue.get_by_text("Paused", exact=True)).to_be_visible()
        assert _paused(admin, "metadataExtraction")
        shot(page, "jobs-paused")
        commands.get_by_role("button", name="Resume").click()
        expect(commands.get_by_role("button", name="Pause")).to_be_visible()
        assert not _paused(admin, "metadataExtraction")
        commands.get_by_role("button", name="Missing").click()
        expect(page.get_by_role("status")).to_contain_text("missing done")  # type: ignore[attr-defined]
    finally:
        if _paused(admin, "metadataExtraction"):
            admin.client.put("/api/queues/metadataExtraction", json={"isPaused": False})
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
