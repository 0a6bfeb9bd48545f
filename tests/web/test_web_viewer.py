"""The asset viewer in a real browser: video playback and seeking, live photo motion, zoom and
pan, and the info panel (description edit, albums, people, location).

Real sample media go through the whole pipeline (ingest, metadata, thumbnails, transcode, live
photo linking) before the browser opens them. Screenshots: ``test-output/web/viewer-*.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page, wait_processed

#: An iPhone 6 clip (H.264/AAC in QuickTime, 4 s, with a GPS position).
PHONE_VIDEO = "metadata-extractor-images/mov/with-gps.mov"
#: An iPhone live photo: the still (4032 x 3024 JPEG) and its motion part.
LIVE_STILL = "livephoto_pair_lychee/train.jpg"
LIVE_MOTION = "livephoto_pair_lychee/train.mov"


def _sample(rel: str) -> Path:
    root = samples_dir()
    path = root / "videos" / rel if root is not None else None
    if path is None or not path.is_file():
        pytest.skip(f"sample video {rel} absent (set DARKROOM_SAMPLES or ../shared/samples)")
    return path


def _created(response: object) -> str:
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()["id"]  # type: ignore[attr-defined]


def _wait_transcoded(stack: Stack, asset_id: str, timeout_s: float = 240) -> str:
    """Wait until the transcoder has decided on (and made) the playback file; its decision."""
    deadline = time.monotonic() + timeout_s
    row = None
    while time.monotonic() < deadline:
        with psycopg.connect(stack.env()["DARKROOM_DATABASE_URL"]) as conn:
            row = conn.execute(
                "SELECT transcoded_at, transcode_decision, failed_reason "
                "FROM asset_job_status WHERE asset_id = %s",
                (asset_id,),
            ).fetchone()
        if row is not None:
            assert row[2] is None, row
            if row[0] is not None:
                return str(row[1])
        time.sleep(0.5)
    raise AssertionError(f"asset {asset_id} not transcoded in {timeout_s} s: {row}")


@dataclass
class Library:
    """One user's library holding the phone video and the linked live photo."""

    stack: Stack
    user: User
    video: str
    still: str
    motion: str


@pytest.fixture(scope="module")
def library(request: pytest.FixtureRequest) -> Iterator[Library]:
    """Upload the samples over the API and wait until the pipeline has done with them (the
    stack starts only once the samples and the build are known to be there)."""
    needs_build()
    video_path, still_path, motion_path = (
        _sample(PHONE_VIDEO),
        _sample(LIVE_STILL),
        _sample(LIVE_MOTION),
    )
    stack: Stack = request.getfixturevalue("stack")
    user = make_user(stack, request.getfixturevalue("admin"))
    video = _created(upload(user, video_path))
    still = _created(upload(user, still_path))
    motion = _created(upload(user, motion_path))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = user.client.get(f"/api/assets/{still}").json()
        if info.get("livePhotoVideoId") and info.get("thumbhash"):
            break
        time.sleep(0.5)
    assert info.get("livePhotoVideoId") == motion, info
    for asset_id in (video, motion):
        _wait_transcoded(stack, asset_id)
    yield Library(stack=stack, user=user, video=video, still=still, motion=motion)


def _video_state(page: object, selector: str) -> dict:
    return page.eval_on_selector(  # type: ignore[attr-defined]
        selector,
        """v => ({t: v.currentTime, d: v.duration, paused: v.paused, ended: v.ended,
                  error: v.error && v.error.code, src: v.currentSrc})""",
    )


