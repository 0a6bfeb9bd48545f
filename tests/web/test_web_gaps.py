"""Gaps of the web app next to Immich's (issue #22 items 1, 2, 3, 4 and 8), in a real browser.

One test per item, each at desktop (1280 px) and phone (390 px) width where layout matters,
with axe (WCAG 2.1 A/AA, serious and critical) over the new parts and screenshots in
``test-output/web/gaps-*.png``:

1. Search modes: without a CLIP model the picker's smart mode is off, the default is the best
   mode left and a status says why; file name, description and OCR modes each give exactly
   what POST /api/search/metadata answers for the same field.
2. Timeline: days of a sparse month share lines; the scrubber's year labels never overlap
   (thin years show dots); the phone's menu reaches every section; touch screens show no
   selection circles until a long press selects.
3. Viewer opened straight at /photos/<id>: previous/next and the arrow keys walk the timeline
   bucket's order; download, share by link, add to album, rotate (edits API), slideshow and
   view in timeline each do what the API then reports.
4. Album: add photos from inside it, sort order (the page follows it), set the cover.
8. Dark mode switch in settings (kept over a reload), the shortcuts sheet on "?", Ctrl+A
   selects every asset (unloaded months too), a not-found page for unknown URLs, and no console
   error on the login page (no GET /api/users/me without the sign-in cookie), before and after
   logging out.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import User, upload_jpeg
from tests.web.conftest import (
    TIMEOUT_MS,
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
    wait_processed,
    watch_errors,
)

PHONE = 390


def _sql(stack: Stack, sql: str, *args: object) -> None:
    """Run one statement straight in PostgreSQL (test set-up the API has no way to do)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def _move(stack: Stack, ids: list[str], dates: list[datetime]) -> None:
    """Give each asset of ``ids`` the capture date of ``dates`` (timeline and EXIF)."""
    for asset_id, when in zip(ids, dates, strict=True):
        _sql(
            stack,
            "UPDATE assets SET file_created_at = $2, local_date_time = $2 WHERE id = $1",
            uuid.UUID(asset_id),
            when,
        )
        _sql(
            stack,
            "UPDATE asset_exif SET date_time_original = $2 WHERE asset_id = $1",
            uuid.UUID(asset_id),
            when,
        )


def _ids(user: User, body: dict[str, object] | None = None) -> list[str]:
    """Every asset id POST /api/search/metadata answers for ``body`` (newest first)."""
    ids: list[str] = []
    page: int | None = 1
    while page:
        r = user.client.post("/api/search/metadata", json={**(body or {}), "page": page})
        assert r.status_code == 200, r.text
        ids += [a["id"] for a in r.json()["assets"]["items"]]
        page = int(r.json()["assets"]["nextPage"] or 0) or None
    return ids


def _jpeg(seed_value: int, size: tuple[int, int] = (240, 160)) -> bytes:
    rng = np.random.default_rng(seed_value)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG")
    return out.getvalue()


def _no_axe(page: object, scope: str | None = None) -> None:
    violations = axe_violations(page, scope)
    assert violations == [], violations


def _fits(page: object, width: int = PHONE) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]


def _wait(condition: object, timeout_s: float = 120, what: str = "condition") -> None:
    """Poll ``condition()`` until true; ``timeout_s`` is a ceiling for a machine that runs
    other test workers beside this browser (a page reload there took over 30 s)."""
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# ---- 1. Search modes ----


