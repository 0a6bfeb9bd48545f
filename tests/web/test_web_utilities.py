"""The Utilities pages in a real browser against the real stack (Playwright + chromium), at
desktop (1280 px) and phone (390 px) width; screenshots go to ``test-output/web/utilities-*.png``
and axe-core checks every page (no serious/critical WCAG 2.1 A/AA violation).

The photos are random-pixel JPEGs uploaded over the API (noise does not compress, so a bigger
image is a bigger file). Duplicate groups are what the embedding service writes when CLIP finds
near-identical photos (``assets.duplicate_id``; the detection itself is tested with the CLIP
stack in tests/test_smart_search_pipeline.py): here the groups are set in PostgreSQL, so the
page is tested without a CLIP model.

What the tests prove:
- /utilities lists the three tools; each opens its page.
- Review duplicates: the caller's groups only (another user's group never shows), each group's
  photos side by side (one row at desktop, two columns at phone width), the largest ticked
  "Keep" as the server suggests; "Keep selected, trash others" trashes exactly the unticked
  (server state), "Not duplicates" keeps both and dissolves the group, "Deduplicate all" after
  its confirmation resolves every group.
- Large files: the caller's files largest first as the server lists them, the size filter
  narrows them, one opens in the viewer; at phone width two columns, no sideways scrolling.
- Geolocation: only the caller's photos without GPS are listed; a click on the map fills the
  coordinates, "Place 2 photos here" stores exactly them (server state) and the photos leave
  the list; typed coordinates place the last one; at phone width the map is above the list.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, upload_jpeg
from tests.conftest import wait_processed as wait_api_processed
from tests.test_search import make_jpeg
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page

WIDTHS = (1280, 390)


def noise(width: int, height: int, seed: int) -> bytes:
    """A JPEG of random pixels (``width`` x ``height``): bigger image, more bytes."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=90))


def photos(user: User, sizes: list[tuple[int, int]], day: int) -> list[str]:
    """Upload one noise JPEG per size, taken on 2021-03-<day>, and wait for their thumbnails."""
    ids = [
        upload_jpeg(user, noise(w, h, day * 10 + i), f"2021-03-{day:02d}T10:0{i}:00.000Z")
        for i, (w, h) in enumerate(sizes)
    ]
    wait_api_processed(user, ids)
    return ids


def group(stack: Stack, ids: list[str]) -> str:
    """Make ``ids`` one duplicate group (as the embedding service does); its id."""
    duplicate_id = str(uuid.uuid4())
    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            db_rows,
            stack,
            "UPDATE assets SET duplicate_id = $1 WHERE id = ANY($2::uuid[])",
            uuid.UUID(duplicate_id),
            [uuid.UUID(i) for i in ids],
        ).result()
    return duplicate_id