def test_video_plays_seeks_and_shows_duration(library: Library, browser: object) -> None:
    """The phone video plays in the viewer (currentTime advances), space pauses and resumes,
    a seek to the middle lands there over Range requests (206) and playback goes on from it;
    the duration shows and the info panel links its GPS position to the map."""
    stack = library.stack
    user = library.user
    page = signed_in_page(browser, stack, user)
    wait_processed(page, stack.url, [library.video])
    ranges: list[int] = []
    page.on(  # type: ignore[attr-defined]
        "response",
        lambda r: ranges.append(r.status) if "/video/playback" in r.url else None,
    )
    # no HLS ladder: the player falls back to the MP4 (HLS has tests/web/test_web_hls.py)
    page.route(  # type: ignore[attr-defined]
        "**/video/hls/**", lambda route: route.fulfill(status=404, body="{}")
    )
    page.goto("/photos")  # type: ignore[attr-defined]
    # Opened with a click (a user gesture, as in real use: the browser lets it autoplay).
    page.locator(f'main a[data-asset-id="{library.video}"]').click()  # type: ignore[attr-defined]
    page.wait_for_url(f"**/photos/{library.video}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    video = '[role="dialog"] video'
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => {{ const v = document.querySelector('{video}'); return v && v.readyState >= 2; }}"
    )
    if _video_state(page, video)["paused"]:  # autoplay refused: space starts it
        page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelector('{video}').currentTime > 0.4"
    )
    state = _video_state(page, video)
    assert state["error"] is None, state
    assert state["src"].endswith(f"/api/assets/{library.video}/video/playback"), state
    assert page.eval_on_selector(video, "v => v.dataset.source") == "mp4"  # type: ignore[attr-defined]
    assert abs(state["d"] - 4.0) < 0.3, state
    assert viewer.get_by_test_id("video-duration").inner_text() == "0:04"
    shot(page, "viewer-01-video-playing")

    # Space pauses, the position holds; seeking to the middle lands there.
    if not _video_state(page, video)["paused"]:
        page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(f"() => document.querySelector('{video}').paused")  # type: ignore[attr-defined]
    held = _video_state(page, video)["t"]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    assert _video_state(page, video)["t"] == held
    middle = state["d"] / 2
    page.eval_on_selector(  # type: ignore[attr-defined]
        video,
        """(v, t) => new Promise(done => {
            v.addEventListener('seeked', done, {once: true}); v.currentTime = t; })""",
        middle,
    )
    landed = _video_state(page, video)
    assert abs(landed["t"] - middle) < 0.25 and landed["paused"] and landed["error"] is None
    shot(page, "viewer-02-video-seeked-middle")
    page.keyboard.press(" ")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"t => {{ const v = document.querySelector('{video}');"
        " return !v.paused && v.currentTime > t + 0.5 || v.ended; }",
        arg=middle,
    )
    after = _video_state(page, video)
    assert after["t"] > middle + 0.5 and after["error"] is None, after
    assert 206 in ranges, ranges  # the player fetched byte ranges, the server answered them
    assert viewer.get_by_role("alert").count() == 0
    shot(page, "viewer-03-video-played-on")

    # Its GPS position: a mini map with its pin, and a link to the map around it.
    page.keyboard.press("i")  # type: ignore[attr-defined]
    info = viewer.get_by_role("complementary", name="Info")
    exif = user.client.get(f"/api/assets/{library.video}").json()["exifInfo"]
    info.locator('[data-slot="minimap"] .leaflet-marker-pane .dr-pin').wait_for()
    link = info.locator('[data-slot="minimap"] a', has_text="Open in map")
    href = link.get_attribute("href") or ""
    assert href.startswith("/map?") and "zoom=14" in href, href
    lat = float(re.search(r"lat=([-\d.]+)", href).group(1))  # type: ignore[union-attr]
    lon = float(re.search(r"lon=([-\d.]+)", href).group(1))  # type: ignore[union-attr]
    assert abs(lat - exif["latitude"]) < 1e-6 and abs(lon - exif["longitude"]) < 1e-6
    assert abs(lat - 32.0929) < 1e-3 and abs(lon - 34.862) < 1e-3  # from the clip's ISO 6709
    shot(page, "viewer-04-video-info")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def _transform(page: object) -> tuple[float, float, float]:
    """(scale, tx, ty) of the zoomed layer, from its computed CSS transform matrix."""
    matrix = page.eval_on_selector(  # type: ignore[attr-defined]
        '[data-testid="zoom-layer"]', "el => getComputedStyle(el).transform"
    )
    if matrix == "none":
        return 1.0, 0.0, 0.0
    a, _b, _c, _d, e, f = (float(x) for x in re.findall(r"[-\d.e]+", matrix))
    return a, e, f


def _settled(page: object) -> tuple[float, float, float]:
    """The transform once its 0.15 s transition has finished: after the input has had time to
    apply, until the layer runs no transition (a busy machine stretches one past any wait)."""
    page.wait_for_timeout(400)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=\"zoom-layer\"]').getAnimations().length === 0"
    )
    return _transform(page)


