"""The web app in a real browser (Debian's chromium driven by Playwright) against the real stack.

Screenshots of every step go to ``test-output/web/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re

import httpx
import pytest
from darkroom_gateway.domain.web import default_web_dir
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import ADMIN, make_user
from tests.web.conftest import (
    SHOTS,
    TIMEOUT_MS,
    UUID,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
    wait_processed,
    watch_errors,
)

#: Sample photos with EXIF dates in four different months (two on the same day).
PHOTOS = [
    "ianare_exif-samples/jpg/gps/DSCN0010.jpg",
    "ianare_exif-samples/jpg/gps/DSCN0012.jpg",
    "lychee/tests/Samples/mongolia.jpeg",
    "photoprism/internal/meta/testdata/Iceland-P3.jpg",
    "photoprism/internal/meta/testdata/ship.jpg",
]
#: The admin that the sign-up test creates through the UI on a fresh stack.
UI_ADMIN = ADMIN  # the same first admin as the API fixture (tests/conftest.py)


def test_static_files_and_spa_fallback(stack: Stack) -> None:
    """/ and app routes answer index.html; hashed bundles are immutable; /api stays JSON."""
    needs_build()
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        root = client.get("/")
        assert root.status_code == 200
        assert root.headers["content-type"].startswith("text/html")
        assert root.headers["cache-control"] == "no-cache"
        assert '<div id="app">' in root.text
        deep = client.get("/photos/00000000-0000-0000-0000-000000000000")
        assert deep.status_code == 200 and deep.text == root.text
        revalidated = client.get("/", headers={"If-None-Match": root.headers["etag"]})
        assert revalidated.status_code == 304

        bundle = re.search(r'src="(/assets/[^"]+\.js)"', root.text)
        assert bundle is not None
        js = client.get(bundle.group(1))
        assert js.status_code == 200
        assert js.headers["content-type"].startswith("text/javascript")
        assert "immutable" in js.headers["cache-control"]
        # The ETag comes from the file's size and mtime (nginx-style), not a hash of its bytes.
        built = default_web_dir() / bundle.group(1).lstrip("/")
        st = built.stat()
        assert js.headers["etag"] == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        assert int(js.headers["content-length"]) == st.st_size and js.content == built.read_bytes()
        assert (
            client.get(bundle.group(1), headers={"If-None-Match": js.headers["etag"]}).status_code
            == 304
        )
        assert client.get("/assets/missing-0000.js").status_code == 404
        for escape in ("/../pyproject.toml", "/..%2F..%2Fpyproject.toml", "/%2e%2e/package.json"):
            assert "[project]" not in client.get(escape).text  # never a file outside dist
            assert '"devDependencies"' not in client.get(escape).text

        api = client.get("/api/no-such-route")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/json")
        assert set(api.json()) == {"message"}
        # The API itself is untouched by the catch-all.
        assert client.get("/api/server/ping").json() == {"res": "pong"}


@pytest.mark.samples
def test_sign_up_upload_timeline_viewer(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Sign up (or log in), upload sample photos with the Upload control, find them in the
    timeline under their months, open one and walk next/prev with the keyboard."""
    needs_build()
    samples = samples_dir()
    if samples is None or not (samples / "photos" / PHOTOS[0]).is_file():
        pytest.skip("sample photos absent (set DARKROOM_SAMPLES)")
    files = [samples / "photos" / p for p in PHOTOS]
    SHOTS.mkdir(parents=True, exist_ok=True)

    base = stack.url
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 800}, base_url=base
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = watch_errors(page)

    initialized = httpx.get(f"{base}/api/server/config").json()["isInitialized"]
    page.goto("/")
    if not initialized:
        # First run: the app sends us to the admin sign-up page.
        page.wait_for_url("**/auth/register")
        email, password = UI_ADMIN
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Confirm password").fill(password)
        page.get_by_label("Name").fill("Ada Admin")
        shot(page, "01-sign-up")
        page.get_by_role("button", name="Sign up").click()
    else:  # the admin exists already: log in as a fresh user whose library is empty
        fresh = make_user(stack, request.getfixturevalue("admin"))
        email, password = fresh.email, fresh.password
    page.wait_for_url("**/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    shot(page, "02-login")
    page.get_by_role("button", name="Log in").click()
    if not initialized:  # the new admin goes through the first-run onboarding first
        page.wait_for_url("**/onboarding")
        for button in ("Next", "Next", "Done"):
            page.get_by_role("button", name=button).click()
    page.wait_for_url("**/photos")
    assert any(c["name"] == "immich_access_token" for c in context.cookies())
    shot(page, "03-timeline-before-upload")

    # Upload through the app's own control (the hidden file input behind the Upload button).
    page.get_by_test_id("upload-input").set_input_files([str(f) for f in files])
    panel = page.get_by_test_id("upload-panel")
    panel.get_by_text(f"Uploaded {len(files)} of {len(files)}").wait_for()
    shot(page, "04-uploaded")
    rows = panel.locator("li[data-asset-id]")
    assert rows.count() == len(files)
    assert panel.locator("li.error").count() == 0
    ids = [rows.nth(i).get_attribute("data-asset-id") or "" for i in range(len(files))]
    assert all(re.fullmatch(UUID, i) for i in ids)

    # Once the pipeline has dated and rendered them, a reload shows each under its month.
    wait_processed(page, base, ids)
    page.reload()
    for asset_id in ids:
        info = page.request.get(f"{base}/api/assets/{asset_id}").json()
        month = info["localDateTime"][:7]
        tile = page.locator(f'section[data-month="{month}"] a[data-asset-id="{asset_id}"]')
        tile.scroll_into_view_if_needed()
        tile.wait_for()
        img = tile.locator("img")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
        assert "thumbnail" in (img.get_attribute("src") or "")
    months = page.locator("section[data-month] > h2").all_inner_texts()
    assert len(months) >= 4, months  # four different months among the samples
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "05-timeline")

    # Open one: the viewer shows the preview; arrows walk the timeline order, Escape closes.
    order = page.eval_on_selector_all(
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    first = next(i for i in order if i in ids and order.index(i) + 1 < len(order))
    following = order[order.index(first) + 1]
    page.locator(f'main a[data-asset-id="{first}"]').click()
    page.wait_for_url(f"**/photos/{first}")
    viewer = page.get_by_role("dialog", name="Asset viewer")
    preview = viewer.locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )
    viewer.locator("img.loaded").wait_for()
    assert "size=preview" in (preview.get_attribute("src") or "")
    shot(page, "06-viewer")
    page.keyboard.press("i")
    info_panel = viewer.get_by_role("complementary", name="Info")
    info_panel.wait_for()
    name = page.request.get(f"{base}/api/assets/{first}").json()["originalFileName"]
    assert name in info_panel.inner_text()
    shot(page, "07-viewer-info")

    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{following}")
    page.locator(f'[role="dialog"][data-asset-id="{following}"] img.loaded').wait_for()
    shot(page, "08-viewer-next")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/photos/{first}")
    page.locator(f'[role="dialog"][data-asset-id="{first}"] img.loaded').wait_for()
    shot(page, "09-viewer-previous")
    page.keyboard.press("Escape")
    page.wait_for_url("**/photos")
    assert viewer.count() == 0

    # Phone width: the same timeline, still usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(f'main a[data-asset-id="{first}"]').wait_for()
    shot(page, "10-timeline-phone")
    assert errors == [], errors
    context.close()


