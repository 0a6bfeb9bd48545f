"""Memories in a real browser against the real stack (issue 16, item 1).

The memory lane at the top of the Photos page ("N years ago" cards with a cover) and the
full-screen slideshow: opening a memory marks it seen on the server; photos advance by
themselves (the user's ``memories.duration`` pace) with a progress bar; a video plays; space
pauses (nothing moves while paused) and plays again; arrows go to the next and previous item;
Escape closes. The same at phone width (375 px) with the on-screen buttons, the overlay filling
the screen and nothing wider than it; no lane when the user turned memories off. No page error
or Content-Security-Policy violation is allowed. Screenshots go to
``test-output/web/memories-*.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, upload, upload_jpeg
from tests.conftest import wait_processed as api_wait_processed
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page
from tests.web.test_web_viewer import PHONE_VIDEO, _created, _sample, _wait_transcoded

#: Ceiling for a browser-side state to be reached on a busy 2-core machine (polled).
WAIT_S = 60
#: Pipeline ceiling for the uploads (polled).
PIPELINE_S = 600
#: The slideshow pace set for the test user (seconds per photo; Immich's memories.duration):
#: short enough to see photos advance, long enough for a busy machine to act on one.
PACE_S = 3
#: How long a paused slideshow is watched for not moving (ms): past one photo's pace.
HOLD_MS = int(1.5 * PACE_S * 1000)


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, size=(60, 80, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def poll(what: Callable[[], Any], description: str, timeout_s: float = WAIT_S) -> Any:
    """``what()`` once it is truthy, polled every 0.2 s up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, f"never happened: {description}"
        time.sleep(0.2)


@dataclass
class Lane:
    """A user with two memories shown today: a year ago (two photos), three years ago (a video
    then a photo)."""

    stack: Stack
    user: User
    recent: str  # memory ids
    older: str
    photos: list[str]
    video: str


@pytest.fixture(scope="module")
def lane(request: pytest.FixtureRequest) -> Lane:
    needs_build()
    video_path = _sample(PHONE_VIDEO)
    stack: Stack = request.getfixturevalue("stack")
    user = make_user(stack, request.getfixturevalue("admin"))
    # taken on successive days (a memory shows its items oldest first), after the video
    photos = [upload_jpeg(user, jpeg(300 + k), f"2022-01-0{k + 1}T12:00:00.000Z") for k in range(3)]
    video = _created(upload(user, video_path))
    api_wait_processed(user, [*photos, video], timeout=PIPELINE_S)
    _wait_transcoded(stack, video)
    r = user.client.put("/api/users/me/preferences", json={"memories": {"duration": PACE_S}})
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    window = {
        "showAt": (now - timedelta(days=2)).isoformat(),
        "hideAt": (now + timedelta(days=2)).isoformat(),
    }

    def memory(years_ago: int, asset_ids: list[str]) -> str:
        year = now.year - years_ago
        body = {
            "type": "on_this_day",
            "data": {"year": year},
            "memoryAt": now.replace(year=year, day=min(now.day, 28)).isoformat(),
            "assetIds": asset_ids,
            **window,
        }
        r = user.client.post("/api/memories", json=body)
        assert r.status_code == 201, r.text
        assert [a["id"] for a in r.json()["assets"]] == asset_ids, r.text
        return str(r.json()["id"])

    recent = memory(1, photos[:2])
    older = memory(3, [video, photos[2]])
    return Lane(stack, user, recent, older, photos, video)


def shown_asset(page: object) -> str:
    viewer = page.get_by_test_id("memory-asset")  # type: ignore[attr-defined]
    return str(viewer.get_attribute("data-asset-id"))


def seen_at(user: User, memory_id: str) -> str | None:
    r = user.client.get(f"/api/memories/{memory_id}")
    assert r.status_code == 200, r.text
    return r.json().get("seenAt")


def video_state(page: object) -> dict[str, Any]:
    return (
        page.get_by_test_id("memory-asset")
        .locator("video")
        .evaluate(  # type: ignore[attr-defined]
            "v => ({t: v.currentTime, paused: v.paused, error: v.error && v.error.code})"
        )
    )


