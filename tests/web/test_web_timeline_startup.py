"""The timeline's start-up and windowing in a real browser (issue #20 item 4).

1. Start-up: public/boot.js sends the server config, the user, the Photos page's months and
   the newest month before the bundle runs (the months and the newest month from its worker,
   which also fetches the first screen's thumbnails into the HTTP cache); the app uses those
   answers, so each is asked exactly once, and the first three leave before the app's own first
   request (the bell's, sent once the first screen is laid out). An anonymous visitor asks
   nothing about a user (no user, no timeline requests).
2. Windowing inside a month: a month several screens tall holds only the lines of days near
   the viewport; scrolling into its middle fills the screen with tiles at the computed places;
   ``?at=<id>`` of an asset deep in the month brings its tile on screen and focuses it.

Screenshots go to ``test-output/web/startup-*.png``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from darkroom_stack.supervisor import Stack

from tests.web.conftest import library_owner, needs_build, seed, shot, signed_in_page

PHOTOS_QUERY = "visibility=timeline&withPartners=true&withStacked=true"


def _record_api_requests(page: object) -> list[str]:
    """A list that fills with the path and query below /api of every request the page (and its
    workers: Playwright reports a dedicated worker's requests as its page's) sends to the API
    from now on, in the order sent."""
    sent: list[str] = []

    def record(request: object) -> None:
        path = urlsplit(request.url).path  # type: ignore[attr-defined]
        if path.startswith("/api/"):
            query = urlsplit(request.url).query  # type: ignore[attr-defined]
            sent.append(path[4:] + (f"?{query}" if query else ""))

    page.on("request", record)  # type: ignore[attr-defined]
    return sent


def test_startup_requests_once_and_early(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Config, user, months and newest month: each asked once, all before the app's own."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 40, 2022, 2023)
    buckets = user.client.get(f"/api/timeline/buckets?{PHOTOS_QUERY}").json()
    newest = buckets[0]["timeBucket"]

    page = signed_in_page(browser, stack, user)
    paths = _record_api_requests(page)
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator("main a[data-asset-id]").first.wait_for()  # type: ignore[attr-defined]
    # the bell's request (the app's own, sent once the first screen is laid out) has gone too
    for _ in range(300):
        if any(p.startswith("/notifications") for p in paths):
            break
        page.wait_for_timeout(100)  # type: ignore[attr-defined]
    early = [
        "/server/config",
        "/users/me",
        f"/timeline/buckets?{PHOTOS_QUERY}",
        f"/timeline/bucket?{PHOTOS_QUERY}&timeBucket={newest.replace(':', '%3A')}",
    ]
    for path in early:
        assert paths.count(path) == 1, (path, paths)
    # boot.js's first three left before it (the newest month waits for the months' answer)
    bell = next(i for i, p in enumerate(paths) if p.startswith("/notifications"))
    assert all(paths.index(p) < bell for p in early[:3]), paths
    # the worker asked for the first tile's thumbnail before the app sent anything of its own
    first = page.locator("main a[data-asset-id]").first.get_attribute("data-asset-id")  # type: ignore[attr-defined]
    thumbnail = next(i for i, p in enumerate(paths) if p.startswith(f"/assets/{first}/thumbnail?"))
    assert thumbnail < bell, paths
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, "startup-01-photos")
    page.context.close()  # type: ignore[attr-defined]

    # an anonymous visitor: the config once, nothing about a user, then the login page
    context = browser.new_context(base_url=stack.url)  # type: ignore[attr-defined]
    anon = context.new_page()
    asked = _record_api_requests(anon)
    anon.goto("/photos")
    anon.wait_for_url(re.compile(r"/auth/login$"))
    anon.get_by_label("Email").wait_for()
    assert asked.count("/server/config") == 1, asked
    assert not [p for p in asked if p.startswith(("/users", "/timeline"))], asked
    context.close()


def test_month_lines_windowed(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Months of 100 assets (several screens each): a few screens of lines in the DOM, filled
    wherever scrolled."""
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 2400, 2019, 2020)  # 100 a month, a burst of 8 every ~3 days
    buckets = user.client.get(f"/api/timeline/buckets?{PHOTOS_QUERY}").json()
    assert sum(b["count"] for b in buckets) == 2400

    page = signed_in_page(browser, stack, user)
    page.goto("/photos")  # type: ignore[attr-defined]
    page.wait_for_selector("html[data-first-screen-ms]")  # type: ignore[attr-defined]
    tiles = page.locator("main a[data-asset-id]")  # type: ignore[attr-defined]
    # 800 px viewport, rows ~200 px: the window (a screen above and below) holds ~4 screens
    assert 0 < tiles.count() <= 120, tiles.count()

    # the middle of the first month that is taller than four screens
    months = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('main section[data-month]')].map((s) => [
            s.dataset.month, s.getBoundingClientRect().top + scrollY, s.offsetHeight])"""
    )
    tall = next((m for m in months if m[2] > 4 * 800), None)
    assert tall is not None, months
    page.evaluate("(y) => window.scrollTo(0, y)", tall[1] + tall[2] / 2)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        """(month) => {
            const s = document.querySelector(`section[data-month="${month}"][data-rendered]`);
            if (!s) return false;
            const shown = [...s.querySelectorAll('a[data-asset-id]')].filter((a) => {
                const r = a.getBoundingClientRect(); return r.bottom > 64 && r.top < innerHeight;
            });
            return shown.length >= 8;
        }""",
        arg=tall[0],
    )
    in_dom = tiles.count()
    assert 0 < in_dom <= 120, in_dom
    # the lines sit where the arithmetic put them: in order, none overlapping
    tops = page.evaluate(  # type: ignore[attr-defined]
        """(month) => [...document.querySelectorAll(`section[data-month="${month}"] .line`)]
            .map((l) => [l.offsetTop, l.offsetHeight])""",
        tall[0],
    )
    assert len(tops) >= 3, tops
    for (top, height), (next_top, _) in zip(tops, tops[1:], strict=False):
        assert next_top >= top + height, tops
    shot(page, "startup-02-middle-of-month")

    # ?at= an asset at the end of that month (its last line, far below the window)
    key = tall[0]
    bucket = next(b["timeBucket"] for b in buckets if b["timeBucket"].startswith(key))
    columns = user.client.get(
        f"/api/timeline/bucket?{PHOTOS_QUERY}", params={"timeBucket": bucket}
    ).json()
    last = columns["id"][-1]
    page.evaluate("() => window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    page.goto(f"/photos?at={last}")  # type: ignore[attr-defined]
    tile = page.locator(f'main a[data-asset-id="{last}"]')  # type: ignore[attr-defined]
    tile.wait_for()
    page.wait_for_function(  # type: ignore[attr-defined]
        "(id) => document.activeElement?.dataset?.assetId === id", arg=last
    )
    box = tile.bounding_box()
    assert box is not None and 0 <= box["y"] < 800, box
    assert page.errors == []  # type: ignore[attr-defined]
    shot(page, "startup-03-at-asset")
    page.context.close()  # type: ignore[attr-defined]
