"""The viewer streams a video over HLS with hls.js in Chromium (issue #19 item 1), under the
gateway's CSP: it plays (currentTime moves), seeks to the middle and plays on from there, and
every byte comes from the HLS playlists and segments, none from the MP4.
Screenshots: ``test-output/web/hls-*.png``.
"""

from __future__ import annotations

import time

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload
from tests.web.conftest import needs_build, shot, signed_in_page

#: 3.6 s, 1280x720 H.264 + AAC: a two-rung ladder (360p, 720p).
SAMPLE = "metadata-extractor-images/mp4/Issue 515 (java).mp4"


@pytest.fixture(scope="module")
def streamed(request: pytest.FixtureRequest) -> tuple[Stack, User, str]:
    """A user's video whose HLS ladder is served (polled, 10 min ceiling)."""
    needs_build()
    root = samples_dir()
    path = root / "videos" / SAMPLE if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {SAMPLE} absent (set DARKROOM_SAMPLES or ../shared/samples)")
    stack: Stack = request.getfixturevalue("stack")
    user = make_user(stack, request.getfixturevalue("admin"))
    r = upload(user, path)
    assert r.status_code in (200, 201), r.text
    asset_id = r.json()["id"]
    deadline = time.monotonic() + 600
    while (master := user.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8")).is_error:
        assert master.json()["message"] == "Asset media not found", master.text  # not made yet
        assert time.monotonic() < deadline, "no HLS ladder in 10 minutes"
        time.sleep(0.5)
    while not user.client.get(f"/api/assets/{asset_id}").json().get("thumbhash"):
        assert time.monotonic() < deadline, "no thumbnail in 10 minutes"
        time.sleep(0.5)
    return stack, user, asset_id


def _state(page: object) -> dict:
    return page.eval_on_selector(  # type: ignore[attr-defined]
        '[role="dialog"] video',
        """v => ({t: v.currentTime, d: v.duration, paused: v.paused, ended: v.ended,
                  error: v.error && v.error.code, src: v.currentSrc,
                  source: v.dataset.source})""",
    )


def test_hls_js_plays_and_seeks(streamed: tuple[Stack, User, str], browser: object) -> None:
    stack, user, asset_id = streamed
    page = signed_in_page(browser, stack, user)
    fetched: list[tuple[str, int]] = []
    page.on(  # type: ignore[attr-defined]
        "response",
        lambda r: fetched.append((r.url, r.status)) if "/video/" in r.url else None,
    )
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(f'main a[data-asset-id="{asset_id}"]').click()  # type: ignore[attr-defined]
    page.wait_for_url(f"**/photos/{asset_id}")  # type: ignore[attr-defined]
    video = '[role="dialog"] video'
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => {{ const v = document.querySelector('{video}');"
        " return v && v.dataset.source === 'hls.js' && v.readyState >= 2; }"
    )
    if _state(page)["paused"]:  # autoplay refused: space starts it
        page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(f"() => document.querySelector('{video}').currentTime > 0.4")  # type: ignore[attr-defined]
    state = _state(page)
    assert state["error"] is None and state["src"].startswith("blob:"), state  # MSE
    assert abs(state["d"] - 3.63) < 0.2, state
    shot(page, "hls-01-playing")

    page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(f"() => document.querySelector('{video}').paused")  # type: ignore[attr-defined]
    middle = state["d"] / 2
    page.eval_on_selector(  # type: ignore[attr-defined]
        video,
        """(v, t) => new Promise(done => {
            v.addEventListener('seeked', done, {once: true}); v.currentTime = t; })""",
        middle,
    )
    landed = _state(page)
    assert abs(landed["t"] - middle) < 0.25 and landed["error"] is None, landed
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"t => {{ const v = document.querySelector('{video}');"
        " return !v.paused && v.currentTime > t + 0.5 || v.ended; }",
        arg=middle,
    )
    after = _state(page)
    assert after["t"] > middle + 0.5 and after["error"] is None, after
    shot(page, "hls-02-seeked-played-on")

    urls = [u for u, _ in fetched]
    assert all(status in (200, 206) for _, status in fetched), fetched
    assert any(u.endswith("/video/hls/master.m3u8") for u in urls), urls
    assert any("/index.m3u8" in u for u in urls) and any("/segment/" in u for u in urls), urls
    assert not any("/video/playback" in u for u in urls), urls
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