def test_item1_search_modes(stack: Stack, browser: object, request: pytest.FixtureRequest) -> None:
    """No CLIP model: smart mode off with the reason; each mode equals the API's answer."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 24, 2020, 2021)
    ids = _ids(user)
    described = user.client.put(f"/api/assets/{ids[0]}", json={"description": "Birthday cake"})
    assert described.status_code == 200, described.text
    _sql(
        stack,
        "INSERT INTO asset_ocr (asset_id, owner_id, text, box, score) "
        "VALUES ($1, $2, 'OPEN 24 HOURS', '{0,0,1,0,1,1,0,1}', 0.9)",
        uuid.UUID(ids[1]),
        uuid.UUID(user.id),
    )
    features = user.client.get("/api/server/features").json()
    assert features["smartSearch"] is False
    default = "Text in the photo (OCR)" if features["ocr"] else "File name or extension"
    name = user.client.get(f"/api/assets/{ids[2]}").json()["originalFileName"]

    page = signed_in_page(browser, stack, user)
    modes = page.get_by_role("group", name="Search by")  # type: ignore[attr-defined]
    count = page.get_by_test_id("search-count")  # type: ignore[attr-defined]

    def grid() -> list[str]:
        return page.locator("[data-testid=search-results] a[data-asset-id]").evaluate_all(  # type: ignore[attr-defined]
            "tiles => tiles.map(t => t.dataset.assetId)"
        )

    def expect_results(expected: list[str]) -> None:
        text = f"{len(expected)} result{'' if len(expected) == 1 else 's'}"
        count.filter(has_text=re.compile(rf"^\s*{text}\s*$")).wait_for()
        _wait(lambda: grid() == expected, what=f"grid {expected}")

    query = name if not features["ocr"] else "hours"
    page.goto(f"/search?q={query}")  # type: ignore[attr-defined]
    notice = page.get_by_test_id("search-mode-notice")  # type: ignore[attr-defined]
    notice.filter(has_text="Smart search is not available").wait_for()
    assert "no CLIP model" in notice.inner_text()
    assert modes.get_by_label("Smart (context)").is_disabled()
    assert modes.get_by_label(default).is_checked()
    field = "ocr" if features["ocr"] else "originalFileName"
    by_default = _ids(user, {field: query})
    assert by_default == ([ids[1]] if features["ocr"] else [ids[2]])
    expect_results(by_default)
    shot(page, "gaps-01-search-default-mode")
    _no_axe(page)

    # File name: the whole name and a part of it (the API's ILIKE).
    modes.get_by_label("File name or extension").check()
    bar = page.get_by_role("search").get_by_label("Search your photos")  # type: ignore[attr-defined]
    bar.fill("IMG_1")
    bar.press("Enter")
    page.wait_for_url(re.compile(r"q=IMG_1"))  # type: ignore[attr-defined]
    by_name = _ids(user, {"originalFileName": "IMG_1"})
    assert 1 < len(by_name) < len(ids)
    expect_results(by_name)

    # Description: the URL names the mode; a reload keeps it.
    modes.get_by_label("Description").check()
    page.wait_for_url(re.compile(r"mode=description"))  # type: ignore[attr-defined]
    bar.fill("birthday")
    bar.press("Enter")
    page.wait_for_url(re.compile(r"mode=description.*q=birthday|q=birthday.*mode=description"))  # type: ignore[attr-defined]
    assert _ids(user, {"description": "birthday"}) == [ids[0]]
    expect_results([ids[0]])
    page.reload()  # type: ignore[attr-defined]
    expect_results([ids[0]])
    assert modes.get_by_label("Description").is_checked()
    shot(page, "gaps-02-search-description")

    # OCR: the text read in the photo.
    modes.get_by_label("Text in the photo (OCR)").check()
    bar.fill("hours")
    bar.press("Enter")
    page.wait_for_url(re.compile(r"q=hours"))  # type: ignore[attr-defined]
    assert _ids(user, {"ocr": "hours"}) == [ids[1]]
    expect_results([ids[1]])
    shot(page, "gaps-03-search-ocr")
    assert page.errors == []  # type: ignore[attr-defined]

    phone = signed_in_page(browser, stack, user, width=PHONE)
    phone.goto("/search?q=birthday&mode=description")  # type: ignore[attr-defined]
    phone.get_by_test_id("search-count").filter(has_text="1 result").wait_for()  # type: ignore[attr-defined]
    phone_modes = phone.get_by_role("group", name="Search by")  # type: ignore[attr-defined]
    assert phone_modes.is_visible()
    assert phone_modes.get_by_label("Description").is_checked()
    assert phone.get_by_test_id("search-mode-notice").is_visible()  # type: ignore[attr-defined]
    _fits(phone)
    shot(phone, "gaps-04-search-modes-phone")
    _no_axe(phone)
    assert phone.errors == []  # type: ignore[attr-defined]


# ---- 2. Timeline ----


def _touch_page(browser: object, stack: Stack, user: User) -> object:
    """A phone (390 px, touch, no hover) signed in as ``user``."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": PHONE, "height": 800},
        base_url=stack.url,
        has_touch=True,
        is_mobile=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    login = context.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 201, login.text()
    page = context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    return page