def test_timeline_virtualised_justified_scrubber(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """3,000 seeded assets over 2000-2024: every month has its section, only the months near
    the viewport hold tiles, rows are justified (~200 px, widths from the bucket's ratio), and
    the scrubber jumps to 2015."""
    needs_build()
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = library_owner(stack, request)
    seed(stack, user.id, 3000, 2000, 2024)
    buckets = user.client.get("/api/timeline/buckets", params={"visibility": "timeline"}).json()
    assert len(buckets) == 300

    page = signed_in_page(browser, stack, user)
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    page.goto("/photos")  # type: ignore[attr-defined]
    page.wait_for_selector("html[data-first-screen-ms]")  # type: ignore[attr-defined]
    first_ms = page.evaluate(  # type: ignore[attr-defined]
        "performance.getEntriesByName('darkroom:timeline-first-screen')[0].startTime"
    )
    assert 0 < first_ms < 15_000
    assert page.locator("main section[data-month]").count() == 300  # type: ignore[attr-defined]
    rendered = page.locator("main section[data-rendered]")  # type: ignore[attr-defined]
    tiles = page.locator("main a[data-asset-id]")  # type: ignore[attr-defined]
    assert 1 <= rendered.count() <= 12, rendered.count()
    assert 0 < tiles.count() <= 150, tiles.count()  # of 3,000
    shot(page, "11-timeline-3000")

    # Justified rows: full width (but a day's last row), ~200 px tall, tiles at the bucket ratio.
    newest = buckets[0]["timeBucket"]
    columns = user.client.get(
        "/api/timeline/bucket", params={"visibility": "timeline", "timeBucket": newest}
    ).json()
    ratios = dict(zip(columns["id"], columns["ratio"], strict=True))
    rows = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('main section[data-rendered] .row')].map(r => ({
            width: r.getBoundingClientRect().width,
            height: r.getBoundingClientRect().height,
            last: r === r.parentElement.lastElementChild,
            tiles: [...r.querySelectorAll('a[data-asset-id]')].map(a => ({
                id: a.dataset.assetId, w: a.getBoundingClientRect().width,
                h: a.getBoundingClientRect().height})),
        }))"""
    )
    full = [r for r in rows if not r["last"]]
    assert full, rows
    for row in full:
        assert 120 <= row["height"] <= 300, row
        used = sum(t["w"] for t in row["tiles"]) + 4 * (len(row["tiles"]) - 1)
        assert abs(used - row["width"]) < 2, row
    checked = 0
    for row in rows:
        for tile in row["tiles"]:
            assert abs(tile["h"] - row["height"]) < 1
            if tile["id"] in ratios:
                assert abs(tile["w"] / tile["h"] - ratios[tile["id"]]) < 0.02, tile
                checked += 1
    assert checked >= 3

    # The scrubber: a click on 2015 lands in 2015; the months of 2024 leave the DOM.
    page.get_by_role("button", name="2015", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_selector("html[data-scrub-ms]")  # type: ignore[attr-defined]
    on_screen = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('main section[data-month]')]
            .filter(s => { const r = s.getBoundingClientRect();
                           return r.bottom > 60 && r.top < innerHeight; })
            .map(s => [s.dataset.month, !!s.dataset.rendered])"""
    )
    assert on_screen and on_screen[0][0].startswith("2015-"), on_screen
    assert all(rendered for _, rendered in on_screen), on_screen
    assert "2015" in page.get_by_test_id("scrubber-current").inner_text()  # type: ignore[attr-defined]
    assert page.locator('main section[data-rendered][data-month^="2024-"]').count() == 0  # type: ignore[attr-defined]
    assert 0 < tiles.count() <= 150
    shot(page, "12-timeline-scrubbed-2015")
    assert errors == [], errors
    page.context.close()  # type: ignore[attr-defined]


