"""Partner sharing in a real browser against the real stack: the sharer adds a partner on the
Sharing page; the partner turns "Show in timeline" on there and then sees the sharer's photo on
the Photos page. Every step checks the page and the server's state over the API; screenshots
go to ``test-output/web/partners-*.png``.
"""

from __future__ import annotations

import time

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import upload_processed
from tests.web.conftest import library_owner, needs_build, shot, signed_in_page

TILE = 'main a[data-asset-id="{}"]'


def _poll(check: object, timeout_s: float = 60) -> None:
    """Wait until ``check()`` is true (the server state the page's click should make)."""
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.3)


def _partners(user: User, direction: str) -> list[dict[str, object]]:
    r = user.client.get("/api/partners", params={"direction": direction})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_sharing_page_adds_partner_and_partner_timeline_shows_photo(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    sharer = library_owner(stack, request)
    partner = make_user(stack, request.getfixturevalue("admin"))
    photo = upload_processed(sharer)
    own = upload_processed(partner)

    page = signed_in_page(browser, stack, sharer)
    page.goto("/sharing")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Sharing").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("link", name="Shared links").count() == 1  # type: ignore[attr-defined]
    page.get_by_label("Add partner").select_option(partner.id)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Share my photos").click()  # type: ignore[attr-defined]
    page.get_by_role("list", name="Partners I share with").get_by_text(  # type: ignore[attr-defined]
        partner.email
    ).wait_for()
    _poll(lambda: [p["id"] for p in _partners(sharer, "shared-by")] == [partner.id])
    shot(page, "partners-added")
    assert page.errors == []  # type: ignore[attr-defined]

    theirs = signed_in_page(browser, stack, partner)
    theirs.goto("/photos")  # type: ignore[attr-defined]
    theirs.get_by_role("navigation", name="Sections").get_by_role(  # type: ignore[attr-defined]
        "link", name="Sharing"
    ).click()
    toggle = theirs.get_by_role("checkbox", name="Show in timeline")  # type: ignore[attr-defined]
    toggle.wait_for()
    assert not toggle.is_checked()
    toggle.check()
    _poll(lambda: [p["inTimeline"] for p in _partners(partner, "shared-with")] == [True])
    shot(theirs, "partners-in-timeline")

    theirs.goto("/photos")  # type: ignore[attr-defined]
    theirs.locator(TILE.format(photo)).wait_for()  # type: ignore[attr-defined]
    theirs.locator(TILE.format(own)).wait_for()  # type: ignore[attr-defined]
    # the partner's own photo can be selected for the bulk edits, the sharer's cannot
    theirs.locator(TILE.format(own)).hover()  # type: ignore[attr-defined]
    assert theirs.locator(f'button[data-select-id="{own}"]').count() == 1  # type: ignore[attr-defined]
    theirs.locator(TILE.format(photo)).hover()  # type: ignore[attr-defined]
    assert theirs.locator(f'button[data-select-id="{photo}"]').count() == 0  # type: ignore[attr-defined]
    shot(theirs, "partners-timeline")
    assert theirs.errors == []  # type: ignore[attr-defined]
