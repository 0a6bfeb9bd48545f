"""The web app in a real browser (Debian's chromium driven by Playwright) against the real stack.

Screenshots of every step go to ``test-output/web/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from darkroom_gateway.domain.web import default_web_dir
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import make_user

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web"
#: Sample photos with EXIF dates in four different months (two on the same day).
PHOTOS = [
    "ianare_exif-samples/jpg/gps/DSCN0010.jpg",
    "ianare_exif-samples/jpg/gps/DSCN0012.jpg",
    "lychee/tests/Samples/mongolia.jpeg",
    "photoprism/internal/meta/testdata/Iceland-P3.jpg",
    "photoprism/internal/meta/testdata/ship.jpg",
]
TIMEOUT_MS = 30_000
UUID = r"[0-9a-f-]{36}"


def needs_build() -> None:
    """Skip when the web app has not been built (``make install`` builds it)."""
    if not (default_web_dir() / "index.html").is_file():
        pytest.skip("web app not built: run `make install` (npm ci && npm run build)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright; skips when either is missing."""
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed: `apt-get install -y chromium` (make install)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python playwright missing")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


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
        assert client.get("/assets/missing-0000.js").status_code == 404
        for escape in ("/../pyproject.toml", "/..%2F..%2Fpyproject.toml", "/%2e%2e/package.json"):
            assert "[project]" not in client.get(escape).text  # never a file outside dist
            assert '"devDependencies"' not in client.get(escape).text

        api = client.get("/api/no-such-route")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/json")
        assert api.json()["statusCode"] == 404
        # The API itself is untouched by the catch-all.
        assert client.get("/api/server/ping").json() == {"res": "pong"}


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def _wait_processed(page: object, base: str, ids: list[str], timeout_s: float = 60) -> None:
    """Poll the API with the browser's own session until every asset has its thumbhash."""
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for asset_id in list(pending):
            r = page.request.get(f"{base}/api/assets/{asset_id}")  # type: ignore[attr-defined]
            assert r.status == 200, r.text()
            if r.json().get("thumbhash"):
                pending.discard(asset_id)
        time.sleep(0.5)
    assert not pending, f"thumbnails never generated for {pending}"


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
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)

    base = stack.url
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 800}, base_url=base
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    initialized = httpx.get(f"{base}/api/server/config").json()["isInitialized"]
    page.goto("/")
    if not initialized:
        # First run: the app sends us to the admin sign-up page.
        page.wait_for_url("**/auth/register")
        email, password = "admin@darkroom.test", "correct horse battery staple"
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Confirm password").fill(password)
        page.get_by_label("Name").fill("Ada Admin")
        _shot(page, "01-sign-up")
        page.get_by_role("button", name="Sign up").click()
    else:  # the admin exists already: log in as a fresh user whose library is empty
        fresh = make_user(stack, request.getfixturevalue("admin"))
        email, password = fresh.email, fresh.password
    page.wait_for_url("**/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    _shot(page, "02-login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/photos")
    assert any(c["name"] == "immich_access_token" for c in context.cookies())
    _shot(page, "03-timeline-before-upload")

    # Upload through the app's own control (the hidden file input behind the Upload button).
    page.get_by_test_id("upload-input").set_input_files([str(f) for f in files])
    panel = page.get_by_test_id("upload-panel")
    panel.get_by_text(f"Uploaded {len(files)} of {len(files)}").wait_for()
    _shot(page, "04-uploaded")
    rows = panel.locator("li[data-asset-id]")
    assert rows.count() == len(files)
    assert panel.locator("li.error").count() == 0
    ids = [rows.nth(i).get_attribute("data-asset-id") or "" for i in range(len(files))]
    assert all(re.fullmatch(UUID, i) for i in ids)

    # Once the pipeline has dated and rendered them, a reload shows each under its month.
    _wait_processed(page, base, ids)
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
    _shot(page, "05-timeline")

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
    _shot(page, "06-viewer")
    page.keyboard.press("i")
    info_panel = viewer.get_by_role("complementary", name="Info")
    info_panel.wait_for()
    name = page.request.get(f"{base}/api/assets/{first}").json()["originalFileName"]
    assert name in info_panel.inner_text()
    _shot(page, "07-viewer-info")

    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/photos/{following}")
    page.locator(f'[role="dialog"][data-asset-id="{following}"] img.loaded').wait_for()
    _shot(page, "08-viewer-next")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/photos/{first}")
    page.locator(f'[role="dialog"][data-asset-id="{first}"] img.loaded').wait_for()
    _shot(page, "09-viewer-previous")
    page.keyboard.press("Escape")
    page.wait_for_url("**/photos")
    assert viewer.count() == 0

    # Phone width: the same timeline, still usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(f'main a[data-asset-id="{first}"]').wait_for()
    _shot(page, "10-timeline-phone")
    assert errors == [], errors
    context.close()