def _boxes(page: object, selector: str) -> list[dict[str, float]]:
    return page.locator(selector).evaluate_all(  # type: ignore[attr-defined]
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.left, y: r.top, w: r.width, h: r.height, text: e.textContent}; })"
    )


def test_item2_timeline_packing_scrubber_phone(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Sparse days share lines; year labels never overlap; the phone menu reaches every
    section; no selection circles on a touch screen until a long press."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 240, 2019, 2021)
    ids = _ids(user)
    # eight photos on eight days of March 2018; one photo in each year 2005-2014
    _move(stack, ids[-8:], [datetime(2018, 3, 2 + 3 * d, 12, tzinfo=UTC) for d in range(8)])
    _move(stack, ids[-18:-8], [datetime(2005 + y, 6, 1, 12, tzinfo=UTC) for y in range(10)])

    page = signed_in_page(browser, stack, user)
    page.goto("/photos")  # type: ignore[attr-defined]
    scrubber = page.get_by_test_id("scrubber")  # type: ignore[attr-defined]
    scrubber.get_by_role("button", name="2018", exact=True).click()
    march = page.locator('section[data-month="2018-03"][data-rendered]')  # type: ignore[attr-defined]
    march.wait_for()
    days = _boxes(page, 'section[data-month="2018-03"] .day')
    assert len(days) == 8
    lines: dict[int, int] = {}
    for day in days:
        lines[round(day["y"])] = lines.get(round(day["y"]), 0) + 1
    assert len(lines) < 8 and max(lines.values()) >= 3, lines  # side by side
    for day in days:  # each fits the grid
        assert day["x"] >= 0 and day["x"] + day["w"] <= 1280
    shot(page, "gaps-05-timeline-sparse-days")

    # the scrubber: 14 years, the thin ones as dots; labels never overlap
    assert scrubber.get_by_role("button").count() == 14  # 2005-2014, 2018, 2019-2021
    labels = _boxes(page, "[data-testid=scrubber] .label")
    assert 3 <= len(labels) < 14
    assert "2021" in [label["text"] for label in labels]
    for a, b in zip(labels, labels[1:], strict=False):
        assert a["y"] + a["h"] <= b["y"] + 0.5, (a, b)
    _no_axe(page, "[data-testid=scrubber]")
    assert page.errors == []  # type: ignore[attr-defined]

    # phone: the menu button opens a drawer with every section, each on screen
    admin = request.getfixturevalue("admin")
    phone = signed_in_page(browser, stack, admin, width=PHONE)
    phone.goto("/photos")  # type: ignore[attr-defined]
    nav = phone.get_by_role("navigation", name="Sections")  # type: ignore[attr-defined]
    menu = phone.get_by_role("button", name="Main menu")  # type: ignore[attr-defined]
    assert not nav.get_by_role("link", name="Albums").is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    # the drawer slides in (a CSS transition): measure once it has finished, not mid-way
    phone.wait_for_function(  # type: ignore[attr-defined]
        """() => {
          const nav = document.querySelector('nav[aria-label="Sections"]');
          return nav.classList.contains('open')
            && nav.getAnimations().every((a) => a.playState === 'finished');
        }"""
    )
    for name in ("Photos", "Albums", "Trash", "Settings", "Administration"):
        link = nav.get_by_role("link", name=name, exact=True)
        link.wait_for()
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, name
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, name
    _fits(phone)
    shot(phone, "gaps-06-phone-menu")
    _no_axe(phone)
    phone.keyboard.press("Escape")  # type: ignore[attr-defined]
    assert menu.get_attribute("aria-expanded") == "false"
    menu.click()
    nav.get_by_role("link", name="Albums", exact=True).click()
    phone.wait_for_url(re.compile(r"/albums$"))  # type: ignore[attr-defined]
    assert menu.get_attribute("aria-expanded") == "false"
    assert phone.errors == []  # type: ignore[attr-defined]

    # touch screen: no circles until a long press selects the tile
    touch = _touch_page(browser, stack, user)
    touch.goto("/photos")  # type: ignore[attr-defined]
    assert touch.evaluate("matchMedia('(hover: none)').matches")  # type: ignore[attr-defined]
    first = touch.locator("main a[data-asset-id]").first  # type: ignore[attr-defined]
    first.wait_for()
    checks = touch.locator("main button[data-select-id]")  # type: ignore[attr-defined]
    opacities = checks.evaluate_all("els => els.map(e => getComputedStyle(e).opacity)")
    assert opacities and set(opacities) == {"0"}, opacities
    shot(touch, "gaps-07-phone-no-circles")
    box = first.bounding_box()
    point = {"pointerType": "touch", "clientX": box["x"] + 20, "clientY": box["y"] + 20}
    first.dispatch_event("pointerdown", {**point, "bubbles": True, "isPrimary": True})
    touch.locator("main a[data-asset-id][data-selected=true]").first.wait_for()  # type: ignore[attr-defined]
    first.dispatch_event("pointerup", {**point, "bubbles": True, "isPrimary": True})
    touch.get_by_text("1 selected").wait_for()  # type: ignore[attr-defined]
    _wait(
        lambda: (
            set(checks.evaluate_all("els => els.map(e => getComputedStyle(e).opacity)")) == {"1"}
        ),
        what="circles shown while selecting",
    )
    assert touch.url.endswith("/photos")  # type: ignore[attr-defined]  # the viewer stayed shut
    shot(touch, "gaps-08-phone-long-press-selected")
    assert touch.errors == []  # type: ignore[attr-defined]


# ---- 3. Viewer ----


def _bucket_ids(user: User, time_bucket: str) -> list[str]:
    r = user.client.get(
        "/api/timeline/bucket",
        params={
            "timeBucket": time_bucket,
            "visibility": "timeline",
            "withPartners": "true",
            "withStacked": "true",
        },
    )
    assert r.status_code == 200, r.text
    return list(r.json()["id"])


def test_item3_viewer_direct_url_and_actions(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Opened at its URL: previous/next by buttons and keys in the bucket's order; download,
    share, add to album, rotate, slideshow and view in timeline do what the API reports."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 40, 2020, 2020)
    real = upload_jpeg(user, _jpeg(3), "2022-05-04T10:00:00.000Z")
    buckets = user.client.get(
        "/api/timeline/buckets",
        params={"visibility": "timeline", "withPartners": "true", "withStacked": "true"},
    ).json()
    middle = next(b["timeBucket"] for b in buckets if b["count"] >= 3)
    month = _bucket_ids(user, middle)
    start = month[1]

    page = signed_in_page(browser, stack, user)
    wait_processed(page, stack.url, [real])
    page.goto(f"/photos/{start}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.wait_for()
    viewer.get_by_role("button", name="Next").wait_for()
    viewer.get_by_role("button", name="Previous").wait_for()
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/photos/{month[2]}$"))  # type: ignore[attr-defined]
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/photos/{start}$"))  # type: ignore[attr-defined]
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/photos/{month[0]}$"))  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(rf"/photos/{start}$"))  # type: ignore[attr-defined]

    # the real photo: its menu
    page.goto(f"/photos/{real}")  # type: ignore[attr-defined]
    more = viewer.get_by_role("button", name="More")
    more.click()
    menu = page.get_by_role("menu", name="More actions")  # type: ignore[attr-defined]
    for item in ("Download", "Add to album", "Slideshow", "Rotate left", "Rotate right"):
        assert menu.get_by_role("menuitem", name=item).is_visible(), item
    shot(page, "gaps-09-viewer-menu")
    _no_axe(page)
    name = user.client.get(f"/api/assets/{real}").json()["originalFileName"]
    with page.expect_download() as download:  # type: ignore[attr-defined]
        menu.get_by_role("menuitem", name="Download").click()
    assert download.value.suggested_filename == name

    # share by link: an individual shared link holding the photo
    viewer.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share this item by link")  # type: ignore[attr-defined]
    dialog.get_by_role("button", name="Create link").click()
    url = dialog.get_by_test_id("asset-share-url").input_value()
    links = user.client.get("/api/shared-links").json()
    assert [(link["type"], [a["id"] for a in link["assets"]]) for link in links] == [
        ("INDIVIDUAL", [real])
    ]
    assert url.endswith(f"/share/{links[0]['key']}")
    shot(page, "gaps-10-viewer-share")
    dialog.get_by_role("button", name="Done").click()

    # add to album
    album = user.client.post("/api/albums", json={"albumName": "Trip"}).json()
    more.click()
    menu.get_by_role("menuitem", name="Add to album").click()
    page.get_by_role("dialog", name="Add 1 item to an album").get_by_role(  # type: ignore[attr-defined]
        "button", name=re.compile("^Trip")
    ).click()
    viewer.get_by_role("status").filter(has_text="Added 1 item to Trip").wait_for()
    assert user.client.get(f"/api/albums/{album['id']}").json()["assetCount"] == 1

    # rotate right: one rotate action through the edits API, the rendering follows
    more.click()
    menu.get_by_role("menuitem", name="Rotate right").click()
    viewer.get_by_role("status").filter(has_text="Rotated right").wait_for(timeout=90_000)
    edits = user.client.get(f"/api/assets/{real}/edits").json()["edits"]
    assert [(e["action"], e["parameters"]) for e in edits] == [("rotate", {"angle": 90})]
    assert user.client.get(f"/api/assets/{real}").json()["isEdited"] is True
    shot(page, "gaps-11-viewer-rotated")

    # view in timeline: the timeline scrolls to the photo and focuses it
    more.click()
    menu.get_by_role("menuitem", name="View in timeline").click()
    page.wait_for_url(re.compile(rf"/photos\?at={real}$"))  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "id => document.activeElement?.dataset?.assetId === id", arg=real
    )
    shot(page, "gaps-12-view-in-timeline")

    # slideshow from the first seeded photo: moves on by itself, Stop ends it
    page.goto(f"/photos/{start}")  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Next").wait_for()
    more.click()
    menu.get_by_role("menuitem", name="Slideshow").click()
    stop = page.get_by_test_id("stop-slideshow")  # type: ignore[attr-defined]
    assert stop.is_visible()
    shot(page, "gaps-13-slideshow")
    page.wait_for_url(re.compile(rf"/photos/{month[2]}$"))  # type: ignore[attr-defined]
    stop.click()
    viewer.get_by_role("button", name="Close viewer").wait_for()
    assert page.errors == []  # type: ignore[attr-defined]

    # phone: the bar's actions all on screen
    phone = signed_in_page(browser, stack, user, width=PHONE)
    phone.goto(f"/photos/{start}")  # type: ignore[attr-defined]
    phone_viewer = phone.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    phone_viewer.get_by_role("button", name="Next").wait_for()
    phone_viewer.get_by_role("button", name="More").wait_for()
    for box in _boxes(phone, ".viewer .bar button"):
        if box["w"]:
            assert box["x"] >= 0 and box["x"] + box["w"] <= PHONE, box
    phone_viewer.get_by_role("button", name="More").click()
    phone.get_by_role("menu", name="More actions").wait_for()  # type: ignore[attr-defined]
    _fits(phone)
    shot(phone, "gaps-14-viewer-phone-menu")
    assert phone.errors == []  # type: ignore[attr-defined]


# ---- 4. Albums ----


def test_item4_album_add_photos_sort_cover(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Add photos from the album page, sort it oldest first, set its cover in the viewer."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 24, 2019, 2021)
    ids = _ids(user)
    created = user.client.post("/api/albums", json={"albumName": "Summer", "assetIds": ids[:2]})
    assert created.status_code == 201, created.text
    album_id = created.json()["id"]

    page = signed_in_page(browser, stack, user)
    page.goto(f"/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add photos").click()  # type: ignore[attr-defined]
    picker = page.get_by_role("dialog", name="Add photos to Summer")  # type: ignore[attr-defined]
    picker.locator(f'button[data-asset-id="{ids[5]}"]').wait_for()
    # already in the album: disabled once the picker knows the album's assets
    expect(picker.locator(f'button[data-asset-id="{ids[0]}"]')).to_be_disabled()
    picker.locator(f'button[data-asset-id="{ids[5]}"]').click()
    picker.locator(f'button[data-asset-id="{ids[9]}"]').click()
    picker.get_by_role("status").filter(has_text="2 selected").wait_for()
    shot(page, "gaps-15-album-add-photos")
    _no_axe(page, "dialog[open]")
    picker.get_by_role("button", name="Add 2 to the album").click()
    page.get_by_role("status").filter(has_text="Added 2 items to Summer").wait_for()  # type: ignore[attr-defined]
    in_album = set(_ids(user, {"albumIds": [album_id]}))
    assert in_album == {ids[0], ids[1], ids[5], ids[9]}

    def tiles() -> list[str]:
        return page.locator("main a[data-asset-id]").evaluate_all(  # type: ignore[attr-defined]
            "els => els.map(e => e.dataset.assetId)"
        )

    newest_first = [i for i in ids if i in in_album]
    _wait(lambda: tiles() == newest_first, what="the album's four photos, newest first")

    # sort: oldest first, saved on the album and followed by the page
    page.get_by_label("Sort").select_option("asc")  # type: ignore[attr-defined]
    _wait(lambda: tiles() == newest_first[::-1], what="oldest first")
    assert user.client.get(f"/api/albums/{album_id}").json()["order"] == "asc"

    # the page's first list of months (newest first: asked before it knows the album's order)
    # answered after the album's own, as on a busy CI machine: that late answer was laid over
    # the oldest-first months. The page's fetch holds that request back 3 s (in the page: a
    # Playwright route handler would hold every request while it waits).
    page.add_init_script(  # type: ignore[attr-defined]
        """(() => {
          const send = window.fetch;
          window.fetch = (input, init) => {
            const url = String(input instanceof Request ? input.url : input);
            const late = url.includes('/api/timeline/buckets') && !url.includes('order=asc');
            if (!late) return send(input, init);
            return new Promise((ok) => setTimeout(ok, 3000)).then(() => send(input, init));
          };
        })()"""
    )
    with page.expect_response(  # type: ignore[attr-defined]
        lambda r: "/api/timeline/buckets" in r.url and "order=asc" not in r.url
    ):
        page.reload()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    _wait(lambda: tiles() == newest_first[::-1], what="oldest first after a reload")
    shot(page, "gaps-16-album-oldest-first")

    # cover: from the viewer's menu
    page.locator(f'main a[data-asset-id="{ids[9]}"]').click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/albums/{album_id}/photos/{ids[9]}$"))  # type: ignore[attr-defined]
    page.get_by_role("button", name="More").click()  # type: ignore[attr-defined]
    page.get_by_role("menuitem", name="Set as album cover").click()  # type: ignore[attr-defined]
    page.get_by_role("status").filter(has_text="Set as the album cover").wait_for()  # type: ignore[attr-defined]
    assert user.client.get(f"/api/albums/{album_id}").json()["albumThumbnailAssetId"] == ids[9]
    assert page.errors == []  # type: ignore[attr-defined]

    phone = signed_in_page(browser, stack, user, width=PHONE)
    phone.goto(f"/albums/{album_id}")  # type: ignore[attr-defined]
    phone.get_by_role("button", name="Add photos").wait_for()  # type: ignore[attr-defined]
    assert phone.get_by_label("Sort").input_value() == "asc"  # type: ignore[attr-defined]
    _fits(phone)
    shot(phone, "gaps-17-album-phone")
    phone.get_by_role("button", name="Add photos").click()  # type: ignore[attr-defined]
    phone.get_by_role("dialog", name="Add photos to Summer").locator(  # type: ignore[attr-defined]
        "button[data-asset-id]"
    ).first.wait_for()
    _fits(phone)
    shot(phone, "gaps-18-album-add-photos-phone")
    _no_axe(phone)
    assert phone.errors == []  # type: ignore[attr-defined]


# ---- 8. Dark mode, shortcuts, Ctrl+A, not found, login console ----


def test_item8_theme_shortcuts_select_all_not_found_login(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Dark mode switch kept over a reload; "?" sheet; Ctrl+A selects all; a 404 page; no
    console error on the login page before or after logging out."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 60, 2016, 2021)
    total = len(_ids(user))

    page = signed_in_page(browser, stack, user)
    page.goto("/settings")  # type: ignore[attr-defined]
    switch = page.get_by_role("switch", name="Dark mode")  # type: ignore[attr-defined]
    assert switch.get_attribute("aria-checked") == "false"
    background = "getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"
    assert page.evaluate(background) == "#ffffff"  # type: ignore[attr-defined]
    switch.click()
    assert switch.get_attribute("aria-checked") == "true"
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    assert switch.get_attribute("aria-checked") == "true"
    assert page.evaluate(background) == "#111318"  # type: ignore[attr-defined]
    shot(page, "gaps-19-settings-dark")
    _no_axe(page)
    follow = page.get_by_label("Follow the system's setting")  # type: ignore[attr-defined]
    follow.check()
    assert page.evaluate("localStorage.getItem('color-theme')") is None  # type: ignore[attr-defined]
    assert page.evaluate(background) == "#ffffff"  # type: ignore[attr-defined]  # light system

    # "?" opens the shortcuts sheet; Escape closes it
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator("main a[data-asset-id]").first.wait_for()  # type: ignore[attr-defined]
    page.keyboard.press("?")  # type: ignore[attr-defined]
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")  # type: ignore[attr-defined]
    sheet.wait_for()
    assert sheet.get_by_text("Select all").is_visible()
    shot(page, "gaps-20-shortcuts")
    _no_axe(page, "dialog[open]")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    sheet.wait_for(state="hidden")

    # Ctrl+A: every asset, months not yet loaded included
    page.keyboard.press("Control+a")  # type: ignore[attr-defined]
    page.get_by_text(f"{total} selected").wait_for()  # type: ignore[attr-defined]
    shot(page, "gaps-21-select-all")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.get_by_text(f"{total} selected").wait_for(state="hidden")  # type: ignore[attr-defined]

    # unknown URL: a not-found page, not the timeline
    page.goto("/no-such-page")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Page not found").wait_for()  # type: ignore[attr-defined]
    assert page.locator("main.timeline").count() == 0  # type: ignore[attr-defined]
    shot(page, "gaps-22-not-found")
    _no_axe(page)
    page.get_by_role("link", name="Go to Photos").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/photos$"))  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]

    # phone: the settings switch and the sheet fit
    phone = signed_in_page(browser, stack, user, width=PHONE)
    phone.goto("/settings")  # type: ignore[attr-defined]
    phone.get_by_role("switch", name="Dark mode").wait_for()  # type: ignore[attr-defined]
    _fits(phone)
    shot(phone, "gaps-23-settings-phone")
    phone.keyboard.press("?")  # type: ignore[attr-defined]
    phone.get_by_role("dialog", name="Keyboard shortcuts").wait_for()  # type: ignore[attr-defined]
    _fits(phone)
    shot(phone, "gaps-24-shortcuts-phone")
    assert phone.errors == []  # type: ignore[attr-defined]

    # the login page: no console error (no 401 from GET /api/users/me), also after logout
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    fresh = context.new_page()
    console: list[str] = []
    asked: list[str] = []
    failed: list[str] = []
    fresh.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    fresh.on("console", lambda m: m.type == "error" and console.append(m.text))
    fresh.on("request", lambda r: r.url.endswith("/api/users/me") and asked.append(r.url))
    fresh.goto("/photos")
    fresh.wait_for_url(re.compile(r"/auth/login$"))
    fresh.get_by_label("Email").wait_for()
    assert console == [] and asked == []
    shot(fresh, "gaps-25-login")
    fresh.get_by_label("Email").fill(user.email)
    fresh.get_by_label("Password").fill(user.password)
    fresh.get_by_role("button", name="Log in").click()
    fresh.wait_for_url(re.compile(r"/photos$"))
    asked.clear()
    # logging out loads the login page afresh (the ended session's requests still in flight
    # are dropped with their page): wait for that page's own load event, since the app's
    # in-page route may show /auth/login before the full load starts (a reload then would
    # race it and be aborted); loaded again, it must ask nothing that fails
    with fresh.expect_event("load"):  # type: ignore[attr-defined]
        fresh.get_by_role("button", name="Log out").click()
    # the logout's redirectUri, as Immich's: the login page that does not start OAuth again
    fresh.wait_for_url(re.compile(r"/auth/login\?autoLaunch=0$"))
    fresh.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    console.clear()
    failed.clear()
    fresh.reload()
    fresh.get_by_label("Email").wait_for()
    cookies = {c["name"] for c in context.cookies()}
    assert "immich_is_authenticated" not in cookies
    assert console == [] and asked == [], (console, asked, failed)
    context.close()
