"""Every sample video plays and seeks in Chromium (issue #19 item 5): each video of
``../shared/samples/videos`` (MOV, MP4, 3GP, MTS, AVI; H.264, HEVC, MPEG-4 Part 2, MJPEG; AAC,
AMR, AC-3, PCM audio) goes through the pipeline, then the viewer plays it over HLS (hls.js),
seeks to the middle and plays on. The list, and any that cannot play, is in docs/video.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import make_user, upload
from tests.web.conftest import needs_build, signed_in_page

VIDEO_SUFFIXES = {".mov", ".mp4", ".3gp", ".mts", ".avi"}


def _videos() -> list[Path]:
    root = samples_dir()
    folder = root / "videos" if root else None
    if folder is None or not folder.is_dir():
        pytest.skip("sample videos absent (set DARKROOM_SAMPLES or ../shared/samples)")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)


@pytest.mark.samples
def test_every_sample_video_plays_and_seeks(
    request: pytest.FixtureRequest, browser: object
) -> None:
    needs_build()
    videos = _videos()
    stack: Stack = request.getfixturevalue("stack")
    user = make_user(stack, request.getfixturevalue("admin"))
    ids: dict[str, str] = {}
    for path in videos:
        r = upload(user, path)
        assert r.status_code in (200, 201), (path.name, r.text)
        ids[path.name] = r.json()["id"]
    deadline = time.monotonic() + 900
    for name, asset_id in ids.items():
        while user.client.get(f"/api/assets/{asset_id}/video/hls/master.m3u8").is_error:
            assert time.monotonic() < deadline, f"no HLS ladder for {name} in 15 minutes"
            time.sleep(0.5)
    page = signed_in_page(browser, stack, user)
    video = '[role="dialog"] video'
    failures: dict[str, str] = {}
    for name, asset_id in ids.items():
        page.goto(f"/photos/{asset_id}")  # type: ignore[attr-defined]
        try:
            page.wait_for_function(  # type: ignore[attr-defined]
                f"() => {{ const v = document.querySelector('{video}');"
                " return v && v.dataset.source === 'hls.js' && v.readyState >= 2"
                " && v.duration > 0; }"
            )
            duration = page.eval_on_selector(video, "v => v.duration")  # type: ignore[attr-defined]
            page.eval_on_selector(  # type: ignore[attr-defined]
                video,
                """(v, t) => new Promise(done => {
                    v.addEventListener('seeked', done, {once: true}); v.muted = true;
                    v.currentTime = t; })""",
                duration / 2,
            )
            page.eval_on_selector(video, "v => v.play()")  # type: ignore[attr-defined]
            page.wait_for_function(  # type: ignore[attr-defined]
                f"t => {{ const v = document.querySelector('{video}');"
                " return v.ended || v.currentTime > t + Math.min(0.5, t / 2); }",
                arg=duration / 2,
            )
            error = page.eval_on_selector(video, "v => v.error && v.error.code")  # type: ignore[attr-defined]
            if error:
                failures[name] = f"media error {error}"
        except Exception as exc:  # noqa: BLE001 - collect every video's outcome, then report
            state = page.eval_on_selector(  # type: ignore[attr-defined]
                video,
                "v => ({t: v.currentTime, d: v.duration, ready: v.readyState,"
                " source: v.dataset.source, ended: v.ended, error: v.error && v.error.code,"
                " buffered: Array.from({length: v.buffered.length},"
                " (_, i) => [v.buffered.start(i), v.buffered.end(i)])})",
            )
            failures[name] = f"{str(exc).splitlines()[0]} {state}"

    assert failures == {}, failures
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