def test_live_photo_motion_and_zoom(library: Library, browser: object) -> None:
    """A live photo plays its motion over the still (by the button and on hover), then the
    still returns; the photo zooms by button, wheel, keys and double-click, pans by drag and
    arrows when zoomed, loads the full-size original past the preview's resolution, resets
    with 0 and on navigation."""
    stack = library.stack
    page = signed_in_page(browser, stack, library.user)
    page.goto(f"/photos/{library.still}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    still = viewer.locator("img.loaded")
    assert "size=preview" in (still.get_attribute("src") or "")
    shot(page, "viewer-05-live-photo-still")

    # The motion part plays over the still, muted, then the still is back alone.
    motion = viewer.locator("video.motion")
    button = viewer.get_by_role("button", name="Play motion")
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    motion.wait_for()
    assert button.get_attribute("aria-pressed") == "true"
    assert (motion.get_attribute("src") or "").endswith(
        f"/api/assets/{library.motion}/video/playback"
    )
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const v = document.querySelector('video.motion');"
        " return !v || (v.currentTime > 0.2 && v.muted && !v.error); }"
    )
    shot(page, "viewer-06-live-photo-motion")
    motion.wait_for(state="detached", timeout=15_000)  # ended (1.2 s): back to the still
    assert button.get_attribute("aria-pressed") == "false"
    assert still.is_visible()
    shot(page, "viewer-07-live-photo-still-again")
    page.mouse.move(5, 400)  # type: ignore[attr-defined]
    button.hover()  # hovering plays it too, leaving stops it
    motion.wait_for()
    page.mouse.move(5, 400)  # type: ignore[attr-defined]
    motion.wait_for(state="detached")

    # Zoom in with the button: scaled around the centre, no translation.
    assert _transform(page) == (1.0, 0.0, 0.0)
    viewer.get_by_role("button", name="Zoom in").click()
    scale, tx, ty = _settled(page)
    assert scale > 1.5 and (tx, ty) == (0.0, 0.0), (scale, tx, ty)
    viewer.get_by_role("button", name="Reset zoom").wait_for()
    # The preview is enough while its pixels are not magnified; past that the original (a
    # 4032 px JPEG, which browsers show) is loaded over it.
    preview_px = still.evaluate("img => img.naturalWidth")
    box_px = viewer.get_by_test_id("zoom-layer").evaluate("el => el.offsetWidth")
    original = viewer.locator("img.original")
    assert scale * box_px < preview_px and original.count() == 0, (scale, box_px, preview_px)
    viewer.get_by_role("button", name="Zoom in").click()
    scale = _settled(page)[0]
    assert scale * box_px > preview_px
    original.wait_for()
    assert f"/api/assets/{library.still}/thumbnail?size=fullsize" in (
        original.get_attribute("src") or ""
    )
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const i = document.querySelector('img.original');"
        " return i.complete && i.naturalWidth === 4032; }",
        timeout=60_000,
    )
    shot(page, "viewer-08-zoomed-original")

    # Drag pans; arrows pan rather than navigate while zoomed.
    frame = viewer.get_by_test_id("zoom-frame").bounding_box()
    cx, cy = frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2
    page.mouse.move(cx, cy)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    page.mouse.move(cx + 120, cy + 60, steps=6)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]
    dragged = _transform(page)
    assert dragged[0] == scale and dragged[1] > 60 and dragged[2] > 30, dragged
    shot(page, "viewer-09-zoomed-dragged")
    page.keyboard.press("ArrowLeft")  # type: ignore[attr-defined]
    panned = _settled(page)
    assert panned[1] > dragged[1] and page.url.endswith(library.still)  # type: ignore[attr-defined]

    # 0 resets; the wheel zooms around the pointer (a point off-centre moves the photo).
    page.keyboard.press("0")  # type: ignore[attr-defined]
    assert _settled(page) == (1.0, 0.0, 0.0)
    page.mouse.move(cx + 200, cy - 100)  # type: ignore[attr-defined]
    page.mouse.wheel(0, -400)  # type: ignore[attr-defined]
    wheeled = _settled(page)
    assert wheeled[0] > 1.5 and wheeled[1] < 0 and wheeled[2] > 0, wheeled
    shot(page, "viewer-10-wheel-zoom")
    page.keyboard.press("-")  # type: ignore[attr-defined]
    assert 1 <= _settled(page)[0] < wheeled[0]
    page.keyboard.press("0")  # type: ignore[attr-defined]
    assert _settled(page) == (1.0, 0.0, 0.0)
    assert viewer.get_by_role("button", name="Reset zoom").count() == 0

    # Double-click zooms in at the pointer, again zooms back out; + zooms from the keyboard.
    page.mouse.dblclick(cx - 150, cy)  # type: ignore[attr-defined]
    doubled = _settled(page)
    assert doubled[0] == 2.5 and doubled[1] > 0, doubled
    page.mouse.dblclick(cx, cy)  # type: ignore[attr-defined]
    assert _settled(page) == (1.0, 0.0, 0.0)
    page.keyboard.press("+")  # type: ignore[attr-defined]
    assert _settled(page)[0] > 1.5

    page.keyboard.press("0")  # type: ignore[attr-defined]
    assert _settled(page) == (1.0, 0.0, 0.0)

    # Two fingers (real touch events through the DevTools protocol) pinch it open, 100 -> 200 px
    # apart around the centre, then drag it with one finger.
    cdp = page.context.new_cdp_session(page)  # type: ignore[attr-defined]
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})

    def touch(kind: str, *points: tuple[float, float]) -> None:
        cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
            },
        )

    touch("touchStart", (cx - 50, cy), (cx + 50, cy))
    for step in range(1, 6):
        touch("touchMove", (cx - 50 - 10 * step, cy), (cx + 50 + 10 * step, cy))
    touch("touchEnd")
    pinched = _transform(page)
    assert 1.8 < pinched[0] < 2.2 and abs(pinched[1]) < 2 and abs(pinched[2]) < 2, pinched
    touch("touchStart", (cx, cy))
    touch("touchMove", (cx - 40, cy - 20))
    touch("touchMove", (cx - 80, cy - 40))
    touch("touchEnd")
    moved = _transform(page)
    assert moved[0] == pinched[0] and moved[1] < -60 and moved[2] < -30, moved
    shot(page, "viewer-11-pinched")
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})

    # Leaving the photo (to the video, by the URL) and coming back starts fitted again.
    page.goto(f"/photos/{library.video}")  # type: ignore[attr-defined]
    viewer.locator("video").wait_for()
    page.go_back()  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    assert _transform(page) == (1.0, 0.0, 0.0)
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_info_panel_description_albums_people(library: Library, browser: object) -> None:
    """The info panel edits the description (saved on blur and on Ctrl+Enter, persisted, the
    photo's alt text), lists the albums holding the photo and the people in it (an unnamed one
    as "Unknown"), each a link to its page."""
    stack = library.stack
    api = library.user.client
    album = api.post("/api/albums", json={"albumName": "Trains", "assetIds": [library.still]})
    assert album.status_code == 201, album.text
    album_id = album.json()["id"]
    other = api.post("/api/albums", json={"albumName": "Not this one"})
    assert other.status_code == 201, other.text
    # Face detection finds no face in a train: the people are put on it by hand (POST /api/faces).
    named = api.post("/api/people", json={"name": "Ada Lovelace"}).json()["id"]
    unnamed = api.post("/api/people", json={}).json()["id"]
    for person, x in ((named, 100), (unnamed, 2000)):
        face = api.post(
            "/api/faces",
            json={
                "assetId": library.still,
                "personId": person,
                "imageWidth": 4032,
                "imageHeight": 3024,
                "x": x,
                "y": 100,
                "width": 400,
                "height": 400,
            },
        )
        assert face.status_code == 201, face.text
    people = {p["id"]: p["name"] for p in api.get(f"/api/assets/{library.still}").json()["people"]}
    assert people == {named: "Ada Lovelace", unnamed: ""}

    page = signed_in_page(browser, stack, library.user)
    page.goto(f"/photos/{library.still}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    page.keyboard.press("i")  # type: ignore[attr-defined]
    info = viewer.get_by_role("complementary", name="Info")
    info.wait_for()

    # Albums: the one holding the photo, not the other.
    albums = info.get_by_role("region", name="Albums")
    link = albums.get_by_role("link", name="Trains")
    link.wait_for()
    assert link.get_attribute("href") == f"/albums/{album_id}"
    assert albums.get_by_role("link").count() == 1

    # People: named and unnamed, linked to their pages.
    section = info.get_by_role("region", name="People")
    assert section.get_by_role("link", name="Ada Lovelace").get_attribute("href") == (
        f"/people/{named}"
    )
    assert section.get_by_role("link", name="Unknown").get_attribute("href") == (
        f"/people/{unnamed}"
    )
    shot(page, "viewer-12-info-albums-people")

    # Description: typed, saved when the field loses focus; the photo's alt text follows.
    box = info.get_by_label("Description")
    box.fill("The 8:15 to Lucerne, leaving on time")
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    info.get_by_role("status").get_by_text("Saved").wait_for()
    saved = api.get(f"/api/assets/{library.still}").json()["exifInfo"]["description"]
    assert saved == "The 8:15 to Lucerne, leaving on time"
    assert viewer.locator("img.loaded").get_attribute("alt") == saved
    shot(page, "viewer-13-description-saved")
    page.reload()  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    page.keyboard.press("i")  # type: ignore[attr-defined]
    assert info.get_by_label("Description").input_value() == saved
    # Ctrl+Enter saves too (and keys typed in the field do not drive the viewer).
    box = info.get_by_label("Description")
    box.fill("Seen from the platform")
    box.press("Control+Enter")
    info.get_by_role("status").get_by_text("Saved").wait_for()
    assert (
        api.get(f"/api/assets/{library.still}").json()["exifInfo"]["description"]
        == "Seen from the platform"
    )
    assert page.url.endswith(f"/photos/{library.still}")  # type: ignore[attr-defined]
    shot(page, "viewer-14-description-ctrl-enter")

    # No serious accessibility problem in the viewer with its info panel open (axe-core).
    violations = axe_violations(page, '[role="dialog"]')
    assert violations == [], violations

    # At phone width the panel lies over the lower half of the photo, still usable.
    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    info.get_by_role("region", name="People").get_by_role("link", name="Ada Lovelace").wait_for()
    panel = info.bounding_box()
    assert panel is not None and panel["width"] <= 390 and panel["y"] > 300, panel
    for name in ("Close viewer", "Play motion", "Delete", "Info"):  # the whole bar fits
        button = viewer.get_by_role("button", name=name, exact=True).bounding_box()
        assert button is not None and button["x"] >= 0 and button["x"] + button["width"] <= 390
    shot(page, "viewer-15-info-phone")
    page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]

    # The album link opens the album.
    info.get_by_role("region", name="Albums").get_by_role("link", name="Trains").click()
    page.wait_for_url(f"**/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Trains").wait_for()  # type: ignore[attr-defined]
    shot(page, "viewer-16-album-from-info")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_people_of_a_detected_face(library: Library, browser: object) -> None:
    """A face the pipeline detects on a real portrait, put on a named person over the API,
    shows in the info panel as a link that opens the person's page."""
    root = samples_dir()
    portrait = root / "faces/face_recognition_knn/train/obama/obama.jpg" if root else None
    if portrait is None or not portrait.is_file():
        pytest.skip("face samples absent (set DARKROOM_SAMPLES or ../shared/samples)")
    stack, api = library.stack, library.user.client
    asset = _created(upload(library.user, portrait))
    deadline = time.monotonic() + 240  # detection on 2 shared cores takes a while
    faces: list[dict] = []
    while not faces and time.monotonic() < deadline:
        faces = api.get("/api/faces", params={"id": asset}).json()
        time.sleep(1)
    assert len(faces) == 1, f"no face detected on {portrait.name} in 240 s: {faces}"
    person = api.post("/api/people", json={"name": "Barack Obama"}).json()["id"]
    moved = api.put(f"/api/faces/{person}", json={"id": faces[0]["id"]})
    assert moved.status_code == 200, moved.text
    assert [p["name"] for p in api.get(f"/api/assets/{asset}").json()["people"]] == ["Barack Obama"]

    page = signed_in_page(browser, stack, library.user)
    page.goto(f"/photos/{asset}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    page.keyboard.press("i")  # type: ignore[attr-defined]
    people = viewer.get_by_role("complementary", name="Info").get_by_role("region", name="People")
    link = people.get_by_role("link", name="Barack Obama")
    link.wait_for()
    assert people.get_by_role("link").count() == 1
    shot(page, "viewer-17-detected-face-person")
    link.click()
    page.wait_for_url(f"**/people/{person}")  # type: ignore[attr-defined]
    shot(page, "viewer-18-person-from-info")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