def asset(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".filter(e => { for (let p = e.parentElement; p && p !== document.body;"
        " p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return false;"
        " return true; })"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px: {wide}"


def check_axe(page: Any, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], where


@pytest.mark.parametrize("width", WIDTHS)
def test_review_duplicates(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    owner, stranger = make_user(stack, admin), make_user(stack, admin)
    first = photos(owner, [(96, 72), (320, 240), (160, 120)], day=2)  # older group
    second = photos(owner, [(200, 150), (120, 90)], day=20)  # newer group: listed first
    third = photos(owner, [(150, 100), (300, 200)], day=10)
    first_id, second_id, third_id = group(stack, first), group(stack, second), group(stack, third)
    group(stack, photos(stranger, [(64, 48), (128, 96)], day=5))

    page: Any = signed_in_page(browser, stack, owner, width=width)
    page.goto("/utilities")
    page.get_by_role("heading", name="Utilities").wait_for()
    check_axe(page, f"/utilities @{width}")
    shot(page, f"utilities-{width}")
    page.get_by_role("link", name="Review duplicates").click()
    page.wait_for_url("**/utilities/duplicates")
    sections = page.locator("section[data-duplicate-id]")
    sections.first.wait_for()
    assert sections.evaluate_all("s => s.map(e => e.dataset.duplicateId)") == [
        second_id,
        third_id,
        first_id,
    ]
    check_axe(page, f"/utilities/duplicates @{width}")
    shot(page, f"utilities-duplicates-{width}")
    page.emulate_media(color_scheme="dark")
    check_axe(page, f"/utilities/duplicates @{width} dark")
    shot(page, f"utilities-duplicates-{width}-dark")
    page.emulate_media(color_scheme="light")

    # side by side: one row of three at desktop, two columns at phone width
    oldest = page.locator(f"section[data-duplicate-id='{first_id}']")
    boxes = [oldest.locator(f"li[data-asset-id='{i}']").bounding_box() for i in first]
    if width >= 1000:
        assert len({round(b["y"]) for b in boxes}) == 1, boxes
    else:
        assert round(boxes[0]["y"]) == round(boxes[1]["y"]) < boxes[2]["y"], boxes
    no_sideways_scroll(page)

    # the largest file is ticked "Keep" (the server's suggestion), the others are not
    keep = {
        i: oldest.get_by_label(f"Keep copy {n + 1}: {asset(owner, i)['originalFileName']}")
        for n, i in enumerate(first)
    }
    assert [keep[i].is_checked() for i in first] == [False, True, False]
    keep[first[0]].check()  # keep the smallest too: only the third goes to the trash
    oldest.get_by_role("button", name="Keep selected, trash others").click()
    page.get_by_role("status").get_by_text("Resolved 1 group: 1 moved to the trash").wait_for()
    assert [asset(owner, i)["isTrashed"] for i in first] == [False, False, True]
    assert oldest.count() == 0

    # not duplicates: the group dissolves, both photos stay
    newest = page.locator(f"section[data-duplicate-id='{second_id}']")
    newest.get_by_role("button", name="Not duplicates").click()
    page.get_by_role("status").get_by_text("Kept every photo of 1 group").wait_for()
    assert [asset(owner, i)["isTrashed"] for i in second] == [False, False]
    assert [asset(owner, i)["duplicateId"] for i in second] == [None, None]

    # deduplicate all, after its confirmation: the suggested (largest) copy stays
    page.get_by_role("button", name="Deduplicate all").click()
    confirm = page.get_by_role("alertdialog")
    confirm.get_by_text("move 1 others to the trash").wait_for()
    shot(page, f"utilities-duplicates-confirm-{width}")
    confirm.get_by_role("button", name="Trash duplicates").click()
    page.get_by_text("No duplicates").wait_for()
    assert [asset(owner, i)["isTrashed"] for i in third] == [True, False]
    assert owner.client.get("/api/duplicates").json() == []
    assert len(stranger.client.get("/api/duplicates").json()) == 1  # untouched
    check_axe(page, f"/utilities/duplicates (empty) @{width}")
    assert page.errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_large_files(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    owner = make_user(stack, request.getfixturevalue("admin"))
    ids = photos(owner, [(120, 90), (1200, 900), (400, 300), (64, 48)], day=3)
    big = owner.client.get(f"/api/assets/{ids[1]}").json()["exifInfo"]["fileSizeInByte"]
    assert big > 1024 * 1024, "the 1200x900 noise JPEG should be over 1 MiB"
    expected = [a["id"] for a in owner.client.post("/api/search/large-assets").json()]
    assert set(expected) == set(ids) and expected[0] == ids[1]

    page: Any = signed_in_page(browser, stack, owner, width=width)
    page.goto("/utilities")
    page.get_by_role("link", name="Large files").click()
    page.wait_for_url("**/utilities/large-files")
    tiles = page.locator("ol.files li[data-asset-id]")
    tiles.nth(len(ids) - 1).wait_for()
    assert tiles.evaluate_all("t => t.map(e => e.dataset.assetId)") == expected
    # its size as the page's formatBytes writes it (binary units, one decimal)
    assert tiles.first.locator(".size").inner_text() == f"{big / 1024**2:.1f} MiB"
    check_axe(page, f"/utilities/large-files @{width}")
    shot(page, f"utilities-large-files-{width}")
    if width < 1000:
        boxes = [tiles.nth(i).bounding_box() for i in range(3)]
        assert round(boxes[0]["y"]) == round(boxes[1]["y"]) < boxes[2]["y"], boxes
    no_sideways_scroll(page)

    page.get_by_label("Show").select_option(label="At least 1 MiB")
    page.wait_for_function("() => document.querySelectorAll('ol.files li').length === 1")
    assert tiles.evaluate_all("t => t.map(e => e.dataset.assetId)") == [ids[1]]
    tiles.first.get_by_role("link").click()
    page.wait_for_url(f"**/photos/{ids[1]}")
    page.get_by_role("dialog", name="Asset viewer").wait_for()
    assert page.errors == []


def _coords(user: User, asset_id: str) -> tuple[float | None, float | None]:
    exif = asset(user, asset_id).get("exifInfo") or {}
    return exif.get("latitude"), exif.get("longitude")


@pytest.mark.parametrize("width", WIDTHS)
def test_geolocation(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    owner, stranger = make_user(stack, admin), make_user(stack, admin)
    unplaced = photos(owner, [(100, 80), (90, 70), (80, 60)], day=4)
    placed = upload_jpeg(
        owner, make_jpeg("Canon", "EOS", "2021:03:05 10:00:00", (48.8566, 2.3522), 1)
    )
    photos(stranger, [(70, 50)], day=6)
    wait_api_processed(owner, [placed])
    deadline = time.monotonic() + 60  # metadata (GPS) is extracted before the thumbnail
    while _coords(owner, placed)[0] is None:
        assert time.monotonic() < deadline, "GPS never extracted"
        time.sleep(0.3)

    page: Any = signed_in_page(browser, stack, owner, width=width)
    # every request that leaves the stack (map tiles) fails, as on a machine without internet
    page.route(lambda url: not url.startswith(stack.url), lambda route: route.abort())
    page.goto("/utilities")
    page.get_by_role("link", name="Geolocation").click()
    page.wait_for_url("**/utilities/geolocation")
    listed = page.locator("section[aria-label='Photos without location'] li[data-asset-id]")
    listed.nth(len(unplaced) - 1).wait_for()
    assert sorted(listed.evaluate_all("t => t.map(e => e.dataset.assetId)")) == sorted(unplaced)
    page.locator(".map.leaflet-container").wait_for()
    check_axe(page, f"/utilities/geolocation @{width}")
    if width < 1000:  # the map above the list
        assert page.locator(".map").bounding_box()["y"] < listed.first.bounding_box()["y"]
    no_sideways_scroll(page)

    # pick two, click the map: the coordinates of the click are stored
    for asset_id in unplaced[:2]:
        page.locator(f"li[data-asset-id='{asset_id}'] input[type=checkbox]").check()
    box = page.locator(".map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    latitude = page.get_by_label("Latitude")
    page.wait_for_function("() => document.querySelector('.coords input').value !== ''")
    lat, lon = float(latitude.input_value()), float(page.get_by_label("Longitude").input_value())
    assert -90 <= lat <= 90 and -180 <= lon <= 180
    shot(page, f"utilities-geolocation-{width}")
    page.get_by_role("button", name="Place 2 photos here").click()
    page.get_by_role("status").get_by_text("Placed 2 photos").wait_for()
    for asset_id in unplaced[:2]:
        got = _coords(owner, asset_id)
        assert got[0] == pytest.approx(lat, abs=1e-6) and got[1] == pytest.approx(lon, abs=1e-6)
    assert listed.evaluate_all("t => t.map(e => e.dataset.assetId)") == [unplaced[2]]

    # typed coordinates place the last one
    page.locator(f"li[data-asset-id='{unplaced[2]}'] input[type=checkbox]").check()
    latitude.fill("-33.8688")
    page.get_by_label("Longitude").fill("151.2093")
    page.get_by_role("button", name="Place 1 photo here").click()
    page.get_by_text("Every photo has a location.").wait_for()
    assert _coords(owner, unplaced[2]) == pytest.approx((-33.8688, 151.2093), abs=1e-6)
    assert _coords(owner, placed) == pytest.approx((48.8566, 2.3522), abs=1e-3)
    shot(page, f"utilities-geolocation-done-{width}")
    assert page.errors == []
