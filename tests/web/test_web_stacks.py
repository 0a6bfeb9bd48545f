"""Stacks in a real browser against the real stack (issue 16, item 3).

Stacking a timeline selection (the "Stack" action: the first in timeline order leads, the timeline
then shows the stack once with a count badge), the stack strip in the viewer (the stack's
thumbnails with the primary marked, a click shows another of its photos, "Make primary",
"Unstack"), and "Unstack" on a timeline selection. Every step checks the page AND the server's
state over the API; no page error or Content-Security-Policy violation is allowed. Screenshots
go to ``test-output/web/stacks-*.png``.
"""

from __future__ import annotations

import re

import pytest
from darkroom_stack.supervisor import Stack
from playwright.sync_api import expect

from tests.conftest import User
from tests.web.conftest import (
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
)

TILES = "main a[data-asset-id]"
TILE = 'main a[data-asset-id="{}"]'


def _stacks(user: User) -> list[dict[str, object]]:
    r = user.client.get("/api/stacks")
    assert r.status_code == 200, r.text
    return list(r.json())


def _select(page: object, ids: list[str]) -> None:
    for asset_id in ids:
        page.locator(TILE.format(asset_id)).hover()  # type: ignore[attr-defined]
        page.locator(f'button[data-select-id="{asset_id}"]').click()  # type: ignore[attr-defined]


def test_stack_a_selection_and_the_viewer_strip(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    owner = library_owner(stack, request)
    seed(stack, owner.id, 4, 2022, 2022)
    page = signed_in_page(browser, stack, owner)

    page.goto("/photos")  # type: ignore[attr-defined]
    tiles = page.locator(TILES)  # type: ignore[attr-defined]
    expect(tiles).to_have_count(4)
    ids = tiles.evaluate_all("els => els.map(e => e.dataset.assetId)")
    first, second, third = ids[:3]

    # "Stack" on a selection: the first in timeline order leads; the timeline shows it once
    _select(page, [third, first, second])
    page.get_by_test_id("selection-count").get_by_text("3 selected").wait_for()  # type: ignore[attr-defined]
    page.get_by_test_id("selection-bar").get_by_role("button", name="Stack", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("status").get_by_text("Stacked 3 items").wait_for()  # type: ignore[attr-defined]
    expect(tiles).to_have_count(2)
    made = _stacks(owner)
    assert len(made) == 1 and made[0]["primaryAssetId"] == first
    assert {a["id"] for a in made[0]["assets"]} == {first, second, third}  # type: ignore[attr-defined]
    badge = page.locator(TILE.format(first)).get_by_test_id("stack-badge")  # type: ignore[attr-defined]
    expect(badge).to_have_text(re.compile(r"\b3\b"))
    shot(page, "stacks-01-timeline-badge")
    assert axe_violations(page) == []

    # The viewer's stack strip: the three photos, the primary marked
    page.locator(TILE.format(first)).click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/photos/{first}$"))  # type: ignore[attr-defined]
    strip = page.get_by_test_id("stack-strip")  # type: ignore[attr-defined]
    thumbs = strip.locator("button[data-stack-asset]")
    expect(thumbs).to_have_count(3)
    expect(strip.locator('button[data-primary="true"]')).to_have_attribute(
        "data-stack-asset", first
    )
    expect(strip.locator('button[aria-current="true"]')).to_have_attribute(
        "data-stack-asset", first
    )
    shot(page, "stacks-02-viewer-strip")
    assert axe_violations(page) == []

    # a click shows another photo of the stack; "Make primary" puts it in front
    strip.locator(f'button[data-stack-asset="{third}"]').click()
    page.wait_for_url(re.compile(rf"/photos/{third}$"))  # type: ignore[attr-defined]
    expect(strip.locator('button[aria-current="true"]')).to_have_attribute(
        "data-stack-asset", third
    )
    strip.get_by_role("button", name="Make primary").click()
    expect(strip.locator('button[data-primary="true"]')).to_have_attribute(
        "data-stack-asset", third
    )
    assert _stacks(owner)[0]["primaryAssetId"] == third

    # "Unstack" in the viewer: the stack is gone, the strip too
    strip.get_by_role("button", name="Unstack").click()
    expect(strip).to_have_count(0)
    assert _stacks(owner) == []
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    expect(tiles).to_have_count(4)

    # "Unstack" on a timeline selection
    r = owner.client.post("/api/stacks", json={"assetIds": [second, third]})
    assert r.status_code == 201, r.text
    page.reload()  # type: ignore[attr-defined]
    expect(tiles).to_have_count(3)
    _select(page, [second])
    page.get_by_test_id("selection-bar").get_by_role("button", name="Unstack").click()  # type: ignore[attr-defined]
    page.get_by_role("status").get_by_text("Unstacked 1 stack").wait_for()  # type: ignore[attr-defined]
    expect(tiles).to_have_count(4)
    assert _stacks(owner) == []
    assert page.errors == []  # type: ignore[attr-defined]