def _set_exif(stack: Stack, asset_id: str, **columns: str) -> None:
    """Overwrite EXIF columns of one seeded asset (straight in PostgreSQL)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    async def update() -> None:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
            await conn.execute(
                f"UPDATE asset_exif SET {sets} WHERE asset_id = $1",
                uuid_of(asset_id),
                *columns.values(),
            )
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, update()).result()


def uuid_of(text: str) -> object:
    import uuid

    return uuid.UUID(text)


def test_viewer_actions_and_pages(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Favorite, archive, trash/restore/empty from the viewer and the pages that list them;
    the info panel's EXIF; metadata search; albums; renaming a person."""
    needs_build()
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = library_owner(stack, request)
    api = user.client
    seed(stack, user.id, 6, 2019, 2019)
    # rows inserted with the triggers off still count in the quota (deleting one later through
    # the API must not take the usage below zero); the seed's sizes are 1,000,000 + i bytes
    assert api.get("/api/users/me").json()["quotaUsageInBytes"] == 6 * 1_000_000 + sum(range(6))
    bucket = api.get("/api/timeline/buckets", params={"visibility": "timeline"}).json()
    columns = api.get(
        "/api/timeline/bucket",
        params={"visibility": "timeline", "timeBucket": bucket[0]["timeBucket"]},
    ).json()
    ids = columns["id"]
    assert len(ids) == 6
    _set_exif(stack, ids[5], city="Reykjavik", country="Iceland", make="Canon", model="EOS R5")

    page = signed_in_page(browser, stack, user)
    errors: list[str] = page.errors  # type: ignore[attr-defined]
    tile = 'main a[data-asset-id="{}"]'

    # Info panel with camera, place and date; favorite.
    page.goto(f"/photos/{ids[0]}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Favorite", exact=True).wait_for()
    page.keyboard.press("i")  # type: ignore[attr-defined]
    info = viewer.get_by_role("complementary", name="Info")
    info.get_by_text("NIKON COOLPIX P6000").wait_for()
    text = info.inner_text()
    assert "Genoa, Italy" in text and "Taken" in text and "2019" in text, text
    viewer.get_by_role("button", name="Favorite", exact=True).click()
    viewer.get_by_role("button", name="Unfavorite").wait_for()
    assert api.get(f"/api/assets/{ids[0]}").json()["isFavorite"] is True
    shot(page, "13-viewer-favorite-info")
    page.goto("/favorites")  # type: ignore[attr-defined]
    page.locator(tile.format(ids[0])).wait_for()  # type: ignore[attr-defined]
    assert page.locator("main a[data-asset-id]").count() == 1  # type: ignore[attr-defined]
    shot(page, "14-favorites")

    # Archive: leaves the timeline, shows in Archive.
    page.goto(f"/photos/{ids[1]}")  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Archive").click()
    page.wait_for_url(re.compile(r".*/photos/(?!" + ids[1] + ")" + UUID))  # type: ignore[attr-defined]
    assert api.get(f"/api/assets/{ids[1]}").json()["visibility"] == "archive"
    page.goto("/archive")  # type: ignore[attr-defined]
    page.locator(tile.format(ids[1])).wait_for()  # type: ignore[attr-defined]
    shot(page, "15-archive")

    # Delete to trash, restore from the trash viewer, then delete another and empty the trash.
    page.goto(f"/photos/{ids[2]}")  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r".*/photos/(?!" + ids[2] + ")" + UUID))  # type: ignore[attr-defined]
    assert api.get(f"/api/assets/{ids[2]}").json()["isTrashed"] is True
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(tile.format(ids[0])).wait_for()  # type: ignore[attr-defined]
    shown = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    assert ids[1] not in shown and ids[2] not in shown and len(shown) == 4
    page.goto("/trash")  # type: ignore[attr-defined]
    page.locator(tile.format(ids[2])).click()  # type: ignore[attr-defined]
    page.wait_for_url(f"**/trash/{ids[2]}")  # type: ignore[attr-defined]
    shot(page, "16-trash-viewer")
    viewer.get_by_role("button", name="Restore").click()
    page.wait_for_url("**/trash")  # type: ignore[attr-defined]
    assert api.get(f"/api/assets/{ids[2]}").json()["isTrashed"] is False
    assert api.request("DELETE", "/api/assets", json={"ids": [ids[3]]}).status_code == 204
    page.reload()  # type: ignore[attr-defined]
    page.locator(tile.format(ids[3])).wait_for()  # type: ignore[attr-defined]
    shot(page, "17-trash")
    page.once("dialog", lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    page.get_by_role("button", name="Empty trash").click()  # type: ignore[attr-defined]
    page.get_by_role("status").get_by_text("Deleted 1 item permanently").wait_for()  # type: ignore[attr-defined]
    assert api.get("/api/timeline/buckets", params={"isTrashed": "true"}).json() == []

    # Search by city.
    page.goto("/search")  # type: ignore[attr-defined]
    page.get_by_label("City").fill("Reykjavik")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Search", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_test_id("search-count").get_by_text("1 result").wait_for()  # type: ignore[attr-defined]
    results = page.get_by_test_id("search-results").locator("a[data-asset-id]")  # type: ignore[attr-defined]
    assert results.count() == 1 and results.get_attribute("data-asset-id") == ids[5]
    shot(page, "18-search")

    # Albums: create one, fill it over the API, open it.
    page.goto("/albums")  # type: ignore[attr-defined]
    page.get_by_label("New album name").fill("Holiday 2019")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create album").click()  # type: ignore[attr-defined]
    link = page.get_by_role("link", name=re.compile("Holiday 2019"))  # type: ignore[attr-defined]
    link.wait_for()
    album_id = link.get_attribute("data-album-id")
    added = api.put(f"/api/albums/{album_id}/assets", json={"ids": [ids[4], ids[5]]})
    assert added.status_code == 200, added.text
    link.click()
    page.wait_for_url(f"**/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Holiday 2019").wait_for()  # type: ignore[attr-defined]
    page.locator(tile.format(ids[5])).wait_for()  # type: ignore[attr-defined]
    assert page.locator("main a[data-asset-id]").count() == 2  # type: ignore[attr-defined]
    shot(page, "19-album")

    # People: rename on the person's page. (GET /api/people lists only people with a
    # thumbnail, as Immich; no face detection runs on seeded rows, so this one is not listed.)
    person = api.post("/api/people", json={"name": "Guest"})
    assert person.status_code == 201, person.text
    page.goto(f"/people/{person.json()['id']}")  # type: ignore[attr-defined]
    name = page.get_by_label("Name of person")  # type: ignore[attr-defined]
    name.fill("Grace Hopper")
    name.press("Enter")
    page.get_by_role("status").get_by_text("Saved Grace Hopper").wait_for()  # type: ignore[attr-defined]
    assert api.get(f"/api/people/{person.json()['id']}").json()["name"] == "Grace Hopper"
    shot(page, "20-people")
    assert errors == [], errors
    page.context.close()  # type: ignore[attr-defined]