def test_memory_lane_and_slideshow_on_desktop(lane: Lane, browser: object) -> None:
    page = signed_in_page(browser, lane.stack, lane.user)
    page.goto("/photos")  # type: ignore[attr-defined]
    strip = page.get_by_role("region", name="Memories")  # type: ignore[attr-defined]
    recent_card = strip.get_by_role("button", name="1 year ago, 2 items")
    older_card = strip.get_by_role("button", name="3 years ago, 2 items")
    recent_card.wait_for()
    older_card.wait_for()
    cover = recent_card.locator("img")
    poll(lambda: cover.evaluate("img => img.complete && img.naturalWidth > 0"), "cover loaded")
    shot(page, "memories-01-lane")
    assert axe_violations(page, '[data-testid="memory-lane"]') == []
    assert seen_at(lane.user, lane.recent) is None

    recent_card.click()
    dialog = page.get_by_role("dialog", name="Memory: 1 year ago")  # type: ignore[attr-defined]
    dialog.wait_for()
    assert shown_asset(page) == lane.photos[0]
    poll(lambda: seen_at(lane.user, lane.recent), "the opened memory marked seen")
    bars = dialog.locator("progress")
    assert bars.count() == 2
    poll(lambda: float(bars.nth(0).evaluate("p => p.value")) > 0, "the progress bar moves")
    shot(page, "memories-02-slideshow")
    assert axe_violations(page, '[data-testid="memory-viewer"]') == []

    # the next photo comes by itself after the pace
    poll(lambda: shown_asset(page) == lane.photos[1], "auto-advance to the second photo")
    assert float(bars.nth(0).evaluate("p => p.value")) == 1.0

    # → goes to the next memory, which starts with a video: it plays
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    page.get_by_role("dialog", name="Memory: 3 years ago").wait_for()  # type: ignore[attr-defined]
    assert shown_asset(page) == lane.video
    poll(lambda: video_state(page)["t"] > 0.3, "the memory's video plays")
    assert video_state(page)["error"] is None

    # space pauses: the video stops and nothing advances; space plays again
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    viewer = page.get_by_test_id("memory-viewer")  # type: ignore[attr-defined]
    poll(lambda: viewer.get_attribute("data-paused") == "true", "paused")
    poll(lambda: video_state(page)["paused"], "the video paused")
    stopped = video_state(page)["t"]
    page.get_by_role("button", name="Play").wait_for()  # type: ignore[attr-defined]
    shot(page, "memories-03-paused")
    page.wait_for_timeout(HOLD_MS)  # type: ignore[attr-defined]  # nothing may move meanwhile
    assert shown_asset(page) == lane.video
    assert video_state(page)["t"] == stopped
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    poll(lambda: video_state(page)["t"] > stopped, "the video plays again")

    # ← goes back to the previous memory's last photo; Escape closes
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    poll(lambda: shown_asset(page) == lane.photos[1], "previous item")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    poll(lambda: viewer.count() == 0, "closed")
    assert page.errors == []  # type: ignore[attr-defined]


def test_memory_slideshow_at_phone_width(lane: Lane, browser: object) -> None:
    page = signed_in_page(browser, lane.stack, lane.user, width=375)
    page.goto("/photos")  # type: ignore[attr-defined]
    strip = page.get_by_role("region", name="Memories")  # type: ignore[attr-defined]
    card = strip.get_by_role("button", name="1 year ago, 2 items")
    card.scroll_into_view_if_needed()
    wide = page.evaluate("() => document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert wide <= 375, wide  # the lane scrolls inside itself, the page does not
    card.click()
    viewer = page.get_by_test_id("memory-viewer")  # type: ignore[attr-defined]
    viewer.wait_for()
    box = viewer.bounding_box()
    assert box is not None and box["width"] == 375 and box["height"] == 800, box
    assert shown_asset(page) == lane.photos[0]
    shot(page, "memories-04-phone")

    # the on-screen buttons: Next, Pause, Play, Close
    viewer.get_by_role("button", name="Next").click()
    poll(lambda: shown_asset(page) == lane.photos[1], "next item")
    viewer.get_by_role("button", name="Pause").click()
    poll(lambda: viewer.get_attribute("data-paused") == "true", "paused")
    bar = viewer.locator("progress").nth(1)
    held = float(bar.evaluate("p => p.value"))
    page.wait_for_timeout(HOLD_MS)  # type: ignore[attr-defined]  # nothing may move meanwhile
    assert float(bar.evaluate("p => p.value")) == held
    assert shown_asset(page) == lane.photos[1]
    viewer.get_by_role("button", name="Play").click()
    poll(lambda: float(bar.evaluate("p => p.value")) > held, "the progress moves again")
    shot(page, "memories-05-phone-playing")
    viewer.get_by_role("button", name="Close").click()
    poll(lambda: viewer.count() == 0, "closed")

    # memories turned off in the user's preferences: no lane (as Immich's web app)
    off = {"memories": {"enabled": False}}
    assert lane.user.client.put("/api/users/me/preferences", json=off).status_code == 200
    try:
        page.reload(wait_until="networkidle")  # type: ignore[attr-defined]
        page.locator("main a[data-asset-id]").first.wait_for()  # type: ignore[attr-defined]
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        assert strip.count() == 0
    finally:
        on = {"memories": {"enabled": True}}
        assert lane.user.client.put("/api/users/me/preferences", json=on).status_code == 200
    assert page.errors == []  # type: ignore[attr-defined]
