"""Accessibility, keyboard use and HTTP caching of the web app in a real browser.

axe-core (the engine behind Lighthouse's accessibility audit, from the app's own node_modules)
checks every page against WCAG 2.1 A/AA; a serious or critical violation fails the test. The
keyboard test walks the timeline with Tab/Enter/arrows/Escape only. The caching test proves that
scrolling back to thumbnails already seen costs no bytes from the server.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image

from tests.conftest import User, upload
from tests.web.conftest import (
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
    wait_processed,
)

#: EXIF tags (EXIF 2.32): the Exif sub-IFD pointer and DateTimeOriginal inside it.
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
#: Signed-in pages to audit, with a selector that is there once the page has rendered.
PAGES = [
    ("/photos", "main section[data-rendered] a[data-asset-id]"),
    ("/search", "form"),
    ("/explore", "h1"),
    ("/people", "h1"),
    ("/map", "h1"),
    ("/albums", "h1"),
    ("/favorites", "h1"),
    ("/archive", "h1"),
    ("/trash", "h1"),
    ("/settings", "h1"),
    ("/admin", "h1"),
    ("/utilities", "h1"),
    ("/utilities/duplicates", "h1"),
    ("/utilities/large-files", "h1"),
    ("/utilities/geolocation", "h1"),
]


def test_pages_pass_axe(stack: Stack, browser: object, request: pytest.FixtureRequest) -> None:
    """Every page (desktop and phone width, light and dark scheme), the viewer and the login
    page have no serious/critical WCAG 2.1 A/AA violation."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 30, 2020, 2021)
    found: dict[str, object] = {}
    for width, scheme in ((1280, "light"), (390, "dark")):
        page = signed_in_page(browser, stack, user, width=width)
        page.emulate_media(color_scheme=scheme)  # type: ignore[attr-defined]
        for path, ready in PAGES:
            page.goto(path)  # type: ignore[attr-defined]
            page.wait_for_selector(ready)  # type: ignore[attr-defined]
            page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
            violations = axe_violations(page)
            if violations:
                found[f"{path} @{width}px {scheme}"] = violations
        page.goto("/photos")  # type: ignore[attr-defined]
        first = page.locator("main a[data-asset-id]").first  # type: ignore[attr-defined]
        asset_id = first.get_attribute("data-asset-id")
        page.goto(f"/photos/{asset_id}")  # type: ignore[attr-defined]
        viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
        viewer.get_by_role("button", name="Favorite", exact=True).wait_for()
        page.keyboard.press("i")  # type: ignore[attr-defined]
        page.get_by_role("complementary", name="Info").wait_for()  # type: ignore[attr-defined]
        if violations := axe_violations(page):
            found[f"viewer @{width}px {scheme}"] = violations
        shot(page, f"a11y-viewer-{width}-{scheme}")
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
        page.context.close()  # type: ignore[attr-defined]

    anonymous = browser.new_context(base_url=stack.url).new_page()  # type: ignore[attr-defined]
    anonymous.goto("/auth/login")
    anonymous.get_by_role("button", name="Log in").wait_for()
    if violations := axe_violations(anonymous):
        found["/auth/login"] = violations
    anonymous.context.close()
    assert not found, json.dumps(found, indent=1)


def test_timeline_by_keyboard(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Tab reaches the photos; Enter opens the focused one; arrows walk; Escape closes and puts
    the focus back on a tile of the timeline."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 12, 2022, 2022)
    page = signed_in_page(browser, stack, user)
    page.goto("/photos")  # type: ignore[attr-defined]
    page.wait_for_selector("main section[data-rendered] a[data-asset-id]")  # type: ignore[attr-defined]
    order = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    focused = None
    for _ in range(60):  # the nav, the top bar, then the first tile
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        focused = page.evaluate(  # type: ignore[attr-defined]
            "document.activeElement && document.activeElement.dataset.assetId || null"
        )
        if focused:
            break
    assert focused == order[0], (focused, order[:3])
    visible_ring = page.evaluate(  # type: ignore[attr-defined]
        "getComputedStyle(document.activeElement).outlineStyle"
    )
    assert visible_ring != "none"
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/photos/{order[0]}")  # type: ignore[attr-defined]
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/photos/{order[1]}")  # type: ignore[attr-defined]
    shot(page, "a11y-keyboard-viewer")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.wait_for_url("**/photos")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.activeElement && !!document.activeElement.dataset.assetId"
    )
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def _upload_dated(user: User, index: int, taken: str) -> str:
    """Upload a small generated JPEG (its own colour) taken at ``taken`` (EXIF
    DateTimeOriginal, ``YYYY:MM:DD HH:MM:SS``); its asset id."""
    image = Image.new("RGB", (320, 240), ((index * 47) % 256, (index * 91) % 256, 160))
    exif = image.getexif()
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    response = upload(user, Path(f"cache-{index}.jpg"), data=buffer.getvalue())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_thumbnails_cached_when_scrolling_back(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Thumbnails carry an ETag and a max-age; scrolling away (their tiles leave the DOM) and
    back fetches none of them from the server again (Resource Timing transferSize 0)."""
    needs_build()
    user = library_owner(stack, request)
    ids = [_upload_dated(user, i, "2025:06:01 12:00:00") for i in range(16)]
    seed(stack, user.id, 600, 2010, 2024)  # older rows (no files): distance to scroll away
    page = signed_in_page(browser, stack, user)
    wait_processed(page, stack.url, ids)
    status: dict[str, int] = {}  # thumbnail URL -> the status of its first answer
    page.on(  # type: ignore[attr-defined]
        "response", lambda r: "/thumbnail" in r.url and status.setdefault(r.url, r.status)
    )
    page.goto("/photos")  # type: ignore[attr-defined]
    page.wait_for_selector("html[data-first-screen-ms]")  # type: ignore[attr-defined]
    first = page.locator("main a[data-asset-id]").first  # type: ignore[attr-defined]
    first_id = first.get_attribute("data-asset-id")
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('main a[data-asset-id] img')]"
        ".filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete)"
    )
    thumb = page.request.get(  # type: ignore[attr-defined]
        f"/api/assets/{first_id}/thumbnail?size=thumbnail"
    )
    cache_control = thumb.headers.get("cache-control", "")
    assert "max-age=" in cache_control and "no-store" not in cache_control, cache_control
    assert thumb.headers.get("etag")
    timed = page.evaluate(  # type: ignore[attr-defined]
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/thumbnail'))"
        ".map(e => e.name)"
    )
    # Only what the server answered 200 is cacheable (the seeded rows have no files: 404).
    seen = [url for url in timed if status.get(url) == 200]
    assert len(seen) >= 8, (len(timed), status)
    page.evaluate("performance.clearResourceTimings()")  # type: ignore[attr-defined]
    page.get_by_role("button", name="2010", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_selector("html[data-scrub-ms]")  # type: ignore[attr-defined]
    assert page.locator(f'main a[data-asset-id="{first_id}"]').count() == 0  # type: ignore[attr-defined]
    page.evaluate("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    page.locator(f'main a[data-asset-id="{first_id}"] img').wait_for()  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('main a[data-asset-id] img')]"
        ".filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete)"
    )
    again = page.evaluate(  # type: ignore[attr-defined]
        "urls => performance.getEntriesByType('resource')"
        ".filter(e => urls.includes(e.name)).map(e => [e.name, e.transferSize])",
        seen,
    )
    refetched = [(name, size) for name, size in again if size > 0]
    assert not refetched, (len(refetched), len(again), len(seen), refetched[:3])
    shot(page, "a11y-scrolled-back")
    page.context.close()  # type: ignore[attr-defined]
