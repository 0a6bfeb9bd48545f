"""Live updates in a real browser: the open timeline shows a photo uploaded from another device
(over the API, as the same user) and drops one trashed elsewhere, without a reload, through
the websocket (socket.io at /api/socket.io).

Screenshots go to ``test-output/web/live-*.png``.
"""

from __future__ import annotations

import uuid

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import noise_jpeg, upload_jpeg, wait_processed
from tests.web.conftest import library_owner, needs_build, shot, signed_in_page

TILE = 'main a[data-asset-id="{}"]'
#: Generous: the new photo shows once the stack made its thumbnail, on a busy 2-core machine.
LIVE_TIMEOUT_MS = 120_000


def test_upload_from_another_device_appears_in_the_open_timeline(
    browser: object, stack: Stack, request: pytest.FixtureRequest
) -> None:
    needs_build()
    owner = library_owner(stack, request)
    first = upload_jpeg(owner, noise_jpeg(uuid.uuid4().int % 2**32), "2022-03-04T10:00:00.000Z")
    wait_processed(owner, [first])
    page = signed_in_page(browser, stack, owner)
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(TILE.format(first)).wait_for()  # type: ignore[attr-defined]
    page.locator("html[data-live=connected]").wait_for()  # type: ignore[attr-defined]
    page.evaluate("window.__sameDocument = true")  # type: ignore[attr-defined]  # a reload drops it
    shot(page, "live-before")

    second = upload_jpeg(owner, noise_jpeg(uuid.uuid4().int % 2**32), "2022-03-05T10:00:00.000Z")
    page.locator(TILE.format(second)).wait_for(timeout=LIVE_TIMEOUT_MS)  # type: ignore[attr-defined]
    shot(page, "live-uploaded")
    assert page.evaluate("window.__sameDocument === true")  # type: ignore[attr-defined]

    r = owner.client.request("DELETE", "/api/assets", json={"ids": [first]})
    assert r.status_code == 204, r.text
    page.locator(TILE.format(first)).wait_for(  # type: ignore[attr-defined]
        state="detached", timeout=LIVE_TIMEOUT_MS
    )
    shot(page, "live-trashed")
    assert page.locator(TILE.format(second)).is_visible()  # type: ignore[attr-defined]
    assert page.evaluate("window.__sameDocument === true")  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]  # no CSP violation, no page error
